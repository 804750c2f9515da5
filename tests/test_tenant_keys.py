"""Keys of the tenant tables, read from the migrated catalogue: what distributing by tenant
(Citus) needs, what holds today, and the exceptions, listed one by one (README "Scaling out").

Citus distributes a table by a column (`tenant_id` here) and needs it in every PRIMARY KEY and
UNIQUE constraint, and in both sides of a foreign key between two distributed tables; a
foreign key to a reference table (copied to every node) needs nothing. Unique keys already
lead with `tenant_id` (a house rule). Primary keys are `id` alone, because Django models
need a single-column primary key that other models' ForeignKeys can reference (5.2's
CompositePrimaryKey cannot be the target of a ForeignKey), so foreign keys between tenant
tables are on `id` alone too. Those are the allow-lists below; `test_the_citus_shape...`
applies the change they need, on PostgreSQL, and rolls it back.
"""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from core.rls import platform_role

pytestmark = pytest.mark.django_db

# Reference tables under Citus: read before a tenant is known (login by email, which is unique
# across tenants; platform staff have no tenant), small, written rarely.
REFERENCE_TABLES = {"accounts_user", "tenants_tenant"}

# Distributed tables whose primary key is `id` alone (every one of them, today).
PK_WITHOUT_TENANT = {
    "accounts_delegation",
    "accounts_notificationpreference",
    "approvals_securitygroup",
    "approvals_securitygroupmember",
    "approvals_transfer",
    "approvals_workflowassignment",
    "cases_case",
    "core_idempotencyrecord",
    "workflows_businesscalendar",
    "workflows_humantask",
    "workflows_job",
    "workflows_notificationsent",
    "workflows_outboxevent",
    "workflows_statetransition",
    "workflows_step",
    "workflows_steprun",
    "workflows_taskballot",
    "workflows_webhookdelivery",
    "workflows_webhooksubscription",
    "workflows_workflow",
    "workflows_workflowrun",
}

# Foreign keys between two distributed tables on `id` alone: (table, column, referenced table).
FK_WITHOUT_TENANT = {
    ("approvals_securitygroupmember", "security_group_id", "approvals_securitygroup"),
    ("approvals_transfer", "security_group_id", "approvals_securitygroup"),
    ("approvals_workflowassignment", "security_group_id", "approvals_securitygroup"),
    ("approvals_workflowassignment", "workflow_template_id", "workflows_workflow"),
    ("workflows_humantask", "run_id", "workflows_workflowrun"),
    ("workflows_humantask", "step_run_id", "workflows_steprun"),
    ("workflows_notificationsent", "task_id", "workflows_humantask"),
    ("workflows_step", "workflow_id", "workflows_workflow"),
    ("workflows_steprun", "run_id", "workflows_workflowrun"),
    ("workflows_taskballot", "task_id", "workflows_humantask"),
    ("workflows_webhookdelivery", "subscription_id", "workflows_webhooksubscription"),
    ("workflows_workflowrun", "workflow_id", "workflows_workflow"),
}


