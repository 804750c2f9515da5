"""Login lockout, throttling, token lifetimes, password rules and one answer for every failure."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import jwt
import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from accounts import lockout
from accounts.models import Role, User
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
TOKEN = "/api/auth/token/"
ME = "/api/auth/me/"
BASE_DIR = Path(__file__).resolve().parents[2]
_addresses = itertools.count(1)


@pytest.fixture
def client_ip() -> str:
    """A client address no other test used: cache counters outlive a test's transaction."""
    n = next(_addresses) + (uuid.uuid4().int % 10_000) * 1_000
    return f"10.{(n >> 16) % 256}.{(n >> 8) % 256}.{n % 256}"


@pytest.fixture
def lockout_limits(settings):
    settings.LOGIN_LOCKOUT_FAILURES = 3
    settings.LOGIN_LOCKOUT_IP_FAILURES = 6
    settings.LOGIN_LOCKOUT_WINDOW_SECONDS = 900
    settings.LOGIN_LOCKOUT_COOLOFF_SECONDS = 600
    return settings


@pytest.fixture
def frozen_clock(monkeypatch):
    """Lock ends and Retry-After computed from one instant, so answers compare exactly."""
    clock = {"now": 1_900_000_000.0}
    monkeypatch.setattr(lockout, "_now", lambda: clock["now"])
    return clock


def login(email: str, password: str = PASSWORD, *, ip: str):
    return APIClient(REMOTE_ADDR=ip).post(
        TOKEN, {"email": email, "password": password}, format="json"
    )


def fresh_email() -> str:
    return f"nobody-{uuid.uuid4().hex[:12]}@example.test"


def answer(response) -> tuple[int, dict, str | None]:
    return response.status_code, response.json(), response.headers.get("Retry-After")


# --- one answer for every failure ---------------------------------------------------------


def test_every_login_failure_answers_the_same_401(make_user, tenant, other_tenant, client_ip):
    user = make_user(Role.AGENT)
    inactive = make_user(Role.AGENT, is_active=False)
    in_inactive_tenant = make_user(Role.AGENT, tenant=other_tenant)
    other_tenant.is_active = False
    other_tenant.save()

    answers = [
        answer(login(user.email, "Wrong-Pass-2026!", ip=client_ip)),
        answer(login(fresh_email(), "Wrong-Pass-2026!", ip=client_ip)),
        answer(login(inactive.email, ip=client_ip)),
        answer(login(in_inactive_tenant.email, ip=client_ip)),
    ]

    assert answers[0][0] == 401
    assert answers[0][1] == {"detail": "No active account found with the given credentials"}
    assert all(a == answers[0] for a in answers), answers


# --- lockout ------------------------------------------------------------------------------


def test_lockout_after_n_failures_refuses_even_the_right_password(
    make_user, lockout_limits, frozen_clock, client_ip
):
    user = make_user(Role.AGENT)
    for _ in range(3):
        assert login(user.email, "Wrong-Pass-2026!", ip=client_ip).status_code == 401

    locked = login(user.email, ip=client_ip)

    assert locked.status_code == 429
    assert locked.json() == {"detail": "Too many failed login attempts. Try again in 600 seconds."}
    assert locked.headers["Retry-After"] == "600"
    assert "access" not in locked.json()
    # The email is locked whatever address the next attempt comes from.
    assert login(user.email, ip="192.0.2.77").status_code == 429


def test_locked_unknown_email_and_locked_real_account_answer_identically(
    make_user, lockout_limits, frozen_clock, client_ip
):
    user = make_user(Role.AGENT)
    unknown = fresh_email()
    # Separate addresses so only the per-email lock is in play.
    for _ in range(3):
        login(user.email, "Wrong-Pass-2026!", ip="192.0.2.10")
        login(unknown, "Wrong-Pass-2026!", ip="192.0.2.11")

    real_right = answer(login(user.email, ip=client_ip))
    real_wrong = answer(login(user.email, "Wrong-Pass-2026!", ip=client_ip))
    nobody = answer(login(unknown, "Wrong-Pass-2026!", ip=client_ip))

    assert real_right[0] == 429
    assert real_right == real_wrong == nobody


def test_successful_login_resets_the_email_counter(make_user, lockout_limits, client_ip):
    user = make_user(Role.AGENT)
    for _ in range(2):
        assert login(user.email, "Wrong-Pass-2026!", ip=client_ip).status_code == 401
    assert login(user.email, ip=client_ip).status_code == 200
    for _ in range(2):
        assert login(user.email, "Wrong-Pass-2026!", ip=client_ip).status_code == 401
    assert login(user.email, ip=client_ip).status_code == 200


