"""The apps install into someone else's project (README "Installing the apps into your own
project"): the wheel holds the six apps and nothing of this repository's own project, and the
apps never import that project package."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.conf import settings

APPS = {"core", "tenants", "accounts", "workflows", "approvals", "cases"}
BASE_DIR = Path(settings.BASE_DIR)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # Built from a copy: setuptools leaves build/ and *.egg-info beside the sources it builds.
    source = tmp_path_factory.mktemp("source") / "workflows"
    shutil.copytree(
        BASE_DIR,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "node_modules", "var", "build", "*.egg-info", "__pycache__", "frontend"
        ),
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (built,) = out.glob("workflows-*.whl")
    return built


def test_the_wheel_holds_the_six_apps_and_not_the_project_demo_or_tests(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top == APPS
    assert not [name for name in names if "/tests/" in name]
    assert "workflows/migrations/0001_initial.py" in names


def test_the_apps_do_not_import_the_project_package():
    offenders = []
    for app in sorted(APPS):
        for path in (BASE_DIR / app).rglob("*.py"):
            if "tests" in path.parts:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                stripped = line.strip()
                if stripped.startswith(("from config", "import config")):
                    offenders.append(f"{path.relative_to(BASE_DIR)}:{number}: {stripped}")
    assert offenders == []
