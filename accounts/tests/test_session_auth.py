"""The console's sign-in: session cookie + CSRF, next to the JWT, with the token login's rules.

Every browser here is Django's test Client with CSRF checks on, holding cookies only: no
Authorization header is ever sent.
"""

from __future__ import annotations

import itertools
import uuid

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Role, User
from approvals.tests.conftest import LIST_URL as ASSIGNMENTS
from approvals.tests.test_transfers import Chain
from tests.factories import (
    PASSWORD,
    SecurityGroupFactory,
    WorkflowAssignmentFactory,
    WorkflowFactory,
    WorkflowTemplateFactory,
)
from workflows.models import Workflow

pytestmark = pytest.mark.django_db
CSRF = "/api/auth/csrf/"
SESSION = "/api/auth/session/"
TOKEN = "/api/auth/token/"
ME = "/api/auth/me/"
WRONG = "Wrong-Pass-2026!"
ONE_401 = {"detail": "No active account found with the given credentials"}
_addresses = itertools.count(1)


@pytest.fixture
def client_ip() -> str:
    """An address no other test used: lockout and throttle counters outlive a test."""
    n = next(_addresses) + (uuid.uuid4().int % 10_000) * 1_000
    return f"10.{(n >> 16) % 256}.{(n >> 8) % 256}.{n % 256}"


def browser(ip: str = "127.0.0.1") -> Client:
    return Client(enforce_csrf_checks=True, REMOTE_ADDR=ip)


def csrf_token(client: Client) -> str:
    """The token the console sends back: the current `csrftoken` cookie (set if missing)."""
    if "csrftoken" not in client.cookies:
        assert client.get(CSRF).status_code == 200
    return client.cookies["csrftoken"].value


def post_login(client: Client, email: str, password: str = PASSWORD, *, csrf: bool = True):
    headers = {"HTTP_X_CSRFTOKEN": csrf_token(client)} if csrf else {}
    return client.post(
        SESSION, {"email": email, "password": password}, content_type="application/json", **headers
    )


def signed_in(user: User, ip: str = "127.0.0.1") -> Client:
    client = browser(ip)
    response = post_login(client, user.email)
    assert response.status_code == 200, response.content
    return client


def unsafe(client: Client, method: str, path: str, body: dict | None = None, *, csrf: bool):
    headers = {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value} if csrf else {}
    return getattr(client, method)(path, body or {}, content_type="application/json", **headers)


# --- cookies and the sign-in itself ---------------------------------------------------------


def test_csrf_endpoint_sets_a_readable_lax_cookie_and_returns_a_working_token(admin):
    client = browser()
    response = client.get(CSRF)

    assert response.status_code == 200
    cookie = client.cookies["csrftoken"]
    assert response.json() == {"csrf_token": response.json()["csrf_token"]}
    assert not cookie["httponly"]  # the console reads it
    assert cookie["samesite"] == "Lax"
    assert "no-store" in response["Cache-Control"]
    # The body's token is accepted as the header (the cookie's value is too, see signed_in).
    ok = client.post(
        SESSION,
        {"email": admin.email, "password": PASSWORD},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=response.json()["csrf_token"],
    )
    assert ok.status_code == 200, ok.content


def test_login_answers_the_me_body_and_sets_an_httponly_lax_session_cookie(admin, client_for):
    client = browser()
    response = post_login(client, admin.email.upper())  # emails compare case-insensitively

    assert response.status_code == 200, response.content
    assert response.json() == client_for(admin).get(ME).json()
    session = client.cookies[settings.SESSION_COOKIE_NAME]
    assert settings.SESSION_COOKIE_NAME == "workflows_session"
    assert session["httponly"]
    assert session["samesite"] == "Lax"
    assert int(session["max-age"]) == 8 * 3600
    assert client.cookies["csrftoken"]["samesite"] == "Lax"
    # Like a token login, a session login writes nothing to the user's row.
    admin.refresh_from_db()
    assert admin.last_login is None


