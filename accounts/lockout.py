"""Login brute-force lockout: failure counters per email and per client IP, kept in the cache.

Why not django-axes: its backend refuses a locked login by raising PermissionDenied inside
`authenticate()`, which Django turns into "no user", so under simplejwt's view a lock is
indistinguishable from a wrong password unless glued back through its middleware; it also
brings its own tables and a username-field mapping. What the API needs is small: count
failures, refuse while locked (429 with Retry-After), forget on success.

Rules:

- Failures are counted for the email *string* the client sent, whether or not an account has
  it, so a lock tells an attacker nothing about which emails exist.
- `LOGIN_LOCKOUT_FAILURES` failures for one email, or `LOGIN_LOCKOUT_IP_FAILURES` from one
  client IP, within `LOGIN_LOCKOUT_WINDOW_SECONDS` lock that email (or IP) for
  `LOGIN_LOCKOUT_COOLOFF_SECONDS`. The failure that reaches the limit is still answered as a
  wrong password; the attempts after it are refused without checking the password, the
  correct one included.
- A successful login forgets the email's failures. The IP's count is not reset by a success:
  otherwise one valid account would let an attacker wipe their IP's count between guesses.
- Counters live in the default cache: Redis when `REDIS_URL` is set, so every worker process
  shares them; the per-process memory cache otherwise (each process counts on its own).
"""

from __future__ import annotations

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import Throttled

FAILURES_PREFIX = "login-lockout:failures:"
LOCKED_PREFIX = "login-lockout:locked:"


class LoginLocked(Throttled):
    """429 with `Retry-After`; the same for every email, existing or not."""

    default_detail = _("Too many failed login attempts.")
    extra_detail_singular = _("Try again in {wait} second.")
    extra_detail_plural = _("Try again in {wait} seconds.")
    default_code = "login_locked"


def _now() -> float:
    """Wall-clock seconds; lock ends are stored as timestamps so every process agrees."""
    return time.time()


def normalize_email(value: object) -> str:
    """The same normalisation the login serializer applies before authenticating."""
    return str(value or "").strip().lower()


def _subjects(*, email: str, ip: str | None) -> list[tuple[str, int]]:
    """Cache-key suffixes with their failure limits. Emails are hashed: no addresses in Redis."""
    subjects: list[tuple[str, int]] = []
    if email:
        digest = hashlib.sha256(email.encode("utf-8")).hexdigest()
        subjects.append((f"email:{digest}", settings.LOGIN_LOCKOUT_FAILURES))
    if ip:
        subjects.append((f"ip:{ip}", settings.LOGIN_LOCKOUT_IP_FAILURES))
    return subjects


def _default_cache(cache: BaseCache | None) -> BaseCache:
    return cache if cache is not None else caches["default"]


def login_lock_remaining(*, email: str, ip: str | None, cache: BaseCache | None = None) -> int:
    """Seconds until neither the email nor the IP is locked; 0 when login may be tried."""
    cache = _default_cache(cache)
    keys = [LOCKED_PREFIX + subject for subject, _limit in _subjects(email=email, ip=ip)]
    locked_until = cache.get_many(keys).values()
    remaining = max((float(until) - _now() for until in locked_until), default=0.0)
    return math.ceil(remaining) if remaining > 0 else 0


def login_check_not_locked(*, email: str, ip: str | None, cache: BaseCache | None = None) -> None:
    """Raise `LoginLocked` while the email or the IP is cooling off."""
    remaining = login_lock_remaining(email=email, ip=ip, cache=cache)
    if remaining:
        raise LoginLocked(wait=remaining)


def login_record_failure(*, email: str, ip: str | None, cache: BaseCache | None = None) -> None:
    """Count one failed login; lock whichever of email and IP reached its limit."""
    cache = _default_cache(cache)
    window = settings.LOGIN_LOCKOUT_WINDOW_SECONDS
    cooloff = settings.LOGIN_LOCKOUT_COOLOFF_SECONDS
    for subject, limit in _subjects(email=email, ip=ip):
        failures_key = FAILURES_PREFIX + subject
        # add() starts the window only for the first failure; incr() is atomic in Redis.
        cache.add(failures_key, 0, timeout=window)
        try:
            failures = cache.incr(failures_key)
        except ValueError:  # the window expired between add() and incr()
            cache.set(failures_key, 1, timeout=window)
            failures = 1
        if failures >= limit:
            cache.set(LOCKED_PREFIX + subject, _now() + cooloff, timeout=cooloff)
            cache.delete(failures_key)  # after the cool-off, a fresh count


def login_record_success(*, email: str, cache: BaseCache | None = None) -> None:
    """Forget the email's failures (not the IP's: see the module docstring)."""
    cache = _default_cache(cache)
    for subject, _limit in _subjects(email=email, ip=None):
        cache.delete(FAILURES_PREFIX + subject)
