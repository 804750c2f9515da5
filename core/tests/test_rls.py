"""PostgreSQL row-level security: the database itself keeps tenants apart."""

import pytest
from django.db import DatabaseError, connection, transaction

from accounts.models import Role
from core.rls import EXEMPT_TABLES, app_role
from core.tenancy import set_db_context
from tests.factories import StepFactory, WorkflowFactory
from workflows import selectors
from workflows.models import Workflow

pytestmark = pytest.mark.django_db


def scalar(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def rows(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def tenant_tables():
    return [
        name
        for (name,) in rows(
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND column_name = 'tenant_id' "
            "ORDER BY table_name"
        )
        if name not in EXEMPT_TABLES
    ]


POLICY_CHECK = (
    "SELECT c.relrowsecurity AND c.relforcerowsecurity AND EXISTS ("
    " SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'tenant_isolation')"
    " FROM pg_class c"
    " WHERE c.relname = %s AND c.relnamespace = current_schema()::regnamespace"
)


def test_every_tenant_table_has_forced_rls_and_the_policy():
    tables = tenant_tables()
    assert {
        "workflows_workflow",
        "workflows_steprun",
        "approvals_transfer",
        "cases_case",
        "core_idempotencyrecord",
        "workflows_outboxevent",
    } <= set(tables)
    missing = [
        table
        for table in tables
        if rows(
            POLICY_CHECK,
            [table],
        )
        != [(True,)]
    ]
    assert missing == [], f"tables with tenant_id but no forced RLS policy: {missing}"


def test_application_role_is_powerless_beyond_dml():
    role = app_role()
    assert rows(
        "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles "
        "WHERE rolname = %s",
        [role],
    ) == [(False, False, False, False)]
    assert scalar("SELECT count(*) FROM pg_tables WHERE tableowner = %s", [role]) == 0
    truncatable = [
        table
        for table in tenant_tables()
        if scalar("SELECT has_table_privilege(%s, %s, 'TRUNCATE')", [role, table])
    ]
    assert truncatable == []
    assert scalar("SELECT has_table_privilege(%s, 'workflows_workflow', 'SELECT')", [role])


@pytest.fixture
def two_tenants_workflows(tenant, other_tenant):
    mine = WorkflowFactory.create_batch(2, tenant=tenant)
    theirs = WorkflowFactory.create_batch(3, tenant=other_tenant)
    StepFactory(workflow=theirs[0], order=0)
    return mine, theirs


def test_raw_sql_is_scoped_by_the_database(
    two_tenants_workflows, tenant, other_tenant, as_app_role_later
):
    mine, theirs = two_tenants_workflows
    as_app_role_later()
    assert scalar("SELECT count(*) FROM workflows_workflow") == 0  # no tenant: no rows
    set_db_context(tenant_id=tenant.pk)
    assert sorted(r[0] for r in rows("SELECT id FROM workflows_workflow")) == sorted(
        w.pk for w in mine
    )
    assert scalar("SELECT count(*) FROM workflows_step") == 0
    # Writing another tenant's row is refused by the policy's WITH CHECK.
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE workflows_workflow SET tenant_id = %s WHERE id = %s",
            [other_tenant.pk, mine[0].pk],
        )
    with pytest.raises(DatabaseError), transaction.atomic():
        Workflow.objects.create(tenant=other_tenant, name="smuggled")
    # Updating another tenant's row silently matches nothing.
    assert Workflow.objects.unscoped().filter(pk=theirs[0].pk).update(name="x") == 0
    set_db_context(tenant_id=other_tenant.pk)
    assert scalar("SELECT count(*) FROM workflows_workflow") == 3
    set_db_context(bypass=True)
    assert scalar("SELECT count(*) FROM workflows_workflow") == 5


def test_the_api_works_under_the_app_role(
    two_tenants_workflows, tenant, make_user, client_for, as_app_role_later
):
    mine, theirs = two_tenants_workflows
    client = client_for(make_user(Role.ADMIN))
    as_app_role_later()
    body = client.get(f"/api/tenants/{tenant.pk}/workflows/").json()
    assert sorted(w["id"] for w in body["results"]) == sorted(w.pk for w in mine)
    created = client.post(
        f"/api/tenants/{tenant.pk}/workflows/", {"name": "Under RLS"}, format="json"
    )
    assert created.status_code == 201
    step = client.post(
        f"/api/workflows/{created.json()['id']}/steps/",
        {"name": "Assess", "order": 0, "action": "check_safety"},
        format="json",
    )
    assert step.status_code == 201
    assert client.get(f"/api/tenants/{tenant.pk}/workflows/{theirs[0].pk}/").status_code == 404


def test_a_scoping_bug_in_a_view_is_still_stopped_by_the_database(
    two_tenants_workflows, tenant, make_user, client_for, monkeypatch, as_app_role_later
):
    mine, _ = two_tenants_workflows
    client = client_for(make_user(Role.VIEWER))
    # Simulate a bug: the selector forgets the tenant filter entirely.
    monkeypatch.setattr(
        selectors, "workflow_list", lambda *, tenant: Workflow.objects.unscoped().order_by("id")
    )
    as_app_role_later()
    body = client.get(f"/api/tenants/{tenant.pk}/workflows/").json()
    assert sorted(w["id"] for w in body["results"]) == sorted(w.pk for w in mine)


@pytest.fixture
def as_app_role_later():
    """Call it once the test's data (and tokens) exist: then act as the application role."""

    def switch():
        with connection.cursor() as cursor:
            cursor.execute(f'SET LOCAL ROLE "{app_role()}"')

    yield switch
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")


# Tables whose only readers are cross-tenant platform processes (the outbox relay).
NO_TENANT_INDEX_NEEDED = {"workflows_outboxevent"}


def test_every_tenant_table_has_an_index_leading_with_tenant_id():
    leading = {
        table
        for (table,) in rows(
            "SELECT t.relname FROM pg_index i"
            " JOIN pg_class t ON t.oid = i.indrelid"
            " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = i.indkey[0]"
            " WHERE a.attname = 'tenant_id'"
        )
    }
    missing = sorted(set(tenant_tables()) - leading - NO_TENANT_INDEX_NEEDED)
    assert missing == [], f"tenant tables without a tenant-leading index: {missing}"


def test_unique_constraints_on_tenant_tables_include_tenant_id():
    """Uniqueness checks see through RLS: a unique key without tenant_id would let one tenant
    probe for another's values."""
    offending = rows(
        "SELECT t.relname, ix.relname FROM pg_index i"
        " JOIN pg_class t ON t.oid = i.indrelid JOIN pg_class ix ON ix.oid = i.indexrelid"
        " WHERE i.indisunique AND NOT i.indisprimary AND t.relname = ANY(%s)"
        " AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.oid"
        "   AND a.attname = 'tenant_id' AND a.attnum = ANY(i.indkey))",
        [tenant_tables()],
    )
    assert offending == []


def test_every_policy_is_core_rls_policy_partitions_included():
    """Tables and the histories' partitions carry the same policy text (migration core 0009
    rewrote it; a partition made later by the poller gets it from core_secure_partition)."""
    expressions = dict(
        rows(
            "SELECT c.relname, pg_get_expr(p.polqual, p.polrelid) FROM pg_policy p"
            " JOIN pg_class c ON c.oid = p.polrelid WHERE p.polname = 'tenant_isolation'"
        )
    )
    partitions = {name for name in expressions if name.endswith("_default")}
    assert {"core_auditevent_default", "workflows_statetransition_default"} <= partitions
    assert set(tenant_tables()) <= set(expressions)
    assert len(set(expressions.values())) == 1, set(expressions.values())


def test_the_policy_reads_its_settings_once_per_statement_not_per_row(
    two_tenants_workflows, tenant, as_app_role_later
):
    """The settings are InitPlans: a row is checked against two parameters, not two calls of
    current_setting() and current_user (3 times slower over 100,000 rows)."""
    as_app_role_later()
    set_db_context(tenant_id=tenant.pk)
    plan = scalar(
        "EXPLAIN (FORMAT JSON) SELECT count(*) FROM workflows_workflow WHERE tenant_id = %s",
        [tenant.pk],
    )
    text = str(plan)
    assert "InitPlan" in text
    filters = [
        node["Filter"]
        for node in _plan_nodes(plan[0]["Plan"])
        if "Filter" in node and "tenant_id" in node["Filter"]
    ]
    assert filters, text
    assert all("current_setting" not in f and "CURRENT_USER" not in f for f in filters), filters
    assert scalar("SELECT count(*) FROM workflows_workflow WHERE tenant_id = %s", [tenant.pk]) == 2


def _plan_nodes(node):
    yield node
    for child in node.get("Plans", []):
        yield from _plan_nodes(child)