def test_login_rotates_the_session_key_and_the_csrf_token(admin):
    """A session id planted before sign-in (session fixation) is not the signed-in one."""
    planted = SessionStore()
    planted["theme"] = "dark"
    planted.create()
    client = browser()
    client.cookies[settings.SESSION_COOKIE_NAME] = planted.session_key
    before = csrf_token(client)

    assert post_login(client, admin.email).status_code == 200

    assert client.cookies[settings.SESSION_COOKIE_NAME].value != planted.session_key
    assert client.cookies["csrftoken"].value != before
    assert not SessionStore().exists(planted.session_key)


def test_me_with_the_session_cookie_only(admin, client_for):
    client = signed_in(admin)

    response = client.get(ME)

    assert response.status_code == 200
    assert response.json() == client_for(admin).get(ME).json()


def test_a_session_request_costs_what_a_token_request_costs_plus_the_session_row(admin, client_for):
    jwt_client, session_client = client_for(admin), signed_in(admin)
    with CaptureQueriesContext(connection) as by_token:
        assert jwt_client.get(ME).status_code == 200
    with CaptureQueriesContext(connection) as by_session:
        assert session_client.get(ME).status_code == 200

    selects = [q["sql"] for q in by_session.captured_queries if q["sql"].startswith("SELECT")]
    assert len(by_session) == len(by_token) + 1, selects
    # The user comes with their tenant in one query, as with a token.
    assert sum('FROM "accounts_user"' in sql for sql in selects) == 1
    assert any('JOIN "tenants_tenant"' in sql for sql in selects)


def test_without_token_or_session_the_answer_stays_401_with_the_bearer_challenge():
    response = browser().get(ME)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


# --- the approvals seed's component ---------------------------------------------------------


def test_the_seed_component_fetch_works_with_the_session_cookie_only(make_user, tenant):
    group = SecurityGroupFactory(tenant=tenant, name="Finance Team")
    template = WorkflowTemplateFactory(tenant=tenant, code="FAR_WF_V1", transfer_type="FAR")
    assignment = WorkflowAssignmentFactory(
        security_group=group, workflow_template=template, execution_order=1
    )
    WorkflowAssignmentFactory(security_group=SecurityGroupFactory(tenant=tenant))
    client = signed_in(make_user(Role.AGENT))

    # fetch('/api/approvals/workflow-assignments/?security_group=N'), no Authorization header
    response = client.get(f"{ASSIGNMENTS}?security_group={group.id}")

    assert response.status_code == 200, response.content
    data = response.json()
    assert [a["id"] for a in data["assignments"]] == [assignment.id]
    assert data["assignments"][0]["workflow_template_code"] == "FAR_WF_V1"


# --- CSRF -----------------------------------------------------------------------------------


def test_an_unsafe_request_without_the_csrf_header_is_403_and_changes_nothing(admin, tenant):
    client = signed_in(admin)
    path = f"/api/tenants/{tenant.id}/workflows/"
    body = {"name": "Crisis Response", "description": "x"}

    refused = unsafe(client, "post", path, body, csrf=False)

    assert refused.status_code == 403
    assert refused.json()["detail"].startswith("CSRF Failed")
    assert not Workflow.objects.filter(tenant=tenant, name="Crisis Response").exists()

    accepted = unsafe(client, "post", path, body, csrf=True)

    assert accepted.status_code == 201, accepted.content
    assert Workflow.objects.filter(tenant=tenant, name="Crisis Response").count() == 1


def test_under_approvals_a_csrf_failure_is_in_the_envelope(admin, tenant):
    group = SecurityGroupFactory(tenant=tenant)
    client = signed_in(admin)

    refused = unsafe(client, "delete", f"/api/approvals/security-groups/{group.id}/", csrf=False)

    assert refused.status_code == 403
    assert refused.json()["success"] is False
    assert refused.json()["errors"]["detail"].startswith("CSRF Failed")
    group.refresh_from_db()  # still there


def test_login_without_the_csrf_token_is_403_and_signs_nobody_in(admin, client_ip, settings):
    settings.LOGIN_LOCKOUT_FAILURES = 2
    client = browser(client_ip)

    for _ in range(3):  # a refused login is not a failed one: it never reaches the lockout
        response = post_login(client, admin.email, csrf=False)
        assert response.status_code == 403
        assert response.json()["detail"].startswith("CSRF Failed")
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert client.get(ME).status_code == 401
    # With a token sent but not matching the cookie: refused too.
    client.get(CSRF)
    mismatched = client.post(
        SESSION,
        {"email": admin.email, "password": PASSWORD},
        content_type="application/json",
        HTTP_X_CSRFTOKEN="x" * 32,
    )
    assert mismatched.status_code == 403
    assert post_login(client, admin.email).status_code == 200


