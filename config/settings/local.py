"""Embedded default for `make run`: SQLite under var/, in-process tasks, DEBUG on."""

import os

os.environ.setdefault("DJANGO_DEBUG", "1")
os.environ.setdefault("WEBHOOK_ALLOW_PRIVATE", "1")

from .base import *  # noqa: E402,F403
from .base import VAR_DIR  # noqa: E402

VAR_DIR.mkdir(parents=True, exist_ok=True)