def test_email_lock_ends_after_the_cool_off(make_user, lockout_limits, frozen_clock, client_ip):
    user = make_user(Role.AGENT)
    for _ in range(3):
        login(user.email, "Wrong-Pass-2026!", ip=client_ip)
    assert login(user.email, ip=client_ip).status_code == 429

    frozen_clock["now"] += 599
    assert login(user.email, ip=client_ip).headers["Retry-After"] == "1"
    frozen_clock["now"] += 1
    assert login(user.email, ip=client_ip).status_code == 200


def test_one_address_guessing_many_emails_is_locked_out(make_user, lockout_limits, client_ip):
    user = make_user(Role.AGENT)
    for _ in range(6):
        assert login(fresh_email(), "Wrong-Pass-2026!", ip=client_ip).status_code == 401

    assert login(user.email, ip=client_ip).status_code == 429
    # The account itself is not locked: from another address it logs in.
    assert login(user.email, ip="192.0.2.200").status_code == 200


def test_success_does_not_reset_the_address_counter(make_user, lockout_limits, client_ip):
    """Otherwise one valid account lets an attacker wipe their address's count between guesses."""
    attacker_account = make_user(Role.VIEWER)
    for _ in range(5):
        login(fresh_email(), "Wrong-Pass-2026!", ip=client_ip)
    assert login(attacker_account.email, ip=client_ip).status_code == 200
    assert login(fresh_email(), "Wrong-Pass-2026!", ip=client_ip).status_code == 401

    assert login(attacker_account.email, ip=client_ip).status_code == 429


def test_lockout_trusts_x_forwarded_for_only_through_num_proxies(
    make_user, lockout_limits, client_ip, settings
):
    """With NUM_PROXIES=0 a forged X-Forwarded-For cannot give each guess a fresh address."""
    user = make_user(Role.AGENT)
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 0}
    client = APIClient(REMOTE_ADDR=client_ip)
    for n in range(6):
        client.post(
            TOKEN,
            {"email": fresh_email(), "password": "Wrong-Pass-2026!"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        )
    response = client.post(
        TOKEN,
        {"email": user.email, "password": PASSWORD},
        format="json",
        HTTP_X_FORWARDED_FOR="198.51.100.250",
    )
    assert response.status_code == 429


def test_missing_fields_are_400_and_not_counted(make_user, lockout_limits, client_ip):
    user = make_user(Role.AGENT)
    for _ in range(5):
        response = APIClient(REMOTE_ADDR=client_ip).post(
            TOKEN, {"email": user.email}, format="json"
        )
        assert response.status_code == 400
    assert login(user.email, ip=client_ip).status_code == 200


# --- throttling ---------------------------------------------------------------------------


@pytest.fixture
def throttle_rates(monkeypatch):
    """DRF binds the rates at import; patch the class attribute the throttles read."""

    def set_rates(**rates: str) -> None:
        base = {"anon": "1000/minute", "user": "1000/minute", "login": "1000/minute"}
        monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {**base, **rates})

    return set_rates


def test_login_scope_throttles_with_429_and_retry_after(throttle_rates, client_ip):
    throttle_rates(login="2/minute")
    for _ in range(2):
        assert login(fresh_email(), "Wrong-Pass-2026!", ip=client_ip).status_code == 401

    throttled = login(fresh_email(), "Wrong-Pass-2026!", ip=client_ip)

    assert throttled.status_code == 429
    assert throttled.json()["detail"].startswith("Request was throttled.")
    assert 1 <= int(throttled.headers["Retry-After"]) <= 60
    # Another client is not affected.
    assert login(fresh_email(), "Wrong-Pass-2026!", ip="192.0.2.250").status_code == 401


def test_user_rate_throttles_an_authenticated_client(throttle_rates, client_for, make_user):
    user = make_user(Role.AGENT)
    client = client_for(user)
    throttle_rates(user="2/minute")
    assert [client.get(ME).status_code for _ in range(3)] == [200, 200, 429]
    assert "Retry-After" in client.get(ME).headers


