"""The apps install into someone else's project (README "Installing the apps into your own
project"): the wheel holds the six apps and nothing of this repository's own project, the apps
never import that project package, and a throw-away host project made with `django-admin
startproject`, set up exactly as the README says, migrates and passes the seed's sample test."""

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path

import psycopg
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


# --- a host project ------------------------------------------------------------------------

README_SECTION = "## Installing the apps into your own project"

# The seed's sample test (shared/seeds/workflows-app-readme.md, "Testing"), its body as the seed
# writes it. Only what the seed leaves to the host is filled in: tenant 1 and `{test_token}`,
# a token of one of its ADMINs from the login endpoint.
SEED_TEST = """\
from django.test import TestCase
from rest_framework.test import APIClient

from accounts.models import User
from tenants.models import Tenant


class WorkflowAPITest(TestCase):
    def setUp(self):
        # Left to the host by the seed: tenant 1, and a token of one of its ADMINs.
        tenant = Tenant.objects.create(pk=1, name="Host tenant", slug="host")
        User.objects.create_user(
            "admin@host.test", "Host-Pass-2026!", tenant=tenant, role="ADMIN"
        )
        test_token = APIClient().post(
            "/api/auth/token/",
            {"email": "admin@host.test", "password": "Host-Pass-2026!"},
            format="json",
        ).json()["access"]
        # The seed from here on.
        self.client = APIClient()
        self.client.credentials(HTTP_AUTHORIZATION=f'Bearer {test_token}')

    def test_create_workflow(self):
        response = self.client.post(
            '/api/tenants/1/workflows/',
            {'name': 'Test', 'description': 'Test workflow'},
            format='json'
        )
        self.assertEqual(response.status_code, 201)
"""


def readme_blocks() -> dict[str, str]:
    """The README's code blocks for a host's `settings.py` and `urls.py`, by their first line."""
    text = (BASE_DIR / "README.md").read_text()
    section = text[text.index(README_SECTION) :]
    section = section[: section.index("\n## ", len(README_SECTION))]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    return {block.splitlines()[0].strip("# ").strip(): block for block in blocks}


def test_the_readme_gives_the_host_settings_and_urls():
    blocks = readme_blocks()
    assert set(blocks) >= {"settings.py", "urls.py"}
    assert '"workflows"' in blocks["settings.py"]
    assert 'include("workflows.api.urls")' in blocks["urls.py"]


def _run(args: list[str], *, cwd: Path, env: dict[str, str], timeout: int = 900) -> str:
    result = subprocess.run(  # noqa: S603
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, (
        f"{' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    )
    return result.stdout + result.stderr


@pytest.mark.slow
def test_a_host_project_installs_the_wheel_migrates_and_passes_the_seed_test(wheel, tmp_path):
    """A fresh virtualenv with the wheel (and its dependencies, pinned by requirements.lock),
    `django-admin startproject`, the README's settings and URLs, a fresh PostgreSQL database,
    `migrate`, then the seed's `WorkflowAPITest` under Django's own test runner."""
    began = time.monotonic()
    python = shutil.which("python3.11") or sys.executable
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "PYTHON", "VIRTUAL_ENV"))
    }
    venv = tmp_path / "venv"
    _run([python, "-m", "venv", str(venv)], cwd=tmp_path, env=env)
    bin_dir = venv / "bin"
    _run(
        [
            str(bin_dir / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            str(wheel),
            "-c",
            str(BASE_DIR / "requirements.lock"),
        ],
        cwd=tmp_path,
        env=env,
    )
    project = tmp_path / "project"
    project.mkdir()
    _run(
        [str(bin_dir / "django-admin"), "startproject", "host", str(project)], cwd=tmp_path, env=env
    )

    db = settings.DATABASES["default"]
    name = f"wf_host_{uuid.uuid4().hex[:12]}"
    blocks = readme_blocks()
    with (project / "host" / "settings.py").open("a") as out:
        out.write("\n" + blocks["settings.py"])
        # The host's own choices: a fresh database, and a superuser login (as in tests).
        database = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": db["USER"],
            "PASSWORD": db["PASSWORD"] or "",
            "HOST": db["HOST"] or "127.0.0.1",
            "PORT": str(db["PORT"] or 5432),
        }
        out.write(f"\nDATABASES = {{'default': {database!r}}}\nDB_ALLOW_SUPERUSER = True\n")
    with (project / "host" / "urls.py").open("a") as out:
        out.write("\n" + blocks["urls.py"])
    (project / "host" / "tests.py").write_text(SEED_TEST)

    admin = {k: database[k] for k in ("HOST", "PORT", "USER", "PASSWORD")}
    dsn = {
        "host": admin["HOST"],
        "port": admin["PORT"],
        "user": admin["USER"],
        "password": admin["PASSWORD"],
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**dsn) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        manage = [str(bin_dir / "python"), "manage.py"]
        _run([*manage, "check"], cwd=project, env=env)
        _run([*manage, "migrate", "--noinput"], cwd=project, env=env)
        output = _run([*manage, "test", "--noinput", "-v", "2"], cwd=project, env=env)
        assert "test_create_workflow (host.tests.WorkflowAPITest" in output, output[-3000:]
        assert "Ran 1 test" in output, output[-3000:]
        assert "\nOK" in output, output[-3000:]
    finally:
        with psycopg.connect(**dsn) as conn:
            for database_name in (name, f"test_{name}"):
                conn.execute(f'DROP DATABASE IF EXISTS "{database_name}" WITH (FORCE)')
    print(f"host project: {time.monotonic() - began:.0f} s")  # noqa: T201
