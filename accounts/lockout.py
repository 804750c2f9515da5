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
- Check and count are one step, so parallel guesses cannot all slip in before the lock: each
  attempt first *reserves* a slot with an atomic `incr` (after `add`, which starts the window)
  on the email's and the IP's counters, and only an attempt whose slot is within the limit
  may check a password. A failed check keeps its slot (it is the failure); a success, and a
  request that never reached the check (e.g. a 400), give it back. So at most
  `LOGIN_LOCKOUT_FAILURES` passwords are checked per email and window, however many arrive
  at once; the others answer 429.
- Counters live in the default cache: Redis when `REDIS_URL` is set, so every worker process
  shares them; the per-process memory cache otherwise (each process counts on its own).
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import time
from collections.abc import Iterator

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import AuthenticationFailed, Throttled

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


class LoginAttempt:
    """The slots one attempt holds; settled once by `failed()`, `succeeded()` or `release()`."""

    def __init__(self, *, cache: BaseCache, held: list[tuple[str, int, int]], email: str) -> None:
        self.cache = cache
        self.held = held  # (subject, limit, count including this attempt)
        self.email = email
        self.settled = False

    def failed(self) -> None:
        """The password was wrong: the slot stays counted; the limit's slot locks."""
        if self._settle():
            cooloff = settings.LOGIN_LOCKOUT_COOLOFF_SECONDS
            for subject, limit, count in self.held:
                if count >= limit:
                    self.cache.set(LOCKED_PREFIX + subject, _now() + cooloff, timeout=cooloff)
                    self.cache.delete(FAILURES_PREFIX + subject)  # after the cool-off, afresh

    def succeeded(self) -> None:
        """Forget the email's failures; give the IP its slot back (its count stays)."""
        if self._settle():
            _release(self.cache, [s for s in self.held if not s[0].startswith("email:")])
            login_record_success(email=self.email, cache=self.cache)

    def release(self) -> None:
        """No password was checked (bad request, server error): nothing is counted."""
        if self._settle():
            _release(self.cache, self.held)

    def _settle(self) -> bool:
        first, self.settled = not self.settled, True
        return first


def _release(cache: BaseCache, held: list[tuple[str, int, int]]) -> None:
    for subject, _limit, _count in held:
        # ValueError: the window ended (or a lock reset it) meanwhile; nothing to give back.
        with contextlib.suppress(ValueError):
            if cache.decr(FAILURES_PREFIX + subject) < 0:
                # Redis's incr after a key expired creates it without expiry: drop it.
                cache.delete(FAILURES_PREFIX + subject)


def _reserve(cache: BaseCache, subject: str) -> int:
    """Atomically take the next slot of `subject`'s window and return its number (1-based)."""
    key = FAILURES_PREFIX + subject
    window = settings.LOGIN_LOCKOUT_WINDOW_SECONDS
    for _attempt in range(3):
        cache.add(key, 0, timeout=window)  # starts the window only for the first attempt
        try:
            count = cache.incr(key)
        except ValueError:  # the window expired between add() and incr(): start it again
            continue
        if count == 1:
            # The window's first attempt: make sure the key expires even if it vanished between
            # the backend's existence check and its increment (which then creates it bare).
            cache.touch(key, timeout=window)
        return count
    raise RuntimeError("login lockout counter could not be incremented")  # pragma: no cover


def login_attempt_begin(
    *, email: str, ip: str | None, cache: BaseCache | None = None
) -> LoginAttempt:
    """Reserve a password check for `email` from `ip`, or raise `LoginLocked`.

    Locked, or every slot of the window already taken by attempts (finished or still
    running): 429 without a password check.
    """
    cache = _default_cache(cache)
    login_check_not_locked(email=email, ip=ip, cache=cache)
    held: list[tuple[str, int, int]] = []
    for subject, limit in _subjects(email=email, ip=ip):
        count = _reserve(cache, subject)
        held.append((subject, limit, count))
        if count > limit:
            _release(cache, held)
            # The attempts holding the slots decide whether a lock follows; until then, wait.
            raise LoginLocked(wait=max(login_lock_remaining(email=email, ip=ip, cache=cache), 1))
    # Look again once the slots are held: the attempt that reached the limit locks, then resets
    # the counter, so an attempt that passed the first look just before the lock would find a
    # fresh window and check a sixth password.
    remaining = login_lock_remaining(email=email, ip=ip, cache=cache)
    if remaining:
        _release(cache, held)
        raise LoginLocked(wait=remaining)
    return LoginAttempt(cache=cache, held=held, email=email)


@contextlib.contextmanager
def login_guard(*, email: object, ip: str | None) -> Iterator[LoginAttempt]:
    """One password login (token or session) from `ip`: 429 while locked, else the block runs.

    The block checks the password: `AuthenticationFailed` from it counts as a failure, any
    other exception (a 400: no password checked) gives the slot back, a normal exit succeeds.
    """
    attempt = login_attempt_begin(email=normalize_email(email), ip=ip)
    try:
        yield attempt
    except AuthenticationFailed:
        attempt.failed()
        raise
    except BaseException:
        attempt.release()
        raise
    attempt.succeeded()


def login_record_failure(*, email: str, ip: str | None, cache: BaseCache | None = None) -> None:
    """Count one failed login at once (an attempt that was never reserved)."""
    cache = _default_cache(cache)
    held = [(s, limit, _reserve(cache, s)) for s, limit in _subjects(email=email, ip=ip)]
    LoginAttempt(cache=cache, held=held, email=email).failed()


def login_record_success(*, email: str, cache: BaseCache | None = None) -> None:
    """Forget the email's failures (not the IP's: see the module docstring)."""
    cache = _default_cache(cache)
    for subject, _limit in _subjects(email=email, ip=None):
        cache.delete(FAILURES_PREFIX + subject)
