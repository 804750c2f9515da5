"""The web process never asks for the platform role: in production its login cannot take it.

What the web process does for automated steps after a request commits (publish the event, or
with no broker run the step here) works as the event's tenant, and the message it publishes
carries that tenant, so the worker needs no cross-tenant lookup either.
"""

import uuid

import pytest
from django.core import mail
from kombu import Connection

from accounts.models import Role
from cases.tests.conftest import runs_url
from core import tenancy
from tests.factories import CaseFactory, StepFactory, WorkflowFactory
from workflows.engine import automation, outbox
from workflows.models import OutboxEvent, RunStatus, WorkflowRun
from workflows.tests.test_celery_integration import rabbitmq as rabbitmq_fixture

pytestmark = pytest.mark.django_db(transaction=True)
rabbitmq = rabbitmq_fixture


@pytest.fixture
def no_bypass(monkeypatch):
    """Fails the test wherever the code under test asks for the bypass."""
    asked = []

    def guarded(**kwargs):
        if kwargs.get("bypass"):
            asked.append(kwargs)
        return tenancy.set_db_context(**kwargs)

    monkeypatch.setattr(automation, "set_db_context", guarded)
    monkeypatch.setattr(outbox, "set_db_context", guarded)
    return asked


def email_workflow(tenant):
    workflow = WorkflowFactory(tenant=tenant, name="Notify")
    StepFactory(
        workflow=workflow,
        order=0,
        name="Tell supervisors",
        action="send_email",
        config={"to": {"role": "SUPERVISOR"}, "subject": "{step}", "body": "{workflow}"},
    )
    return workflow


def test_no_broker_the_step_runs_in_the_request_process_as_its_tenant(
    tenant, make_user, client_for, no_bypass, settings
):
    settings.CELERY_BROKER_URL = ""
    make_user(Role.SUPERVISOR, email="boss@acme.test")
    case = CaseFactory(tenant=tenant)
    client = client_for(make_user(Role.AGENT))
    response = client.post(
        runs_url(case.pk), {"workflow": email_workflow(tenant).pk}, format="json"
    )
    assert response.status_code == 201, response.json()
    run = WorkflowRun.objects.unscoped().get(pk=response.json()["id"])
    assert run.status == RunStatus.COMPLETED
    assert [m.to for m in mail.outbox] == [["boss@acme.test"]]
    assert no_bypass == []


@pytest.mark.broker
def test_with_a_broker_the_publish_after_commit_works_as_the_tenant(
    tenant,
    make_user,
    client_for,
    no_bypass,
    settings,
    rabbitmq,  # noqa: F811
):
    settings.CELERY_TASK_DEFAULT_QUEUE = f"wf-web-roles-{uuid.uuid4().hex[:8]}"
    case = CaseFactory(tenant=tenant)
    client = client_for(make_user(Role.AGENT))
    try:
        response = client.post(
            runs_url(case.pk), {"workflow": email_workflow(tenant).pk}, format="json"
        )
        assert response.status_code == 201, response.json()
        assert OutboxEvent.objects.unscoped().get().dispatched_at is not None
        with Connection(settings.CELERY_BROKER_URL) as conn:
            message = conn.SimpleQueue(settings.CELERY_TASK_DEFAULT_QUEUE).get(timeout=10)
            assert message.headers["kwargsrepr"].find(f"'tenant_id': {tenant.pk}") >= 0
            message.ack()
    finally:
        with Connection(settings.CELERY_BROKER_URL) as conn:
            conn.default_channel.queue_delete(settings.CELERY_TASK_DEFAULT_QUEUE)
    assert no_bypass == []
