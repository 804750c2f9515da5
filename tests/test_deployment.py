"""A deployment is safe as written: no entry point runs on a key from the source, no debug pages.

Each test runs Python in a fresh subprocess with a scrubbed environment, since settings are
read once per process and the point is what happens when nothing is configured.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent

# Variables that choose settings or feed them secrets: none may leak in from the test run.
SCRUBBED = (
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_SECRET_KEY",
    "DJANGO_DEBUG",
    "DJANGO_ALLOWED_HOSTS",
    "WEBHOOK_ALLOW_PRIVATE",
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
)

SETTINGS_PROBE = r"""
import json
from django.conf import settings
print("PROBE " + json.dumps({
    "module": settings.SETTINGS_MODULE,
    "key": settings.SECRET_KEY,
    "debug": settings.DEBUG,
    "webhook_allow_private": settings.WEBHOOK_ALLOW_PRIVATE,
}))
"""

# How each entry point is started for real, reduced to what loads the settings.
ENTRY_POINTS = {
    # gunicorn config.wsgi
    "wsgi": [sys.executable, "-c", "import config.wsgi\n" + SETTINGS_PROBE],
    # celery -A config worker: imports the package, then Celery's Django fixup sets Django up
    "celery": [
        sys.executable,
        "-c",
        "import config\nfrom config.celery import app\nimport django\ndjango.setup()\n"
        "app.conf.broker_url\n" + SETTINGS_PROBE,
    ],
    # python manage.py <command>
    "manage": [sys.executable, "manage.py", "shell", "-c", SETTINGS_PROBE],
}


def clean_env(var_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env["WORKFLOWS_VAR_DIR"] = str(var_dir)
    env.update(extra)
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        args, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def probe(result: subprocess.CompletedProcess[str]) -> dict:
    lines = [line for line in result.stdout.splitlines() if line.startswith("PROBE ")]
    assert lines, result.stdout[-2000:] + result.stderr[-2000:]
    return json.loads(lines[-1].removeprefix("PROBE "))


def source_files() -> list[Path]:
    """The repository's tracked files (every file but .venv/var/.git outside a checkout)."""
    listed = subprocess.run(  # noqa: S603
        ["git", "ls-files", "-z"],  # noqa: S607
        cwd=BASE_DIR,
        capture_output=True,
        check=False,
    )
    if listed.returncode == 0 and listed.stdout:
        return [BASE_DIR / name for name in listed.stdout.decode().split("\0") if name]
    skip = {".venv", "var", ".git"}
    return [
        p
        for p in BASE_DIR.rglob("*")
        if p.is_file() and not skip & set(p.relative_to(BASE_DIR).parts)
    ]


def files_containing(text: str) -> list[str]:
    found = []
    for path in source_files():
        try:
            if text in path.read_text(errors="ignore"):
                found.append(str(path.relative_to(BASE_DIR)))
        except (FileNotFoundError, IsADirectoryError):
            continue
    return found


def test_the_source_scan_finds_a_key_that_is_in_the_source():
    """The control for the scans below: a literal from a tracked settings file is found."""
    assert "config/settings/production.py" in files_containing("comma-separated host names")


@pytest.mark.parametrize("entry_point", sorted(ENTRY_POINTS))
def test_entry_point_without_settings_refuses_or_uses_no_key_from_the_source(entry_point, tmp_path):
    result = run(ENTRY_POINTS[entry_point], clean_env(tmp_path / "var"))
    if result.returncode != 0:
        # A refusal must say what to set, not fall over somewhere else.
        assert "DJANGO_SECRET_KEY must be set for production settings" in result.stderr, (
            result.stderr[-3000:]
        )
        assert "PROBE " not in result.stdout
        return
    seen = probe(result)
    assert seen["key"], seen
    assert files_containing(seen["key"]) == [], f"{entry_point} runs on a key from the source"
    # Outside `make run` nothing loosens: no debug pages, no webhooks to private addresses.
    assert seen["debug"] is False, seen
    assert seen["webhook_allow_private"] is False, seen


def test_wsgi_and_celery_default_to_production_settings(tmp_path):
    env = clean_env(
        tmp_path / "var",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="example.org",
        DATABASE_URL="postgres://app@db.invalid:5432/workflows",
        REDIS_URL="redis://127.0.0.1:6379/15",
    )
    for entry_point in ("wsgi", "celery"):
        seen = probe(run(ENTRY_POINTS[entry_point], env))
        assert seen["module"] == "config.settings.production", (entry_point, seen)
        assert seen["debug"] is False


