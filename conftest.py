"""Shared fixtures: tenants, users of every role, and API clients holding real JWTs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection, connections
from django.test.client import Client
from rest_framework.test import APIClient

from accounts.models import Role, User
from core import db_roles
from core.rls import app_role, platform_role
from tests.factories import PASSWORD, TenantFactory, UserFactory

# --- Database roles -------------------------------------------------------------------------
# The test database is created and migrated as the owner (the login in DATABASE_URL). After
# that every connection switches to the application role on connect, as in production
# (core.db_roles). Test code itself (factories, assertions on rows) works as the platform role,
# which sees every tenant; each request made through the test client runs exactly as a fresh
# production connection would: the application role, no tenant until the view sets it.


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    db_roles._owner_mode = True


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    db_roles._owner_mode = False
    with django_db_blocker.unblock():
        for conn in connections.all(initialized_only=True):
            conn.close()
    yield
    db_roles._owner_mode = True  # the database is dropped by its owner
    with django_db_blocker.unblock():
        for conn in connections.all(initialized_only=True):
            conn.close()


def _raw_execute(sql: str, params: list[str] | None = None) -> list[tuple]:
    """Outside Django's cursor: not counted by query budgets or execute wrappers."""
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


_SESSION_CONTEXT = (
    "SELECT current_user::text, coalesce(current_setting('app.tenant_id', true), ''),"
    " coalesce(current_setting('app.actor_id', true), ''),"
    " coalesce(current_setting('app.request_id', true), '')"
)
_SET_SESSION_CONTEXT = (
    "SELECT set_config('role', %s, false), set_config('app.tenant_id', %s, false),"
    " set_config('app.actor_id', %s, false), set_config('app.request_id', %s, false)"
)


@pytest.fixture(autouse=True)
def _test_code_runs_as_platform_role(request):
    names = set(request.fixturenames)
    if not (
        request.node.get_closest_marker("django_db")
        or names & {"db", "transactional_db", "django_db_reset_sequences", "live_server"}
    ):
        yield
        return
    request.getfixturevalue("_django_db_helper")
    if connection.vendor != "postgresql":
        yield
        return
    _raw_execute(f'SET ROLE "{platform_role()}"')
    yield
    try:
        _raw_execute("RESET ROLE")  # a transactional test's flush truncates, as the owner
        _raw_execute("RESET app.tenant_id")
    except Exception:  # noqa: BLE001, S110  (a test may leave its connection closed or broken)
        pass


_client_request = Client.request


def _request_as_the_application(self, **request):
    if connection.vendor != "postgresql" or db_roles.in_owner_mode():
        return _client_request(self, **request)
    try:
        saved = _raw_execute(_SESSION_CONTEXT)[0]
    except RuntimeError:  # no database access in this test
        return _client_request(self, **request)
    _raw_execute(_SET_SESSION_CONTEXT, [app_role(), "", "", ""])
    try:
        return _client_request(self, **request)
    finally:
        if connection.connection is not None and not connection.needs_rollback:
            _raw_execute(_SET_SESSION_CONTEXT, list(saved))


Client.request = _request_as_the_application


@pytest.fixture
def tenant():
    return TenantFactory(name="Acme Helpline", slug="acme")


@pytest.fixture
def other_tenant():
    return TenantFactory(name="Other Org", slug="other")


@pytest.fixture
def make_user(tenant) -> Callable[..., User]:
    def make(role: str = Role.AGENT, tenant=tenant, **kwargs) -> User:
        return UserFactory(role=role, tenant=tenant, **kwargs)

    return make


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN)


@pytest.fixture
def other_admin(make_user, other_tenant):
    return make_user(Role.ADMIN, tenant=other_tenant)


def obtain_token(user: User) -> str:
    client = APIClient()
    response = client.post(
        "/api/auth/token/", {"email": user.email, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()["access"]


@pytest.fixture
def client_for() -> Callable[[User], APIClient]:
    """An APIClient authenticated with a real token obtained from the API."""

    def make(user: User) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {obtain_token(user)}")
        return client

    return make


@pytest.fixture
def admin_client(client_for, admin) -> APIClient:
    return client_for(admin)
