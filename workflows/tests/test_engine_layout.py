"""The engine's shape: one door for the apps, modules small enough to read."""

from __future__ import annotations

import ast
from pathlib import Path

import workflows.engine as engine

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
            found += [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return found


def test_approvals_and_cases_use_the_engine_through_its_package_only():
    submodules = {p.stem for p in (ROOT / "workflows" / "engine").glob("*.py")} - {"__init__"}
    offenders = []
    for app in ("approvals", "cases"):
        for path in (ROOT / app).rglob("*.py"):
            if "tests" in path.parts:
                continue
            for name in _imports(path):
                parts = name.split(".")
                engine_module = parts[:2] == ["workflows", "engine"] and len(parts) > 2
                if engine_module and parts[2] in submodules:
                    offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []


def test_the_public_api_names_what_the_apps_use():
    for name in engine.__all__:
        assert getattr(engine, name) is not None, name
    for name in ("start_runs", "decide", "lock_task", "cancel_runs", "retry_run", "UnitOfWork"):
        assert name in engine.__all__


MAX_LINES = 400


def test_no_module_of_the_engine_is_over_400_lines():
    long = {
        path.name: lines
        for path in sorted((ROOT / "workflows" / "engine").glob("*.py"))
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}
