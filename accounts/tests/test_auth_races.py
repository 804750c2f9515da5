"""Races with real threads, each on its own database connection (PostgreSQL).

Ten refreshes of one token at once: exactly one new pair. Twelve wrong passwords for one email
at once: no more password checks than the lockout allows, in the per-process memory cache and
in the shared Redis cache.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import Role, User
from accounts.tests.test_redis_counters import REDIS_URL
from accounts.tests.test_redis_counters import redis_db15 as redis_db15  # noqa: F401  (fixture)
from tests.factories import PASSWORD, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def race(count: int, call) -> list:
    """Run `call(i)` in `count` threads released together; return what each returned."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = call(index)
        except Exception as exc:  # surfaced by the callers' assertions, not swallowed
            results[index] = repr(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(not thread.is_alive() for thread in threads)
    return results


@pytest.fixture
def user():
    return UserFactory(tenant=TenantFactory(), role=Role.AGENT)


@pytest.mark.parametrize("round_", range(3))
def test_ten_simultaneous_refreshes_of_one_token_give_exactly_one_pair(user, round_):
    pair = (
        APIClient()
        .post("/api/auth/token/", {"email": user.email, "password": PASSWORD}, format="json")
        .json()
    )

    def refresh(_index: int):
        response = APIClient().post(
            "/api/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json"
        )
        return response.status_code, response.json()

    results = race(10, refresh)

    statuses = sorted(status for status, _body in results)
    assert statuses == [200] + [401] * 9, results
    (winner,) = [body for status, body in results if status == 200]
    # The one new refresh token works once more; the spent one never again.
    again = APIClient().post(
        "/api/auth/token/refresh/", {"refresh": winner["refresh"]}, format="json"
    )
    assert again.status_code == 200


@pytest.fixture
def counted_password_checks(monkeypatch):
    """Counts User.check_password calls; each takes a moment so the attempts overlap."""
    calls = {"n": 0}
    lock = threading.Lock()
    original = User.check_password

    def check_password(self, raw_password):
        with lock:
            calls["n"] += 1
        time.sleep(0.05)  # widen the window the attempts race in (no timing is asserted)
        return original(self, raw_password)

    monkeypatch.setattr(User, "check_password", check_password)
    return calls


def twelve_wrong_passwords(user, settings, path: str = "/api/auth/token/") -> list[int]:
    settings.LOGIN_LOCKOUT_FAILURES = 5
    settings.LOGIN_LOCKOUT_IP_FAILURES = 1000
    settings.LOGIN_LOCKOUT_WINDOW_SECONDS = 900
    settings.LOGIN_LOCKOUT_COOLOFF_SECONDS = 600

    def guess(index: int) -> int:
        return (
            APIClient(REMOTE_ADDR=f"198.51.100.{index + 1}")
            .post(
                path,
                {"email": user.email, "password": f"Wrong-Guess-{index}!"},
                format="json",
            )
            .status_code
        )

    return race(12, guess)


def assert_at_most_five_checks(statuses: list[int], checks: int) -> None:
    assert sorted(set(statuses)) == [401, 429], statuses
    assert statuses.count(401) == checks  # every checked password was wrong
    assert checks <= 5
    assert statuses.count(429) == 12 - checks


def test_twelve_parallel_wrong_passwords_check_at_most_five_in_memory(
    user, settings, counted_password_checks
):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"race-{uuid.uuid4().hex}",
        }
    }
    statuses = twelve_wrong_passwords(user, settings)
    assert_at_most_five_checks(statuses, counted_password_checks["n"])


def test_twelve_parallel_wrong_session_logins_check_at_most_five(
    user, settings, counted_password_checks
):
    """The console's sign-in shares the lockout: the same race, through the session login."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"race-{uuid.uuid4().hex}",
        }
    }
    statuses = twelve_wrong_passwords(user, settings, path="/api/auth/session/")
    assert_at_most_five_checks(statuses, counted_password_checks["n"])


def test_twelve_parallel_wrong_passwords_check_at_most_five_in_redis(
    user, settings, counted_password_checks, redis_db15
):
    client = redis_db15
    prefix = f"test-lockout-race-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    try:
        statuses = twelve_wrong_passwords(user, settings)
        assert_at_most_five_checks(statuses, counted_password_checks["n"])
        assert client.keys(f"{prefix}:*")  # the counters really were in Redis
    finally:
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)


def test_an_attempt_that_looked_before_the_lock_and_reserved_after_it_is_refused(
    settings, monkeypatch
):
    """The interleaving behind a sixth check: attempt 6 finds no lock, then attempt 5 fails
    (locks, and resets the counter), then attempt 6 takes a slot of the fresh window."""
    from django.core.cache import caches

    from accounts import lockout

    settings.LOGIN_LOCKOUT_FAILURES = 5
    settings.LOGIN_LOCKOUT_IP_FAILURES = 1000
    cache = caches["default"]
    cache.clear()
    email = f"race-{uuid.uuid4().hex}@example.test"
    first_five = [lockout.login_attempt_begin(email=email, ip=None) for _ in range(5)]
    real_reserve = lockout._reserve

    def reserve_after_the_others_failed(cache_, subject):
        for attempt in first_five:
            attempt.failed()
        return real_reserve(cache_, subject)

    monkeypatch.setattr(lockout, "_reserve", reserve_after_the_others_failed)
    with pytest.raises(lockout.LoginLocked):
        lockout.login_attempt_begin(email=email, ip=None)
