"""Production: secrets, hosts and database from the environment, HTTPS behind a proxy.

`manage.py check --deploy --fail-level WARNING` is clean with these settings (CI runs it).
A missing DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS, DATABASE_URL or REDIS_URL stops start-up with
a message naming the variable, rather than falling back to a development value. config.wsgi and
config.celery use these settings when DJANGO_SETTINGS_MODULE is not set.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import (
    DATABASES,
    EMAIL_HOST,
    REST_FRAMEWORK,
    SPECTACULAR_SETTINGS,
    env_bool,
    logging_config,
)


def required_env(name: str, hint: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(f"{name} must be set for production settings: {hint}")
    return value


def env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


SECRET_KEY = required_env(
    "DJANGO_SECRET_KEY",
    "50+ random characters, e.g. python -c 'import secrets; print(secrets.token_urlsafe(50))'",
)
required_env("DJANGO_ALLOWED_HOSTS", "comma-separated host names, e.g. workflows.example.org")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
required_env("DATABASE_URL", "postgres://user:password@host:5432/dbname")
# Persistent connections: a reconnect per request costs a TCP/auth round trip, the role switch
# and check on connect (core.db_roles) and the engine's prepared statements. Checked before
# reuse, so a connection the server dropped is replaced instead of failing a request. The
# tenant context is per transaction (core.tenancy), so nothing carries over between requests.
# Not Django's psycopg pool: with gunicorn's one-request-at-a-time workers it pools nothing
# and would run the connect-time role switch and check again on every checkout.
for _database in DATABASES.values():
    _database["CONN_MAX_AGE"] = int(os.environ.get("DB_CONN_MAX_AGE", "300"))
    _database["CONN_HEALTH_CHECKS"] = env_bool("DB_CONN_HEALTH_CHECKS", True)
# Login lockout and throttle counters live in the default cache: per-process memory would give
# every gunicorn worker its own count, multiplying the limits.
if not required_env("REDIS_URL", "redis://host:6379/0, shared by every process").startswith(
    ("redis://", "rediss://", "unix://")
):
    raise ImproperlyConfigured("REDIS_URL must be a redis://, rediss:// or unix:// URL")
# Origins (with scheme) allowed to POST with a CSRF cookie, e.g. https://console.example.org.
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

DEBUG = False

# Without a mail server, notification mails are logged, one JSON line each, not printed whole
# among the log lines (core.mail).
if not os.environ.get("EMAIL_BACKEND", "").strip() and not EMAIL_HOST:
    EMAIL_BACKEND = "core.mail.LogEmailBackend"

# TLS ends at the reverse proxy, which must set X-Forwarded-Proto (and strip a client's own).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = True
# Probes and Prometheus inside the network speak plain HTTP; a redirect would fail them.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True

# For a loopback trial without a TLS proxy (`make up` sets it, and says so, when it serves only
# loopback names): plain HTTP, no redirect, cookies without Secure. Never for another host.
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
if env_bool("DJANGO_LOOPBACK_HTTP"):
    if not set(ALLOWED_HOSTS) <= LOOPBACK_HOSTS:
        raise ImproperlyConfigured(
            "DJANGO_LOOPBACK_HTTP=1 (plain HTTP, for a loopback trial without a TLS proxy) needs "
            f"DJANGO_ALLOWED_HOSTS to name loopback hosts only, not {','.join(ALLOWED_HOSTS)}"
        )
    SECURE_SSL_REDIRECT = False
    SESSION_COOKIE_SECURE = False
    CSRF_COOKIE_SECURE = False

# Behind the proxy REMOTE_ADDR is the proxy: set TRUSTED_PROXIES to its address(es) so
# throttles, lockout and X-Forwarded-Proto see the client (base.py; empty trusts no header).
# NUM_PROXIES no longer says how far X-Forwarded-For is believed: TRUSTED_PROXIES does.
REST_FRAMEWORK = {**REST_FRAMEWORK, "NUM_PROXIES": 0}

# drf-spectacular would build the whole OpenAPI schema inside `check --deploy` and report its
# documentation warnings there; schema quality is checked by `make schema`, not at deploy time.
SPECTACULAR_SETTINGS = {**SPECTACULAR_SETTINGS, "ENABLE_DJANGO_DEPLOY_CHECK": False}

# One JSON object per line for the log collector (README "Logs"); WORKFLOWS_LOG_FORMAT=text
# for reading by eye.
LOGGING = logging_config(os.environ.get("WORKFLOWS_LOG_FORMAT", "json"))