# --- the token login's rules ----------------------------------------------------------------


def test_every_login_failure_answers_the_same_401(make_user, other_tenant, client_ip):
    user = make_user(Role.AGENT)
    inactive = make_user(Role.AGENT, is_active=False)
    in_inactive_tenant = make_user(Role.AGENT, tenant=other_tenant)
    other_tenant.is_active = False
    other_tenant.save()
    client = browser(client_ip)

    answers = [
        post_login(client, user.email, WRONG),
        post_login(client, f"nobody-{uuid.uuid4().hex[:8]}@example.test", WRONG),
        post_login(client, inactive.email),
        post_login(client, in_inactive_tenant.email),
    ]

    assert [(r.status_code, r.json()) for r in answers] == [(401, ONE_401)] * 4
    assert client.get(ME).status_code == 401


@pytest.fixture
def lockout_limits(settings):
    settings.LOGIN_LOCKOUT_FAILURES = 3
    settings.LOGIN_LOCKOUT_IP_FAILURES = 50
    settings.LOGIN_LOCKOUT_WINDOW_SECONDS = 900
    settings.LOGIN_LOCKOUT_COOLOFF_SECONDS = 600


def test_lockout_after_the_failures_refuses_even_the_right_password(
    make_user, lockout_limits, client_ip
):
    user = make_user(Role.AGENT)
    client = browser(client_ip)
    for _ in range(3):
        assert post_login(client, user.email, WRONG).status_code == 401

    locked = post_login(client, user.email)

    assert locked.status_code == 429
    assert locked.json()["detail"].startswith("Too many failed login attempts.")
    assert int(locked["Retry-After"]) > 0
    assert settings.SESSION_COOKIE_NAME not in locked.cookies
    assert client.get(ME).status_code == 401


def test_token_and_session_logins_share_one_lockout(make_user, lockout_limits, client_ip):
    user = make_user(Role.AGENT)
    api = Client(REMOTE_ADDR=client_ip)
    for _ in range(3):
        failed = api.post(
            TOKEN, {"email": user.email, "password": WRONG}, content_type="application/json"
        )
        assert failed.status_code == 401

    assert post_login(browser(client_ip), user.email).status_code == 429


def test_session_login_uses_the_login_throttle_scope(client_ip, monkeypatch, admin):
    from rest_framework.throttling import SimpleRateThrottle

    rates = {**SimpleRateThrottle.THROTTLE_RATES, "login": "2/minute"}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    client = browser(client_ip)
    assert post_login(client, admin.email, WRONG).status_code == 401
    assert post_login(client, admin.email, WRONG).status_code == 401

    throttled = post_login(client, admin.email)

    assert throttled.status_code == 429
    assert throttled.json()["detail"].startswith("Request was throttled.")
    assert "Retry-After" in throttled