def test_manage_says_when_it_uses_the_local_settings(tmp_path):
    result = run(ENTRY_POINTS["manage"], clean_env(tmp_path / "var"))
    assert probe(result)["module"] == "config.settings.local"
    assert "DJANGO_SETTINGS_MODULE is not set: using config.settings.local" in result.stderr


IMPORT_SETTINGS = r"""
import importlib, json, sys
module = importlib.import_module(sys.argv[1])
print("PROBE " + json.dumps({"key": getattr(module, "SECRET_KEY", "")}))
"""


@pytest.mark.parametrize("module", ["base", "local", "test", "production"])
def test_no_settings_module_carries_a_usable_secret_key(module, tmp_path):
    """Without DJANGO_SECRET_KEY each module refuses, has no key, or one made for this install."""
    result = run(
        [sys.executable, "-c", IMPORT_SETTINGS, f"config.settings.{module}"],
        clean_env(tmp_path / "var", DJANGO_SETTINGS_MODULE=f"config.settings.{module}"),
    )
    if result.returncode != 0:
        assert "DJANGO_SECRET_KEY must be set" in result.stderr, result.stderr[-3000:]
        return
    key = probe(result)["key"]
    if key:
        assert len(key) >= 50
        assert files_containing(key) == [], f"config.settings.{module} has a key from the source"


LOCAL_PROBE = r"""
import json
import config.settings.local as s
print("PROBE " + json.dumps({"key": s.SECRET_KEY, "debug": s.DEBUG,
                             "webhook_allow_private": s.WEBHOOK_ALLOW_PRIVATE}))
"""


def test_local_settings_generate_then_reuse_a_per_install_key(tmp_path):
    var_dir = tmp_path / "fresh" / "var"  # a fresh clone: not even var/ exists yet
    env = clean_env(var_dir)
    first = probe(run([sys.executable, "-c", LOCAL_PROBE], env))
    key_file = var_dir / "secret_key"
    assert key_file.read_text().strip() == first["key"]
    assert len(first["key"]) >= 50
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # Outside `make run` the local settings loosen nothing.
    assert first["debug"] is False
    assert first["webhook_allow_private"] is False

    again = probe(run([sys.executable, "-c", LOCAL_PROBE], env))
    assert again["key"] == first["key"]  # created once, then reused: sessions survive restarts

    other = probe(run([sys.executable, "-c", LOCAL_PROBE], clean_env(tmp_path / "other")))
    assert other["key"] != first["key"]  # per install

    # `make run` turns DEBUG and private webhooks on, through the environment.
    dev = probe(
        run(
            [sys.executable, "-c", LOCAL_PROBE],
            clean_env(var_dir, DJANGO_DEBUG="1", WEBHOOK_ALLOW_PRIVATE="1"),
        )
    )
    assert dev["debug"] is True
    assert dev["webhook_allow_private"] is True
    assert dev["key"] == first["key"]


def test_local_settings_refuse_a_key_file_others_can_read(tmp_path):
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    key_file = var_dir / "secret_key"
    key_file.write_text(secrets.token_urlsafe(50))
    key_file.chmod(0o644)
    result = run([sys.executable, "-c", LOCAL_PROBE], clean_env(var_dir))
    assert result.returncode != 0
    assert f"chmod 600 {key_file}" in result.stderr, result.stderr[-2000:]


@pytest.mark.parametrize("module", ["base", "test"])
def test_base_and_test_settings_make_a_key_per_process(module, tmp_path):
    keys = {
        probe(
            run(
                [sys.executable, "-c", IMPORT_SETTINGS, f"config.settings.{module}"],
                clean_env(tmp_path / "var", DJANGO_SETTINGS_MODULE=f"config.settings.{module}"),
            )
        )["key"]
        for _ in range(2)
    }
    assert len(keys) == 2


DEBUG_PAGE_PROBE = r"""
import json, sys
import django
django.setup()
from django.test import Client
client = Client(HTTP_X_FORWARDED_PROTO="https")
seen = {}
for name, host, path in (
    ("unknown_url", sys.argv[1], "/api/no/such/page/"),
    ("console_page", sys.argv[1], "/no/such/page/"),
    ("bad_host", "evil.example", "/api/auth/me/"),
    ("bad_host_unknown_url", "evil.example", "/no/such/page/"),
):
    response = client.get(path, HTTP_HOST=host)
    body = response.content.decode(errors="replace")
    seen[name] = {
        "status": response.status_code,
        "debug_page": any(m in body for m in ("DEBUG = True", "Traceback", "URLconf")),
    }
print("PROBE " + json.dumps(seen))
"""

