"""Keys of the tenant tables, read from the migrated catalogue: what distributing by tenant
(Citus) needs, and that it holds (README "Scaling out").

Citus distributes a table by a column (`tenant_id` here) and needs it in every PRIMARY KEY and
UNIQUE constraint, and in both sides of a foreign key between two distributed tables; a
foreign key to a reference table (copied to every node) needs nothing. Unique keys lead with
`tenant_id` (a house rule); primary keys are `(tenant_id, id)` and foreign keys between tenant
tables `(tenant_id, x_id) REFERENCES parent (tenant_id, id)`, made by the migrations with
`core.tenant_keys` (Django's model state keeps `id` as the primary key and says
`db_constraint=False` on those ForeignKeys). The one exception left is listed below.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Count

from approvals.models import SecurityGroup
from core.tenant_keys import REFERENCE_TABLES, foreign_key_name
from tests.factories import (
    SecurityGroupFactory,
    SecurityGroupMemberFactory,
    StepFactory,
    TenantFactory,
    WorkflowFactory,
)
from workflows.models import Step

pytestmark = pytest.mark.django_db

# Distributed tables whose primary key lacks tenant_id: none.
PK_WITHOUT_TENANT: set[str] = set()
# Distributed tables with no primary key at all (Citus needs none): the audit trail, as nothing
# looks an event up by id alone (README "Audit trail").
WITHOUT_PRIMARY_KEY = {"core_auditevent"}

# Foreign keys between two distributed tables without tenant_id: none.
FK_WITHOUT_TENANT: set[tuple[str, str, str]] = set()

# Tables without a plain index on id: every query of theirs names the tenant (the engine's
# statements, the selectors), so the primary key (tenant_id, id) serves them. Every other table
# keeps one: Django's save() and filter(pk=...), the platform role's and the job poller's
# statements and joins on id look rows up by id alone, and the row-level security policy's
# tenant test (OR'ed with the platform role's) is no index condition.
WITHOUT_ID_INDEX = {
    "core_auditevent",
    "workflows_notificationsent",
    "workflows_statetransition",
    "workflows_taskballot",
    "workflows_webhookdelivery",
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


def tenant_model_foreign_keys() -> list[models.ForeignKey]:
    """Django's ForeignKeys from one distributed table to another."""
    tables = distributed_tables()
    return [
        field
        for model in apps.get_models()
        if model._meta.db_table in tables
        for field in model._meta.local_fields
        if isinstance(field, models.ForeignKey) and field.related_model._meta.db_table in tables
    ]


def test_every_key_of_a_tenant_table_carries_tenant_id():
    """What Citus needs, on the migrated database: every key carries tenant_id (the audit
    trail has no primary key)."""
    unique, pks, fks = key_exceptions()
    assert (unique, pks - PK_WITHOUT_TENANT, fks) == ([], set(), set())
    primary = {table: columns for table, kind, _, columns, *_ in rows(KEYS_SQL) if kind == "p"}
    assert WITHOUT_PRIMARY_KEY.isdisjoint(primary)
    for table in distributed_tables() - PK_WITHOUT_TENANT - WITHOUT_PRIMARY_KEY:
        # (id, created_at): a partitioned history's key holds its partition column.
        assert primary[table] in (["tenant_id", "id"], ["tenant_id", "id", "created_at"]), table


def test_each_foreign_key_between_tenant_models_is_a_composite_key_checked_at_commit():
    """A ForeignKey between tenant models says db_constraint=False (Django's own key would be on
    id alone, which fails above) and its migration adds the composite key (CONTRIBUTING): one
    forgotten leaves the rows unchecked, and fails here."""
    fields = tenant_model_foreign_keys()
    assert len(fields) == 12
    found = {
        name: (table, columns, target, target_columns)
        for table, kind, name, columns, target, target_columns in rows(KEYS_SQL)
        if kind == "f"
    }
    deferred = {
        name
        for (name,) in rows(
            "SELECT conname FROM pg_constraint WHERE contype = 'f' AND condeferrable"
            " AND condeferred AND connamespace = current_schema()::regnamespace"
        )
    }
    for field in fields:
        table, target = field.model._meta.db_table, field.related_model._meta.db_table
        assert field.db_constraint is False, f"{table}.{field.column}: db_constraint=False"
        name = foreign_key_name(table, field.column)
        assert found.get(name) == (
            table,
            ["tenant_id", field.column],
            target,
            ["tenant_id", "id"],
        ), name
        assert name in deferred, name


def test_lookups_by_id_alone_keep_a_plain_index_on_id():
    indexed = {
        table
        for (table,) in rows(
            "SELECT c.relname FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid"
            " WHERE c.relnamespace = current_schema()::regnamespace AND NOT x.indisunique"
            " AND x.indnkeyatts = 1 AND x.indpred IS NULL"
            " AND (SELECT attname FROM pg_attribute WHERE attrelid = c.oid"
            "      AND attnum = x.indkey[0]) = 'id'"
        )
    }
    assert distributed_tables() - indexed == WITHOUT_ID_INDEX


@pytest.mark.django_db(transaction=True)
def test_a_row_cannot_point_at_another_tenants_row():
    """The composite key's own guarantee, beyond what Citus needs: a step of tenant A naming
    tenant B's workflow is refused at commit (Django's key on id alone accepted it; the check
    does not go through row-level security, so a guessed id was enough). Test code is the
    platform role, which may write any tenant's rows: the key alone stops it."""
    mine, theirs = WorkflowFactory(), WorkflowFactory(tenant=TenantFactory())
    refused = pytest.raises(IntegrityError, match="workflows_step_workflow_id_fk")
    with refused, transaction.atomic():  # checked at commit: the key is deferred
        Step.objects.create(
            tenant=mine.tenant, workflow_id=theirs.pk, name="x", order=1, action="noop"
        )
    assert not Step.objects.filter(workflow_id=theirs.pk).exists()
    StepFactory(workflow=mine)  # the same tenant's workflow: committed
    assert Step.objects.filter(tenant=mine.tenant, workflow=mine).count() == 1


def test_the_readme_distributes_every_tenant_table_after_the_tables_it_references():
    """README "Scaling out" lists the create_distributed_table calls: all the tables, each
    after its foreign keys' targets (Citus refuses a key to a table not yet distributed)."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    order = re.findall(r"create_distributed_table\('(\w+)'", readme)
    assert sorted(order) == sorted(distributed_tables())
    for table, kind, _, _, target, _ in rows(KEYS_SQL):
        if kind == "f" and table in order and target in order:
            assert order.index(target) < order.index(table), (table, target)


def test_an_aggregate_over_a_tenant_model_groups_by_the_whole_row():
    """Django would group by id alone, which PostgreSQL accepts only for a primary key: a
    tenant model's is (tenant_id, id), so core.tenant_keys.group_by_whole_rows makes Django
    group by every selected column (the security group list's member count)."""
    group = SecurityGroupFactory()
    SecurityGroupMemberFactory.create_batch(2, security_group=group)
    counted = SecurityGroup.objects.filter(pk=group.pk).annotate(n=Count("memberships"))
    assert [(g.name, g.n) for g in counted] == [(group.name, 2)]
    assert '"approvals_securitygroup"."tenant_id"' in str(counted.query).split("GROUP BY")[1]