def test_a_bad_login_body_is_a_400_naming_the_field(client_ip):
    client = browser(client_ip)
    response = client.post(
        SESSION,
        {"email": "a@example.test"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=csrf_token(client),
    )

    assert response.status_code == 400
    assert "password" in response.json()


# --- sessions that end ----------------------------------------------------------------------


@pytest.mark.parametrize("what", ["user", "tenant"])
def test_a_session_stops_working_when_its_user_or_tenant_is_deactivated(admin, tenant, what):
    client = signed_in(admin)
    assert client.get(ME).status_code == 200

    if what == "user":
        User.objects.filter(pk=admin.pk).update(is_active=False)
    else:
        tenant.is_active = False
        tenant.save()

    response = client.get(ME)
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_a_deactivated_user_cannot_write_with_a_live_session(admin, tenant):
    client = signed_in(admin)
    User.objects.filter(pk=admin.pk).update(is_active=False)

    refused = unsafe(
        client, "post", f"/api/tenants/{tenant.id}/workflows/", {"name": "Late"}, csrf=True
    )

    assert refused.status_code == 401
    assert not Workflow.objects.filter(tenant=tenant, name="Late").exists()


def test_a_password_change_ends_the_session(admin, make_user, tenant, client_for):
    agent = make_user(Role.AGENT)
    client = signed_in(agent)
    assert client.get(ME).status_code == 200

    changed = client_for(admin).patch(
        f"/api/tenants/{tenant.id}/users/{agent.id}/",
        {"password": "Another-Pass-2026!"},
        format="json",
    )
    assert changed.status_code == 200, changed.content

    assert client.get(ME).status_code == 401
    assert post_login(browser(), agent.email).json() == ONE_401  # the old password
    assert post_login(browser(), agent.email, "Another-Pass-2026!").status_code == 200


def test_a_password_set_in_the_shell_ends_the_session_too(admin):
    client = signed_in(admin)
    admin.set_password("Another-Pass-2026!")
    admin.save()

    assert client.get(ME).status_code == 401


def test_logout_ends_the_session_and_the_old_cookie_is_401(admin):
    client = signed_in(admin)
    old_cookie = client.cookies[settings.SESSION_COOKIE_NAME].value

    response = unsafe(client, "delete", SESSION, csrf=True)

    assert response.status_code == 204
    assert client.get(ME).status_code == 401
    replay = browser()
    replay.cookies[settings.SESSION_COOKIE_NAME] = old_cookie
    assert replay.get(ME).status_code == 401


def test_logout_of_a_signed_in_browser_needs_the_csrf_token(admin):
    client = signed_in(admin)

    refused = unsafe(client, "delete", SESSION, csrf=False)

    assert refused.status_code == 403
    assert client.get(ME).status_code == 200


def test_logout_without_a_session_is_a_harmless_204():
    assert browser().delete(SESSION).status_code == 204


# --- tenants --------------------------------------------------------------------------------


def test_a_tenant_a_session_gets_404_on_tenant_b_objects(
    admin, tenant, other_tenant, make_user, client_for
):
    b_workflow = WorkflowFactory(tenant=other_tenant)
    created = Chain(other_tenant, make_user, client_for).create()
    assert created.status_code == 201, created.content
    b_transfer = created.json()["transfer"]["id"]
    client = signed_in(admin)
    not_found = {"detail": "Not found."}

    assert client.get(f"/api/tenants/{other_tenant.id}/workflows/{b_workflow.id}/").json() == (
        not_found
    )
    for path in (
        f"/api/tenants/{other_tenant.id}/workflows/{b_workflow.id}/",
        f"/api/tenants/{tenant.id}/workflows/{b_workflow.id}/",
    ):
        assert client.get(path).status_code == 404
        assert unsafe(client, "delete", path, csrf=True).status_code == 404
    transfer = client.get(f"/api/approvals/transfers/{b_transfer}/")
    assert transfer.status_code == 404
    assert transfer.json() == {"success": False, "errors": not_found}
    approve = unsafe(
        client, "post", f"/api/approvals/transfers/{b_transfer}/approve/", {}, csrf=True
    )
    assert approve.status_code == 404
    assert Workflow.objects.filter(pk=b_workflow.pk).exists()


def test_session_state_names_the_signed_in_user_and_says_null_when_signed_out(admin):
    client = browser()
    signed_out = client.get(SESSION)
    assert (signed_out.status_code, signed_out.json()) == (200, {"user": None})
    assert signed_out["Cache-Control"] == "no-store"

    client = signed_in(admin)
    state = client.get(SESSION).json()
    assert (state["user"]["email"], state["user"]["role"]) == (admin.email, admin.role)

    assert unsafe(client, "delete", SESSION, csrf=True).status_code == 204
    assert client.get(SESSION).json() == {"user": None}


def test_session_state_does_not_read_a_bearer_token(admin):
    token = Client().post(
        TOKEN, {"email": admin.email, "password": PASSWORD}, content_type="application/json"
    )
    access = token.json()["access"]
    state = browser().get(SESSION, HTTP_AUTHORIZATION=f"Bearer {access}")
    assert state.json() == {"user": None}