PLAIN = {
    "unknown_url": {"status": 404, "debug_page": False},
    # Any other path is the console's; its build is missing here (settings_env): the 503 page.
    "console_page": {"status": 503, "debug_page": False},
    "bad_host": {"status": 400, "debug_page": False},
    "bad_host_unknown_url": {"status": 400, "debug_page": False},
}


def settings_env(module: str, var_dir: Path, **extra: str) -> dict[str, str]:
    env = clean_env(
        var_dir,
        DJANGO_SETTINGS_MODULE=f"config.settings.{module}",
        WORKFLOWS_CONSOLE_DIR=str(var_dir / "no-console-build"),
        **extra,
    )
    if module == "production":
        env.update(
            DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
            DJANGO_ALLOWED_HOSTS="example.org",
            DATABASE_URL="postgres://app@db.invalid:5432/workflows",
            REDIS_URL="redis://127.0.0.1:6379/15",
            # The test client's REMOTE_ADDR stands for the TLS proxy that sets the header.
            TRUSTED_PROXIES="127.0.0.1",
        )
    return env


@pytest.mark.parametrize(
    ("module", "host"),
    [("production", "example.org"), ("test", "localhost"), ("local", "localhost")],
)
def test_unknown_url_and_bad_host_never_render_the_debug_page(module, host, tmp_path):
    # DJANGO_DEBUG=1 as a hostile or careless environment would set it: only `make run`'s
    # local settings listen to it.
    extra = {} if module == "local" else {"DJANGO_DEBUG": "1"}
    result = run(
        [sys.executable, "-c", DEBUG_PAGE_PROBE, host],
        settings_env(module, tmp_path / "var", **extra),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert probe(result) == PLAIN


def test_make_run_settings_do_show_the_debug_page(tmp_path):
    """The control: the probe above does see a debug page when there is one."""
    result = run(
        [sys.executable, "-c", DEBUG_PAGE_PROBE, "localhost"],
        settings_env("local", tmp_path / "var", DJANGO_DEBUG="1"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seen = probe(result)
    assert seen["unknown_url"] == {"status": 404, "debug_page": True}
    assert seen["console_page"] == {"status": 503, "debug_page": False}
    assert seen["bad_host"] == {"status": 400, "debug_page": True}


MAIL_PROBE = r"""
import json
from django.conf import settings
from django.core import mail
from django.core.mail import EmailMessage
print("PROBE " + json.dumps({
    "backend": settings.EMAIL_BACKEND,
    "host": settings.EMAIL_HOST,
    "port": settings.EMAIL_PORT,
    "class": type(mail.get_connection()).__module__,
}))
if settings.EMAIL_BACKEND == "core.mail.LogEmailBackend":
    EmailMessage("Task opened: Review", "body", to=["ann@example.org"],
                 headers={"X-Workflows-Notification": "task_opened"}).send()
"""


def test_production_mail_goes_to_email_host_or_is_logged_as_one_json_line(tmp_path):
    """Production settings send notification mail over SMTP to EMAIL_HOST; without one, each
    mail is a JSON log line naming who would have been told what, never a MIME dump among the
    log lines (Django's console backend, the development default)."""
    env = clean_env(
        tmp_path / "var",
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="example.org",
        DATABASE_URL="postgres://app@db.invalid:5432/workflows",
        REDIS_URL="redis://127.0.0.1:6379/15",
    )
    env.pop("EMAIL_BACKEND", None)
    env.pop("EMAIL_HOST", None)
    args = [sys.executable, "-c", "import django\ndjango.setup()\n" + MAIL_PROBE]
    unsent = run(args, env)
    seen = probe(unsent)
    assert seen["backend"] == "core.mail.LogEmailBackend", seen
    output = unsent.stdout + unsent.stderr
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert [(line["logger"], line["to"], line["kind"]) for line in lines] == [
        ("workflows.mail", ["ann@example.org"], "task_opened")
    ], output
    assert "Content-Type" not in output  # no MIME text anywhere

    smtp = probe(run(args, {**env, "EMAIL_HOST": "mail.example.org", "EMAIL_PORT": "587"}))
    assert (smtp["backend"], smtp["host"], smtp["port"], smtp["class"]) == (
        "django.core.mail.backends.smtp.EmailBackend",
        "mail.example.org",
        587,
        "django.core.mail.backends.smtp",
    )
    refused = run(args, {**env, "EMAIL_PORT": "５８７"})  # fullwidth digits: not a port
    assert refused.returncode != 0
    assert "EMAIL_PORT must be a whole number" in refused.stderr
