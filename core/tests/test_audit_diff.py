"""An UPDATE's audit event keeps what changed (old and new values, plus the id), and replaying a
row's events rebuilds it: nothing escapes the audit though it no longer stores rows twice."""

import json

import pytest
from django.db import connection, transaction

from accounts.models import Role
from cases.tests.conftest import runs_url
from core.models import AuditEvent
from core.tenancy import set_db_context
from tests.factories import CaseFactory, WorkflowFactory
from workflows.models import HumanTask, StepRun, TaskStatus, Workflow

pytestmark = pytest.mark.django_db


def events(table, object_id):
    return list(AuditEvent.objects.filter(table_name=table, object_id=object_id).order_by("id"))


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
    assert (insert.operation, insert.old_data) == ("INSERT", None)
    row = row_now("workflows_workflow", workflow.pk) | {"name": "Before"}
    assert None in row.values()  # left out: a missing column is NULL
    assert insert.new_data == {k: v for k, v in row.items() if v is not None}
    assert update.operation == "UPDATE"
    assert update.old_data == {"id": workflow.pk, "name": "Before"}
    assert update.new_data == {"id": workflow.pk, "name": "After"}
    assert update.tenant_id == tenant.pk


def test_an_update_that_changes_nothing_is_not_recorded(tenant):
    """Decided: a no-op UPDATE leaves nothing to replay, so it leaves no event."""
    workflow = WorkflowFactory(tenant=tenant, name="Same")
    in_tenant(tenant, lambda: Workflow.objects.filter(pk=workflow.pk).update(name="Same"))
    assert [e.operation for e in events("workflows_workflow", workflow.pk)] == ["INSERT"]


def test_replaying_the_events_rebuilds_the_row_and_a_delete_keeps_the_row(tenant):
    workflow = WorkflowFactory(tenant=tenant, name="One")

    def edits():
        Workflow.objects.filter(pk=workflow.pk).update(name="Two", description="d")
        Workflow.objects.filter(pk=workflow.pk).update(name="Three")

    in_tenant(tenant, edits)
    final = row_now("workflows_workflow", workflow.pk)
    rebuilt = dict.fromkeys(final)
    for event in events("workflows_workflow", workflow.pk):
        rebuilt |= event.new_data
    assert rebuilt == final
    in_tenant(tenant, lambda: Workflow.objects.filter(pk=workflow.pk).delete())
    delete = events("workflows_workflow", workflow.pk)[-1]
    assert (delete.operation, delete.new_data) == ("DELETE", None)
    assert dict.fromkeys(final) | delete.old_data == final


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
    assert change.operation == "UPDATE"
    assert change.old_data == {"id": user.pk}
    assert change.new_data == {"id": user.pk, "password_changed": True}
