"""An UPDATE's audit event keeps what changed (old and new values, plus the id), and replaying a
row's events rebuilds it: nothing escapes the audit though it no longer stores rows twice."""

import json

import pytest
from django.db import connection, transaction

from accounts.models import Role
from cases.tests.conftest import runs_url
from core.models import AuditEvent
from core.tenancy import set_db_context
from tests.factories import CaseFactory, UserFactory, WorkflowFactory
from workflows.models import HumanTask, StepRun, TaskStatus, Workflow

pytestmark = pytest.mark.django_db


def events(table, object_id):
    return list(AuditEvent.objects.filter(table__name=table, object_id=object_id).order_by("id"))


def row_now(table, pk):
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT to_jsonb(t) FROM "{table}" t WHERE id = %s', [pk])  # noqa: S608
        (row,) = cursor.fetchone()
    return json.loads(row)  # a raw cursor returns jsonb as text


def in_tenant(tenant, work):
    with transaction.atomic():
        set_db_context(tenant_id=tenant.pk, actor_id=None, request_id=None)
        work()


def test_an_update_of_one_column_keeps_just_that_column_and_the_id(tenant):
    workflow = WorkflowFactory(tenant=tenant, name="Before")
    in_tenant(tenant, lambda: Workflow.objects.filter(pk=workflow.pk).update(name="After"))
    insert, update = events("workflows_workflow", workflow.pk)
    assert (insert.action, insert.old_data) == ("INSERT", None)
    row = row_now("workflows_workflow", workflow.pk) | {"name": "Before"}
    assert None in row.values()  # left out: a missing column is NULL
    assert insert.new_row == {k: v for k, v in row.items() if v is not None}
    assert update.action == "UPDATE"
    assert update.old_row == {"id": workflow.pk, "name": "Before"}
    assert update.new_row == {"id": workflow.pk, "name": "After"}
    assert update.tenant_id == tenant.pk


def test_an_update_that_changes_nothing_is_not_recorded(tenant):
    """Decided: a no-op UPDATE leaves nothing to replay, so it leaves no event."""
    workflow = WorkflowFactory(tenant=tenant, name="Same")
    in_tenant(tenant, lambda: Workflow.objects.filter(pk=workflow.pk).update(name="Same"))
    assert [e.action for e in events("workflows_workflow", workflow.pk)] == ["INSERT"]


def test_replaying_the_events_rebuilds_the_row_and_a_delete_keeps_the_row(tenant):
    workflow = WorkflowFactory(tenant=tenant, name="One")

    def edits():
        Workflow.objects.filter(pk=workflow.pk).update(name="Two", description="d")
        Workflow.objects.filter(pk=workflow.pk).update(name="Three")

    in_tenant(tenant, edits)
    final = row_now("workflows_workflow", workflow.pk)
    rebuilt = dict.fromkeys(final)
    for event in events("workflows_workflow", workflow.pk):
        rebuilt |= event.new_row
    assert rebuilt == final
    in_tenant(tenant, lambda: Workflow.objects.filter(pk=workflow.pk).delete())
    delete = events("workflows_workflow", workflow.pk)[-1]
    assert (delete.action, delete.new_data) == ("DELETE", None)
    assert dict.fromkeys(final) | delete.old_row == final


def test_the_step_runs_newest_event_carries_its_result(tenant, make_user, client_for, admin_client):
    """The console's StepResult reads `new_data.result` of the step run's newest audit event."""
    supervisor, agent = make_user(Role.SUPERVISOR), make_user(Role.AGENT)
    workflow = WorkflowFactory(tenant=tenant)
    step = {"name": "Sign off", "order": 1, "action": "approval"}
    created = admin_client.post(f"/api/workflows/{workflow.pk}/steps/", step, "json")
    assert created.status_code == 201
    case = CaseFactory(tenant=tenant)
    run = client_for(agent).post(runs_url(case.pk), {"workflow": workflow.pk}, "json").json()
    task = HumanTask.objects.get(run_id=run["id"], status=TaskStatus.PENDING)
    decided = client_for(supervisor).post(f"/api/tasks/{task.pk}/approve/", {}, "json")
    assert decided.status_code == 200, decided.json()
    newest = admin_client.get(
        "/api/audit-log/",
        {"object_type": "workflows.steprun", "object_id": task.step_run_id, "page_size": 1},
    ).json()["results"][0]
    assert newest["operation"] == "update"
    assert newest["new_data"]["result"]["decision"] == "approved"
    assert "tenant_id" not in newest["new_data"]  # unchanged: left out
    assert StepRun.objects.get(pk=task.step_run_id).result == newest["new_data"]["result"]


