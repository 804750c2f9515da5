"""The trigger-based audit trail: nothing escapes it, nobody rewrites it."""

import pytest
from django.db import DatabaseError, connection, transaction

from accounts.models import Role
from core.audit import NOT_AUDITED
from core.models import AuditEvent
from core.rls import EXEMPT_TABLES, app_role
from core.tenancy import set_db_context
from tests.factories import StepFactory, WorkflowFactory
from workflows.models import Step, Workflow

pytestmark = pytest.mark.django_db


def events(table, object_id=None):
    qs = AuditEvent.objects.filter(table__name=table).order_by("id")
    if object_id is not None:
        qs = qs.filter(object_id=object_id)
    return list(qs)


def test_every_tenant_table_has_the_audit_trigger():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND column_name = 'tenant_id' "
            "AND NOT (table_name::text::regclass)::oid IN (SELECT inhrelid FROM pg_inherits)"
        )  # partitions (core.partitions) are the histories' own: never audited
        tables = {name for (name,) in cursor.fetchall()} - EXEMPT_TABLES - NOT_AUDITED
        cursor.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = 'audit_row'"
        )
        audited = {name for (name,) in cursor.fetchall()}
    assert "workflows_workflow" in tables
    assert sorted(tables - audited) == []


def test_api_writes_are_audited_with_actor_and_request_id(admin_client, admin, tenant, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]  # the test client: a trusted proxy
    response = admin_client.post(
        f"/api/tenants/{tenant.pk}/workflows/",
        {"name": "Audited"},
        format="json",
        HTTP_X_REQUEST_ID="req-audit-1",
    )
    workflow_id = response.json()["id"]
    admin_client.patch(
        f"/api/tenants/{tenant.pk}/workflows/{workflow_id}/", {"name": "Renamed"}, format="json"
    )
    history = events("workflows_workflow", workflow_id)
    assert [e.action for e in history] == ["INSERT", "UPDATE"]
    assert history[0].actor_id == admin.pk
    assert history[0].request_id == "req-audit-1"
    assert history[0].tenant_id == tenant.pk
    assert history[1].old_data["name"] == "Audited"
    assert history[1].new_data["name"] == "Renamed"


def test_bulk_and_queryset_and_raw_sql_writes_are_audited(tenant):
    workflow = WorkflowFactory(tenant=tenant)
    with transaction.atomic():
        set_db_context(tenant_id=tenant.pk, actor_id=None, request_id="bulk")
        steps = Step.objects.bulk_create(
            [
                Step(tenant=tenant, workflow=workflow, name=f"S{i}", order=i, action="check_safety")
                for i in range(3)
            ]
        )
        Step.objects.filter(workflow=workflow).update(name="same")
        with connection.cursor() as cursor:
            cursor.execute(
                'UPDATE workflows_step SET "order" = "order" + 10 WHERE id = %s', [steps[0].pk]
            )
        Step.objects.filter(pk=steps[2].pk).delete()
    ops = [(e.object_id, e.action) for e in events("workflows_step")]
    assert ops.count((steps[0].pk, "UPDATE")) == 2
    assert (steps[1].pk, "INSERT") in ops
    assert (steps[2].pk, "DELETE") in ops
    assert all(e.request_id == "bulk" for e in events("workflows_step"))


def test_history_cannot_be_changed(tenant):
    WorkflowFactory(tenant=tenant)
    event = events("workflows_workflow")[0]
    # The application's roles may not even try; the owner is stopped by the trigger.
    with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(operation="D")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL ROLE NONE")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(operation="D")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT has_table_privilege(%s, 'core_auditevent', 'UPDATE'),"
            " has_table_privilege(%s, 'core_auditevent', 'DELETE'),"
            " has_table_privilege(%s, 'core_auditevent', 'INSERT')",
            [app_role()] * 3,
        )
        assert cursor.fetchone() == (False, False, True)


def test_audit_log_api_filters_and_scopes(
    admin_client, tenant, other_tenant, make_user, client_for
):
    workflow = WorkflowFactory(tenant=tenant)
    StepFactory(workflow=workflow, order=0)
    theirs = WorkflowFactory(tenant=other_tenant)
    url = "/api/audit-log/"
    body = admin_client.get(
        url, {"object_type": "workflows.workflow", "object_id": workflow.pk}
    ).json()
    assert body["count"] == 1
    item = body["results"][0]
    assert (item["object_type"], item["object_id"], item["operation"]) == (
        "workflows.workflow",
        workflow.pk,
        "insert",
    )
    assert (
        admin_client.get(url, {"object_type": "workflows.workflow", "object_id": theirs.pk}).json()[
            "count"
        ]
        == 0
    )
    everything = admin_client.get(url, {"page_size": 200}).json()["results"]
    assert {e["object_type"] for e in everything} == {
        "accounts.user",
        "workflows.workflow",
        "workflows.step",
    }
    assert admin_client.get(url, {"object_type": "nope.nope"}).status_code == 400
    assert admin_client.get(url, {"object_id": "x"}).status_code == 400
    assert client_for(make_user(Role.SUPERVISOR)).get(url).status_code == 200
    assert client_for(make_user(Role.AGENT)).get(url).status_code == 403
    for method in ("post", "put", "patch", "delete"):
        assert getattr(admin_client, method)(url, {}, format="json").status_code == 405
    assert Workflow.objects.filter(pk=workflow.pk).exists()
