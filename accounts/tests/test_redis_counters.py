"""REDIS_URL mode: lockout and throttle counters are shared by separate processes.

Each step runs in its own Python process with its own Redis connection, as gunicorn workers
do. The same steps without REDIS_URL (per-process memory) must *not* share: that control shows
the test can tell the two apart.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis

pytestmark = pytest.mark.broker

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
BASE_DIR = Path(__file__).resolve().parents[2]
COOLOFF = 300

# One login attempt as a worker process sees it: pass the login throttle, maybe count a failure,
# then report what this process now sees.
WORKER = r"""
import json, sys
import django
django.setup()
from django.core.cache import caches
from django.test import RequestFactory
from rest_framework.throttling import ScopedRateThrottle
from accounts import lockout

action, email, ip = sys.argv[1:4]

class LoginView:
    throttle_scope = "login"

request = RequestFactory().post("/api/auth/token/", REMOTE_ADDR=ip)
request.user = None
throttle_allowed = ScopedRateThrottle().allow_request(request, LoginView())
if action == "fail":
    lockout.login_record_failure(email=email, ip=ip)
print(json.dumps({
    "cache": type(caches["default"]).__name__,
    "throttle_allowed": throttle_allowed,
    "locked_for": lockout.login_lock_remaining(email=email, ip=ip),
}))
"""


@pytest.fixture
def redis_db15():
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is not answering at {REDIS_URL} (required under CI): {exc}")
        pytest.skip(f"Redis is not answering at {REDIS_URL}: {exc}")
    yield client
    client.close()


def run_worker(action: str, email: str, ip: str, *, redis_url: str) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "REDIS_URL": redis_url,
        "THROTTLE_LOGIN_RATE": "2/minute",
        "LOGIN_LOCKOUT_FAILURES": "2",
        "LOGIN_LOCKOUT_IP_FAILURES": "50",
        "LOGIN_LOCKOUT_COOLOFF_SECONDS": str(COOLOFF),
    }
    result = subprocess.run(
        [sys.executable, "-c", WORKER, action, email, ip],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def attempts(redis_url: str) -> list[dict]:
    email = f"target-{uuid.uuid4().hex}@example.test"
    ip = f"10.250.{uuid.uuid4().int % 256}.{uuid.uuid4().int % 256}"
    return [
        run_worker("fail", email, ip, redis_url=redis_url),
        run_worker("fail", email, ip, redis_url=redis_url),
        run_worker("check", email, ip, redis_url=redis_url),
    ]


def test_redis_url_shares_lockout_and_throttle_counters_across_processes(redis_db15):
    first, second, third = attempts(REDIS_URL)

    assert first["cache"] == "RedisCache"
    assert (first["throttle_allowed"], first["locked_for"]) == (True, 0)
    # The second process's failure is the email's second: it locks, for every process.
    assert second["throttle_allowed"] is True
    assert 0 < second["locked_for"] <= COOLOFF
    # A third process has seen neither attempt itself, yet is throttled and sees the lock.
    assert third["throttle_allowed"] is False
    assert 0 < third["locked_for"] <= COOLOFF
    assert redis_db15.dbsize() > 0


def test_without_redis_url_each_process_counts_alone():
    first, second, third = attempts("")

    assert first["cache"] == "LocMemCache"
    assert [a["throttle_allowed"] for a in (first, second, third)] == [True, True, True]
    assert [a["locked_for"] for a in (first, second, third)] == [0, 0, 0]