def test_a_password_change_records_the_flag_not_the_hash(make_user, tenant):
    user = make_user(Role.AGENT)
    user.set_password("another-secret-9")
    in_tenant(tenant, lambda: user.save(update_fields=["password"]))
    change = events("accounts_user", user.pk)[-1]
    assert change.action == "UPDATE"
    assert change.old_row == {"id": user.pk, "password_changed": None}
    assert change.new_row == {"id": user.pk, "password_changed": True}


def stored(table, object_id):
    """The events as stored: (operation, old_data, new_data), payloads as compact json text."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT e.operation, e.old_data::text, e.new_data::text FROM core_auditevent e"
            " JOIN core_audittable t ON t.code = e.table_code"
            " WHERE t.name = %s AND e.object_id = %s ORDER BY e.id",
            [table, object_id],
        )
        return cursor.fetchall()


def replay(table, object_id, tenant_id):
    """Rebuild the row from the stored events alone, by the rule in core.audit: an INSERT's row
    plus the event's id and tenant_id, then each UPDATE's new side over the changed columns (a
    column named on either side; one missing from the new side became NULL)."""
    row: dict = {}
    for operation, old, new in stored(table, object_id):
        old, new = json.loads(old or "null"), json.loads(new or "null")
        if operation == "I":
            row = {"id": object_id, "tenant_id": tenant_id, **new}
        elif operation == "U":
            row |= {key: new.get(key) for key in [*old, *new]}
    return row


def test_stored_events_are_compact_and_replay_to_the_row_through_nulls_and_key_changes(tenant):
    workflow = WorkflowFactory(
        tenant=tenant, name="One", description="", updated_by=UserFactory(tenant=tenant)
    )

    def edits():
        Workflow.objects.filter(pk=workflow.pk).update(updated_by=None)
        Workflow.objects.filter(pk=workflow.pk).update(name="Two", description="set")

    in_tenant(tenant, edits)
    (insert, *updates) = stored("workflows_workflow", workflow.pk)
    assert insert[0] == "I"
    assert insert[1] is None
    assert '"id"' not in insert[2]
    assert '"tenant_id"' not in insert[2]
    assert ": " not in insert[2]
    assert ", " not in insert[2]
    # A column that became NULL is on the old side only; unchanged ones on neither.
    assert json.loads(updates[0][2]) == {}
    assert set(json.loads(updates[0][1])) == {"updated_by_id"}
    final = row_now("workflows_workflow", workflow.pk)
    assert final["updated_by_id"] is None
    assert replay("workflows_workflow", workflow.pk, tenant.pk) == {
        key: value for key, value in final.items() if value is not None
    } | {"updated_by_id": None}


def test_a_changed_tenant_or_id_is_kept_and_request_ids_keep_their_text(tenant, other_tenant):
    workflow = WorkflowFactory(tenant=tenant, name="Moved")
    with transaction.atomic():
        set_db_context(bypass=True, request_id="0123456789abcdef0123456789abcdef")
        Workflow.objects.filter(pk=workflow.pk).update(tenant_id=other_tenant.pk)
    with transaction.atomic():
        set_db_context(bypass=True, request_id="proxy-req.7")
        Workflow.objects.filter(pk=workflow.pk).update(name="Renamed")
    move, rename = AuditEvent.objects.filter(
        table__name="workflows_workflow", object_id=workflow.pk, operation="U"
    ).order_by("id")
    assert (move.old_data, move.new_data) == (
        {"tenant_id": tenant.pk},
        {"tenant_id": other_tenant.pk},
    )
    assert move.tenant_id == other_tenant.pk
    assert (move.request_uuid.hex, move.request_label) == ("0123456789abcdef0123456789abcdef", None)
    assert move.request_id == "0123456789abcdef0123456789abcdef"
    assert (rename.request_uuid, rename.request_id) == (None, "proxy-req.7")
