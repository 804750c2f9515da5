"""Per-tenant audit retention (core.partitions.core_audit_expire, run by the job poller): whole
months older than every tenant's retention are dropped, a tenant's rows older than its own
retention are deleted, and nobody else can delete anything, through the function or around it."""

from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DatabaseError, IntegrityError, connection, transaction

from core import partitions
from core.models import AuditEvent
from core.rls import app_role
from tenants.models import Tenant
from tests.factories import TenantFactory, UserFactory
from workflows.engine import jobs

pytestmark = pytest.mark.django_db


def one(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def month_start(days_ago: int) -> date:
    return (datetime.now(UTC) - timedelta(days=days_ago)).date().replace(day=1)


def old_event(tenant_id: int, days_ago: int) -> int:
    """An audit event written `days_ago` days ago, in its month's partition."""
    when = datetime.now(UTC) - timedelta(days=days_ago)
    one("SELECT core_ensure_month_partition('core_auditevent', %s)", [when.date()])
    return one(
        "INSERT INTO core_auditevent (tenant_id, object_id, created_at, table_code, operation,"
        " new_data) SELECT %s, 1, %s, code, 'I', '{}' FROM core_audittable"
        " WHERE name = 'workflows_workflow' RETURNING id",
        [tenant_id, when],
    )[0]


def ids(tenant_id: int) -> set[int]:
    return set(AuditEvent.objects.filter(tenant_id=tenant_id).values_list("id", flat=True))


def test_a_tenant_loses_rows_older_than_its_retention_and_a_forever_tenant_keeps_its_own():
    short = TenantFactory(audit_retention_days=30)
    forever = TenantFactory(audit_retention_days=None)
    old_short, recent_short = old_event(short.pk, 45), old_event(short.pk, 10)
    old_forever = old_event(forever.pk, 400)
    dropped, deleted = partitions.expire()
    assert dropped == []  # a tenant keeps its trail forever: no month goes whole
    assert deleted == {str(short.pk): 1}
    assert recent_short in ids(short.pk)
    assert old_short not in ids(short.pk)
    assert old_forever in ids(forever.pk)
    assert partitions.expire() == ([], {})  # idempotent


def test_a_month_older_than_every_retention_is_dropped_whole():
    Tenant.objects.update(audit_retention_days=60)
    tenant = TenantFactory(audit_retention_days=30)
    ancient, kept = old_event(tenant.pk, 200), old_event(tenant.pk, 5)
    name = f"core_auditevent_p{month_start(200):%Y%m}"
    assert one("SELECT to_regclass(%s)::text", [name]) == (name,)
    dropped, _ = partitions.expire()
    assert name in dropped
    assert f"core_auditevent_p{month_start(0):%Y%m}" not in dropped
    assert one("SELECT to_regclass(%s)", [name]) == (None,)
    assert ancient not in ids(tenant.pk)
    assert kept in ids(tenant.pk)


def test_the_poller_applies_retention_hourly(monkeypatch):
    tenant = TenantFactory(audit_retention_days=30)
    event = old_event(tenant.pk, 90)
    monkeypatch.setattr(partitions, "_next_check", 0.0)
    jobs.run_due()
    assert event not in ids(tenant.pk)


def as_app_role():
    with connection.cursor() as cursor:
        cursor.execute(f'SET LOCAL ROLE "{app_role()}"')


def test_the_application_role_cannot_delete_audit_rows_by_any_door():
    tenant = TenantFactory(audit_retention_days=None)
    event = old_event(tenant.pk, 90)
    # The function takes no argument: what it removes follows from retention and the clock.
    assert one("SELECT pronargs, prosecdef FROM pg_proc WHERE proname = 'core_audit_expire'") == (
        0,
        True,
    )
    as_app_role()
    one("SELECT set_config('app.tenant_id', %s, true)", [str(tenant.pk)])
    with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
        one("SELECT * FROM core_audit_expire()")
    # The flag that lifts the append-only rule is of no use without the owner's DELETE.
    one("SELECT set_config('core.audit_expiring', 'on', true)")
    with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
        one("DELETE FROM core_auditevent WHERE id = %s RETURNING id", [event])
    with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
        one("UPDATE core_auditevent SET new_data = '{}' WHERE id = %s RETURNING id", [event])
    # Nor can it shorten a tenant's retention below 30 days, nor rename a table's code.
    with pytest.raises(IntegrityError), transaction.atomic():
        one("UPDATE tenants_tenant SET audit_retention_days = 1 WHERE id = %s", [tenant.pk])
    with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
        one("UPDATE core_audittable SET name = 'x' WHERE name = 'workflows_workflow'")
    assert one("SELECT count(*) FROM core_auditevent WHERE id = %s", [event]) == (1,)


def test_the_owner_meets_the_append_only_rule_unless_the_function_lifts_it():
    tenant = TenantFactory()
    event = old_event(tenant.pk, 90)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL ROLE NONE")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        one("DELETE FROM core_auditevent WHERE id = %s", [event])


def test_retention_is_set_by_platform_staff_and_the_change_is_in_the_tenants_trail(client_for):
    tenant = TenantFactory()
    staff = client_for(UserFactory(tenant=None, is_staff=True))
    url = f"/api/tenants/{tenant.pk}/"
    for bad in (29, 0, -5, 36501, "abc", 1.5, True, "٣٠", "９０"):  # Unicode digits too
        response = staff.patch(url, {"audit_retention_days": bad}, format="json")
        assert response.status_code == 400, bad
        assert list(response.json()) == ["audit_retention_days"], bad
    response = staff.patch(url, {"audit_retention_days": 90}, format="json")
    assert response.status_code == 200
    assert response.json()["audit_retention_days"] == 90
    assert (
        staff.patch(url, {"audit_retention_days": None}, format="json").json()[
            "audit_retention_days"
        ]
        is None
    )
    changes = AuditEvent.objects.filter(tenant_id=tenant.pk, table__name="tenants_tenant")
    assert [(e.old_data, e.new_data) for e in changes.order_by("id")] == [
        ({}, {"audit_retention_days": 90}),
        ({"audit_retention_days": 90}, {}),
    ]
    assert (
        staff.post(
            "/api/tenants/", {"name": "Short", "audit_retention_days": 10}, format="json"
        ).status_code
        == 400
    )


def test_the_command_shows_and_sets_retention():
    tenant = TenantFactory(slug="north")
    out = StringIO()
    call_command("tenant_audit_retention", "north", "45", stdout=out)
    assert out.getvalue().strip() == "north: 45 days"
    tenant.refresh_from_db()
    assert tenant.audit_retention_days == 45
    out = StringIO()
    call_command("tenant_audit_retention", "north", "forever", stdout=out)
    assert out.getvalue().strip() == "north: forever"
    with pytest.raises(Exception, match="30 to 36500"):
        call_command("tenant_audit_retention", "north", "7")


def test_the_hourly_step_works_from_a_connection_of_the_application_role(monkeypatch):
    """The relay and workers call run_due on connections that start as the application role:
    the hourly step takes the platform role for its own work only, then gives the caller's back."""
    tenant = TenantFactory(audit_retention_days=30)
    event = old_event(tenant.pk, 90)
    as_app_role()
    one("SELECT set_config('app.tenant_id', %s, true)", [str(tenant.pk)])
    monkeypatch.setattr(partitions, "_next_check", 0.0)
    partitions.ensure_ahead_hourly()
    assert one("SELECT current_user, current_setting('app.tenant_id')") == (
        app_role(),
        str(tenant.pk),
    )
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
    assert event not in ids(tenant.pk)


def old_transition(tenant_id: int, days_ago: int) -> int:
    """A run's transition logged `days_ago` days ago, in its month's partition."""
    when = datetime.now(UTC) - timedelta(days=days_ago)
    one("SELECT core_ensure_month_partition('workflows_statetransition', %s)", [when.date()])
    return one(
        "INSERT INTO workflows_statetransition (tenant_id, object_type, object_id, from_status,"
        " to_status, comment, created_at) VALUES (%s, 'run', 1, 'running', 'completed', '', %s)"
        " RETURNING id",
        [tenant_id, when],
    )[0]


def transitions(tenant_id: int) -> set[int]:
    from workflows.models import StateTransition

    return set(StateTransition.objects.filter(tenant_id=tenant_id).values_list("id", flat=True))


def test_the_transition_log_keeps_as_long_as_the_audit_does():
    """The same setting, the same two steps: a tenant's older rows go, a forever tenant keeps
    its own, and a month older than every retention goes whole."""
    short = TenantFactory(audit_retention_days=30)
    forever = TenantFactory(audit_retention_days=None)
    old_short, recent_short = old_transition(short.pk, 45), old_transition(short.pk, 10)
    old_forever = old_transition(forever.pk, 400)
    dropped, deleted = partitions.expire()
    assert dropped == []
    assert deleted == {str(short.pk): 1}
    assert transitions(short.pk) >= {recent_short}
    assert old_short not in transitions(short.pk)
    assert old_forever in transitions(forever.pk)
    Tenant.objects.update(audit_retention_days=60)
    ancient = old_transition(short.pk, 200)
    name = f"workflows_statetransition_p{month_start(200):%Y%m}"
    dropped, _ = partitions.expire()
    assert name in dropped
    assert one("SELECT to_regclass(%s)", [name]) == (None,)
    assert ancient not in transitions(short.pk)
    assert recent_short in transitions(short.pk)
