"""The audit trail and the transition log are partitioned by month (core.partitions): the poller
makes the months ahead, and the policy, grants and append-only rule hold on every partition."""

import pytest
from django.db import DatabaseError, connection, transaction

from core import partitions
from core.models import AuditEvent
from core.rls import app_role
from tests.factories import WorkflowFactory
from workflows.engine import jobs

pytestmark = pytest.mark.django_db

THIS, NEXT = partitions.months_ahead()


def one(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def as_owner():
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL ROLE NONE")


@pytest.mark.parametrize("parent", partitions.PARTITIONED)
def test_a_partition_for_next_month_exists_after_the_poller_runs(parent, monkeypatch):
    name = f"{parent}_p{NEXT:%Y%m}"
    as_owner()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE "{name}"')
        cursor.execute("RESET ROLE")
    assert one("SELECT to_regclass(%s)", [name]) == (None,)
    monkeypatch.setattr(partitions, "_next_check", 0.0)
    jobs.run_due()
    assert one("SELECT to_regclass(%s)::text", [name]) == (name,)
    assert one(
        "SELECT c.relrowsecurity AND c.relforcerowsecurity AND c.relispartition"
        " AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)"
        " FROM pg_class c WHERE c.oid = %s::regclass",
        [name],
    ) == (True,)
    assert one("SELECT has_table_privilege(%s, %s, 'SELECT')", [app_role(), name]) == (False,)
    # Idempotent: a second run in the same hour does nothing, nor does a forced one.
    assert partitions.ensure_ahead() == []


def test_rows_land_in_this_months_partition_and_history_stays_unchangeable(tenant):
    WorkflowFactory(tenant=tenant)
    event = AuditEvent.objects.filter(table__name="workflows_workflow").first()
    assert one(
        "SELECT tableoid::regclass::text FROM core_auditevent WHERE id = %s", [event.pk]
    ) == (f"core_auditevent_p{THIS:%Y%m}",)
    partition = f"core_auditevent_p{THIS:%Y%m}"
    # The application role cannot reach a partition by its name...
    with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
        one(f'SELECT count(*) FROM "{partition}"')  # noqa: S608
    # ... and the owner, who can, still meets the append-only trigger there.
    as_owner()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        one(f'DELETE FROM "{partition}" WHERE id = %s RETURNING id', [event.pk])  # noqa: S608
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(operation="D")


def test_the_default_partition_is_empty_and_secured():
    as_owner()
    for parent in partitions.PARTITIONED:
        default = f"{parent}_default"
        assert one(f'SELECT count(*) FROM "{default}"') == (0,)  # noqa: S608
        assert one("SELECT has_table_privilege(%s, %s, 'INSERT')", [app_role(), default]) == (
            False,
        )
