"""Embedded default for `make run` and `manage.py`: SQLite under var/, in-process tasks.

The secret key is made once per install in var/secret_key (mode 0600, kept out of git), so no
two installs share one and none is in the source. DEBUG and private webhook targets stay off
unless the environment turns them on, as `make run` does (DJANGO_DEBUG=1,
WEBHOOK_ALLOW_PRIVATE=1): a worker or server started with these settings loosens nothing.
"""

import contextlib
import os
import secrets
import stat
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import VAR_DIR, env_bool


def install_secret_key(path: Path) -> str:
    """The key in `path`, created there (0600) on first use; a second process reads the first's."""
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(50) + "\n")
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)  # atomic, never overwrites: the first process wins
        finally:
            tmp.unlink(missing_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ImproperlyConfigured(
            f"{path} is readable by others (mode {mode:o}): chmod 600 {path}, or delete it to "
            "make a new key (signed-in sessions and tokens then end)"
        )
    key = path.read_text().strip()
    if len(key) < 50:
        raise ImproperlyConfigured(f"{path} holds no usable key: delete it to make a new one")
    return key


VAR_DIR.mkdir(parents=True, exist_ok=True)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or install_secret_key(VAR_DIR / "secret_key")
DEBUG = env_bool("DJANGO_DEBUG", False)
# /metrics answers a loopback client without a token (none is set here by default).
WORKFLOWS_METRICS_LOOPBACK = env_bool("WORKFLOWS_METRICS_LOOPBACK", True)