def test_throttle_and_lockout_settings_defaults_and_environment_overrides():
    script = (
        "import json, config.settings.base as s; print(json.dumps({"
        "'rates': s.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'],"
        "'classes': s.REST_FRAMEWORK['DEFAULT_THROTTLE_CLASSES'],"
        "'proxies': s.TRUSTED_PROXIES,"
        "'lockout': [s.LOGIN_LOCKOUT_FAILURES, s.LOGIN_LOCKOUT_IP_FAILURES,"
        " s.LOGIN_LOCKOUT_WINDOW_SECONDS, s.LOGIN_LOCKOUT_COOLOFF_SECONDS]}))"
    )
    overridable = (
        "THROTTLE_ANON_RATE",
        "THROTTLE_USER_RATE",
        "THROTTLE_LOGIN_RATE",
        "TRUSTED_PROXIES",
        "LOGIN_LOCKOUT_FAILURES",
        "LOGIN_LOCKOUT_IP_FAILURES",
        "LOGIN_LOCKOUT_WINDOW_SECONDS",
        "LOGIN_LOCKOUT_COOLOFF_SECONDS",
    )
    clean_env = {k: v for k, v in os.environ.items() if k not in overridable}

    def settings_with(**env: str) -> dict:
        out = subprocess.run(
            [sys.executable, "-c", script],
            cwd=BASE_DIR,
            env={**clean_env, **env},
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(out.stdout)

    defaults = settings_with()
    assert defaults == {
        "rates": {"anon": "120/minute", "user": "1200/minute", "login": "20/minute"},
        "classes": [
            "core.proxies.AnonRateThrottle",
            "core.proxies.UserRateThrottle",
        ],
        "proxies": [],
        "lockout": [5, 20, 900, 900],
    }
    overridden = settings_with(
        THROTTLE_ANON_RATE="7/minute",
        THROTTLE_USER_RATE="8/minute",
        THROTTLE_LOGIN_RATE="3/hour",
        TRUSTED_PROXIES="10.0.0.5, 10.1.0.0/24",
        LOGIN_LOCKOUT_FAILURES="4",
        LOGIN_LOCKOUT_IP_FAILURES="9",
        LOGIN_LOCKOUT_WINDOW_SECONDS="60",
        LOGIN_LOCKOUT_COOLOFF_SECONDS="120",
    )
    assert overridden["rates"] == {"anon": "7/minute", "user": "8/minute", "login": "3/hour"}
    assert overridden["proxies"] == ["10.0.0.5", "10.1.0.0/24"]
    assert overridden["lockout"] == [4, 9, 60, 120]


# --- tokens -------------------------------------------------------------------------------


def test_access_token_lives_15_minutes_and_refresh_7_days(make_user, client_ip):
    tokens = login(make_user(Role.AGENT).email, ip=client_ip).json()
    access = jwt.decode(tokens["access"], options={"verify_signature": False})
    refresh = jwt.decode(tokens["refresh"], options={"verify_signature": False})
    assert access["exp"] - access["iat"] == 15 * 60
    assert refresh["exp"] - refresh["iat"] == 7 * 24 * 3600


# --- password validators ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("Sh0rt!", "too short"),
        ("password123", "too common"),
        ("5738291046", "entirely numeric"),
        ("weak.person@example", "too similar to the email"),
    ],
)
def test_weak_password_on_user_creation_is_refused(admin_client, tenant, password, why):
    response = admin_client.post(
        f"/api/tenants/{tenant.id}/users/",
        {"email": "weak.person@example.test", "password": password},
        format="json",
    )
    assert response.status_code == 400, why
    assert "password" in response.json()
    assert not User.objects.filter(email="weak.person@example.test").exists()


def test_weak_password_on_user_update_is_refused_and_old_one_still_works(
    admin_client, tenant, make_user, client_ip
):
    agent = make_user(Role.AGENT)
    response = admin_client.patch(
        f"/api/tenants/{tenant.id}/users/{agent.id}/", {"password": "password"}, format="json"
    )
    assert response.status_code == 400
    assert "password" in response.json()
    assert login(agent.email, ip=client_ip).status_code == 200
    assert login(agent.email, "password", ip=client_ip).status_code == 401


def test_strong_password_on_update_replaces_the_old_one(admin_client, tenant, make_user, client_ip):
    agent = make_user(Role.AGENT)
    response = admin_client.patch(
        f"/api/tenants/{tenant.id}/users/{agent.id}/",
        {"password": "Fresh-Horse-Battery-7"},
        format="json",
    )
    assert response.status_code == 200
    assert login(agent.email, "Fresh-Horse-Battery-7", ip=client_ip).status_code == 200
    assert login(agent.email, ip=client_ip).status_code == 401


def test_create_user_command_refuses_a_weak_password(tenant):
    with pytest.raises(CommandError, match="too common"):
        call_command(
            "create_user",
            tenant=tenant.slug,
            email="cli@example.test",
            password="password123",
            role=Role.AGENT,
        )
    assert not User.objects.filter(email="cli@example.test").exists()
