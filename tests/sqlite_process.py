"""Run a script in a fresh Python process on the embedded default: a new SQLite file, no broker,
no Redis, the local settings, exactly as `make run` starts. The tests that prove a path works
on SQLite use it (an in-process test would run on the suite's PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_on_fresh_sqlite(script: str, tmp_path: Path, *, done: str, **env: str) -> str:
    """Run `script`; it must exit 0 and print `done`. Its output. `env`: more variables."""
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "WORKFLOWS_VAR_DIR": str(tmp_path),
            "CELERY_BROKER_URL": "",
            "REDIS_URL": "",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert done in result.stdout
    return result.stdout