def rows(sql: str, params: tuple = ()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def distributed_tables() -> set[str]:
    return {
        name
        for (name,) in rows(
            "SELECT table_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND column_name = 'tenant_id'"
        )
    } - REFERENCE_TABLES


# (table, kind, name, [columns]) of every key: kind p (primary), u (unique constraint or
# unique index, partial ones included), f (foreign key, with its referenced table and columns).
KEYS_SQL = """
SELECT c.relname, CASE WHEN x.indisprimary THEN 'p' ELSE 'u' END, i.relname,
       ARRAY(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY k(n, o)
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.n ORDER BY k.o)::text[],
       NULL::name, NULL::text[]
  FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
 WHERE c.relnamespace = current_schema()::regnamespace AND x.indisunique
UNION ALL
SELECT c.relname, 'f', k.conname,
       ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(n, o)
             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.o)::text[],
       r.relname,
       ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY u(n, o)
             JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.o)::text[]
  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class r ON r.oid = k.confrelid
 WHERE c.relnamespace = current_schema()::regnamespace AND k.contype = 'f'
"""  # noqa: E501


def _carries_tenant(columns: list[str], target_columns: list[str]) -> bool:
    """Citus: the distribution column on both sides of a foreign key, one matched to the other."""
    return ("tenant_id", "tenant_id") in zip(columns, target_columns, strict=True)


def key_exceptions() -> tuple[list[str], set[str], set[tuple[str, str, str]]]:
    """Unique keys not led by tenant_id; primary keys and foreign keys without it."""
    tables = distributed_tables()
    unique, pks, fks = [], set(), set()
    for table, kind, name, columns, target, target_columns in rows(KEYS_SQL):
        if table not in tables:
            continue
        if kind == "u" and columns[0] != "tenant_id":
            unique.append(f"{table}.{name} {columns}")
        elif kind == "p" and "tenant_id" not in columns:
            pks.add(table)
        elif kind == "f" and target in tables and not _carries_tenant(columns, target_columns):
            fks.add((table, columns[-1], target))
    return unique, pks, fks


def test_the_catalogue_is_read():
    tables = distributed_tables()
    assert {"approvals_transfer", "workflows_humantask", "core_auditevent"} <= tables
    assert "accounts_user" not in tables
    kinds = {(t, kind) for t, kind, *_ in rows(KEYS_SQL)}
    assert {("approvals_transfer", "p"), ("approvals_transfer", "u"), ("workflows_step", "f")} <= (
        kinds
    )


def test_every_unique_key_of_a_tenant_table_leads_with_tenant_id():
    unique, _, _ = key_exceptions()
    assert unique == [], "a unique key must lead with tenant_id (house rule; Citus needs it)"


def test_primary_and_foreign_keys_without_tenant_id_are_exactly_the_listed_ones():
    """A new tenant table or foreign key fails here until listed (and so until someone has read
    README "Scaling out"); a key fixed to include tenant_id fails until removed from the list."""
    _, pks, fks = key_exceptions()
    assert pks == PK_WITHOUT_TENANT
    assert fks == FK_WITHOUT_TENANT


def citus_key_sql() -> list[str]:
    """The keys Citus needs, as DDL for the owner: (tenant_id, id) primary keys, and foreign
    keys between distributed tables that carry tenant_id. README "Scaling out" shows it."""
    fks = {
        (table, columns[-1], target): name
        for table, kind, name, columns, target, _ in rows(KEYS_SQL)
        if kind == "f"
    }
    pk_names = {table: name for table, kind, name, *_ in rows(KEYS_SQL) if kind == "p"}
    # A partitioned table's key keeps its partition column (the histories: id, created_at).
    pk_columns = {table: cols for table, kind, _, cols, *_ in rows(KEYS_SQL) if kind == "p"}
    statements = [
        f'ALTER TABLE "{key[0]}" DROP CONSTRAINT "{fks[key]}"' for key in sorted(FK_WITHOUT_TENANT)
    ]
    statements += [
        f'ALTER TABLE "{table}" DROP CONSTRAINT "{pk_names[table]}",'
        f" ADD PRIMARY KEY (tenant_id, {', '.join(pk_columns[table])})"
        for table in sorted(PK_WITHOUT_TENANT)
    ]
    statements += [
        f'ALTER TABLE "{table}" ADD FOREIGN KEY (tenant_id, "{column}")'
        f' REFERENCES "{target}" (tenant_id, id) DEFERRABLE INITIALLY DEFERRED'
        for table, column, target in sorted(FK_WITHOUT_TENANT)
    ]
    return statements


def test_the_citus_shape_applies_on_postgresql_and_leaves_no_exception():
    """The README's DDL, as the owner, inside the test's transaction (rolled back after): every
    key then has tenant_id. It also shows why it is not a migration here: a Django ForeignKey
    to a tenant model is `REFERENCES table (id)`, which then has no unique key to point at."""
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")  # DDL needs the owner; test code is the platform role
        try:
            for statement in citus_key_sql():
                cursor.execute(statement)
            assert key_exceptions() == ([], set(), set())
            with pytest.raises(DatabaseError, match="no unique constraint"), transaction.atomic():
                cursor.execute(
                    'ALTER TABLE "workflows_step" ADD FOREIGN KEY ("workflow_id")'
                    ' REFERENCES "workflows_workflow" (id)'
                )
        finally:
            cursor.execute(f'SET ROLE "{platform_role()}"')
