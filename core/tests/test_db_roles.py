"""The roles the processes work as: row-level security applies to the API and the workers.

The API's connections switch to the application role on connect (`core.db_roles`); the bypass
for cross-tenant platform code is a role that only a login which is a member of it can take.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlparse, urlunparse

import psycopg
import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from psycopg import errors as pg_errors

from accounts.models import Role
from core.db_roles import switch_to_app_role
from core.rls import app_role, platform_role
from tests.factories import WorkflowFactory
from workflows import selectors

pytestmark = pytest.mark.django_db


def _dsn(user: str, password: str) -> str:
    db = connection.settings_dict
    parts = urlparse(f"postgres://{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}")
    return urlunparse(parts._replace(netloc=f"{user}:{password}@{parts.netloc}"))


@pytest.fixture
def login_role():
    """A throw-away login role (cluster-wide, so the name is unique), dropped afterwards."""
    created = []

    def make(member_of: str) -> str:
        name = f"wf_login_{secrets.token_hex(4)}"
        password = secrets.token_urlsafe(16)
        with psycopg.connect(_owner_dsn(), autocommit=True) as owner:
            owner.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{password}' IN ROLE \"{member_of}\"")
        created.append(name)
        return _dsn(name, password)

    yield make
    with psycopg.connect(_owner_dsn(), autocommit=True) as owner:
        for name in created:
            owner.execute(f"DROP ROLE IF EXISTS {name}")


def _owner_dsn() -> str:
    db = connection.settings_dict
    password = db.get("PASSWORD") or ""
    auth = f"{db['USER']}:{password}" if password else db["USER"]
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def test_requests_run_as_the_application_role_which_cannot_bypass(
    tenant, other_tenant, make_user, client_for, monkeypatch
):
    WorkflowFactory.create_batch(2, tenant=other_tenant)
    seen = {}
    real = selectors.workflow_list

    def spy(*, tenant):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_user::text, r.rolsuper, r.rolbypassrls"
                " FROM pg_roles r WHERE r.rolname = current_user"
            )
            seen["role"] = cursor.fetchone()
            # The old bypass was a setting any session could change: it opens nothing now.
            cursor.execute("SELECT set_config('app.rls_bypass', 'on', true)")
            cursor.execute(
                "SELECT count(*) FROM workflows_workflow WHERE tenant_id = %s", [other_tenant.pk]
            )
            seen["other_tenant_rows"] = cursor.fetchone()[0]
        return real(tenant=tenant)

    monkeypatch.setattr(selectors, "workflow_list", spy)
    client = client_for(make_user(Role.ADMIN))
    assert client.get(f"/api/tenants/{tenant.pk}/workflows/").status_code == 200
    assert seen == {"role": (app_role(), False, False), "other_tenant_rows": 0}


@pytest.mark.django_db(transaction=True)
def test_a_login_of_the_application_role_cannot_become_the_platform_role(
    tenant, other_tenant, login_role
):
    WorkflowFactory.create_batch(3, tenant=other_tenant)
    with psycopg.connect(login_role(app_role()), autocommit=True) as web:
        web.execute(f'SET ROLE "{app_role()}"')
        assert web.execute("SELECT count(*) FROM workflows_workflow").fetchone() == (0,)
        web.execute("SELECT set_config('app.rls_bypass', 'on', false)")
        assert web.execute("SELECT count(*) FROM workflows_workflow").fetchone() == (0,)
        with pytest.raises(pg_errors.InsufficientPrivilege):
            web.execute(f'SET ROLE "{platform_role()}"')
        web.execute(f'SET ROLE "{app_role()}"')
        web.execute("SELECT set_config('app.tenant_id', %s, false)", [str(other_tenant.pk)])
        assert web.execute("SELECT count(*) FROM workflows_workflow").fetchone() == (3,)


@pytest.mark.django_db(transaction=True)
def test_a_login_of_the_platform_role_sees_every_tenant_only_once_it_says_so(
    tenant, other_tenant, login_role
):
    WorkflowFactory.create_batch(2, tenant=tenant)
    WorkflowFactory.create_batch(3, tenant=other_tenant)
    with psycopg.connect(login_role(platform_role()), autocommit=True) as worker:
        worker.execute(f'SET ROLE "{app_role()}"')  # what every connection does on connect
        assert worker.execute("SELECT count(*) FROM workflows_workflow").fetchone() == (0,)
        worker.execute(f'SET ROLE "{platform_role()}"')
        assert worker.execute("SELECT count(*) FROM workflows_workflow").fetchone() == (5,)


class _FakeWrapper:
    """What `connection_created` hands the receiver: a vendor and a cursor()."""

    vendor = "postgresql"

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    def cursor(self):
        return self.conn.cursor()


@pytest.mark.django_db(transaction=True)
def test_start_up_refuses_a_superuser_login_unless_told(settings):
    db = connection.settings_dict
    with psycopg.connect(_owner_dsn(), autocommit=True) as conn:
        is_super = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not is_super.fetchone()[0]:
            pytest.skip(f"the suite's login {db['USER']} is not a superuser here")
        settings.DB_ALLOW_SUPERUSER = False
        with pytest.raises(ImproperlyConfigured, match="superuser or has BYPASSRLS"):
            switch_to_app_role(None, _FakeWrapper(conn))
        conn.execute("RESET ROLE")
        settings.DB_ALLOW_SUPERUSER = True
        switch_to_app_role(None, _FakeWrapper(conn))
        assert conn.execute("SELECT current_user::text").fetchone() == (app_role(),)


@pytest.mark.django_db(transaction=True)
def test_start_up_accepts_a_member_of_the_application_role(settings, login_role):
    settings.DB_ALLOW_SUPERUSER = False
    with psycopg.connect(login_role(app_role()), autocommit=True) as conn:
        switch_to_app_role(None, _FakeWrapper(conn))
        assert conn.execute("SELECT current_user::text").fetchone() == (app_role(),)


@pytest.mark.django_db(transaction=True)
def test_start_up_refuses_a_login_that_is_not_a_member_of_the_application_role(login_role):
    with psycopg.connect(_owner_dsn(), autocommit=True) as owner:
        name = f"wf_stranger_{secrets.token_hex(4)}"
        owner.execute(f"CREATE ROLE {name} LOGIN")
    try:
        dsn = _dsn(name, "x").replace(":x@", "@")
        with (
            psycopg.connect(dsn, autocommit=True) as conn,
            pytest.raises(ImproperlyConfigured, match="must be a member of"),
        ):
            switch_to_app_role(None, _FakeWrapper(conn))
    finally:
        with psycopg.connect(_owner_dsn(), autocommit=True) as owner:
            owner.execute(f"DROP ROLE IF EXISTS {name}")


@pytest.mark.django_db(transaction=True)
def test_every_connection_of_the_process_is_switched_on_connect():
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user::text, session_user::text")
        current, session = cursor.fetchone()
    assert current == app_role()
    assert session == settings.DATABASES["default"]["USER"]
