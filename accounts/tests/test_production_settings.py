"""config.settings.production: `check --deploy` clean, secrets required, security headers sent.

Each test runs Django in a subprocess, since settings are read once per process.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def production_env(**overrides: str | None) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "example.org",
        "DATABASE_URL": "postgres://app@db.invalid:5432/workflows",
        "REDIS_URL": "redis://127.0.0.1:6379/15",
        "DJANGO_CSRF_TRUSTED_ORIGINS": "https://console.example.org,https://example.org",
    }
    env.pop("DJANGO_DEBUG", None)
    env.pop("TRUSTED_PROXIES", None)
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_production_settings():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_fails_on_a_weak_secret_key():
    """The control: the same command does fail when a deploy check has something to say."""
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        production_env(DJANGO_SECRET_KEY="short-and-guessable"),
    )
    assert result.returncode != 0
    assert "security.W009" in result.stderr


def test_missing_secret_key_hosts_database_or_redis_stop_start_up_loudly():
    for name in ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"):
        result = run(["manage.py", "check"], production_env(**{name: None}))
        assert result.returncode != 0, name
        assert f"{name} must be set for production settings" in result.stderr, result.stderr
    for name in ("DJANGO_SECRET_KEY", "REDIS_URL"):  # blank is missing too
        result = run(["manage.py", "check"], production_env(**{name: " "}))
        assert f"{name} must be set for production settings" in result.stderr, result.stderr


def test_production_refuses_a_redis_url_that_is_not_redis():
    """Lockout and throttle counters must be shared: no per-process cache behind a typo."""
    result = run(["manage.py", "check"], production_env(REDIS_URL="127.0.0.1:6379"))
    assert result.returncode != 0
    assert "REDIS_URL must be a redis://" in result.stderr, result.stderr


SETTINGS_PROBE = r"""
import json
import django
django.setup()
from django.conf import settings
print(json.dumps({
    "debug": settings.DEBUG,
    "hosts": settings.ALLOWED_HOSTS,
    "csrf_origins": settings.CSRF_TRUSTED_ORIGINS,
    "trusted_proxies": settings.TRUSTED_PROXIES,
    "secure_cookies": [settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE],
    "cache": settings.CACHES["default"]["BACKEND"],
}))
"""


def test_production_takes_hosts_and_origins_from_env_and_forces_debug_off():
    result = run(["-c", SETTINGS_PROBE], production_env(DJANGO_DEBUG="1"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "debug": False,
        "hosts": ["example.org"],
        "csrf_origins": ["https://console.example.org", "https://example.org"],
        "trusted_proxies": [],
        "secure_cookies": [True, True],
        "cache": "django.core.cache.backends.redis.RedisCache",
    }


HEADERS_PROBE = r"""
import json
import django
django.setup()
from django.test import Client
client = Client(HTTP_HOST="example.org")
plain = client.get("/api/auth/me/")
tls = client.get("/api/auth/me/", HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR="10.9.0.2")
forged = client.get("/api/auth/me/", HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR="203.0.113.9")
probe = client.get("/healthz")
print(json.dumps({
    "plain": [plain.status_code, plain.headers.get("Location")],
    "tls_status": tls.status_code,
    "tls_headers": {k: tls.headers.get(k) for k in (
        "Strict-Transport-Security", "X-Content-Type-Options", "Referrer-Policy",
        "X-Frame-Options", "Cross-Origin-Opener-Policy")},
    "probe": probe.status_code,
    "forged": [forged.status_code, forged.headers.get("Location")],
}))
"""


def test_production_redirects_to_https_and_sends_security_headers():
    result = run(["-c", HEADERS_PROBE], production_env(TRUSTED_PROXIES="10.9.0.0/24"))
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["plain"] == [301, "https://example.org/api/auth/me/"]
    assert seen["tls_status"] == 401  # reached the API over (proxied) HTTPS
    assert seen["tls_headers"] == {
        "Strict-Transport-Security": "max-age=31536000; includeSubDomains; preload",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    # Liveness probes speak plain HTTP from inside the network: no redirect.
    assert seen["probe"] == 200
    # X-Forwarded-Proto from an address that is not a trusted proxy is stripped: still plain.
    assert seen["forged"] == [301, "https://example.org/api/auth/me/"]
