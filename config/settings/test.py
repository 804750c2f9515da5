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

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
WORKFLOWS_RETRY_BASE_SECONDS = 0.0
