"""Test settings: always PostgreSQL (DATABASE_URL, else the loopback server)."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/workflows")
os.environ.setdefault("WEBHOOK_ALLOW_PRIVATE", "1")

from .base import *  # noqa: E402,F403
from .base import DATABASES  # noqa: E402

if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise RuntimeError(
        "The test suite runs on PostgreSQL only: set DATABASE_URL to a postgres:// URL"
    )

DEBUG = False  # whatever DJANGO_DEBUG says: no debug pages outside `make run`

# The suite creates and drops its database, so its login is the owner (a superuser on the
# loopback server); every connection still switches to the application role (core.db_roles).
DB_ALLOW_SUPERUSER = True

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
WORKFLOWS_RETRY_BASE_SECONDS = 0.0

# The suite logs in hundreds of times from one address: throttles and lockout stay out of its
# way here; accounts/tests/test_hardening.py sets real limits where it proves them.
REST_FRAMEWORK = {  # noqa: F405
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {
        "anon": "100000/minute",
        "user": "100000/minute",
        "login": "100000/minute",
    },
}
LOGIN_LOCKOUT_FAILURES = 100000
LOGIN_LOCKOUT_IP_FAILURES = 100000
