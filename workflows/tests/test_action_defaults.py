"""Seed 1's step is `name`, `order` and `action`: accepted for every action, with defaults that
work when the step runs; a key with no safe default (a webhook's URL) is a 400 naming it."""

import pytest
from django.core import mail

from accounts.models import Role
from approvals.tests.test_transfers import URL as TRANSFERS_URL
from cases.tests.conftest import runs_url
from tests.factories import (
    CaseFactory,
    SecurityGroupFactory,
    SecurityGroupMemberFactory,
    WorkflowAssignmentFactory,
    WorkflowFactory,
    WorkflowTemplateFactory,
)
from workflows.engine.registry import registry
from workflows.models import HumanTask, RunStatus, Step, TaskStatus, WorkflowRun

pytestmark = pytest.mark.django_db


def steps_url(workflow):
    return f"/api/workflows/{workflow.pk}/steps/"


def bare_step(action, name="Notify Supervisor", order=2):
    return {"name": name, "order": order, "action": action}


@pytest.mark.parametrize("action", [s.key for s in registry.all() if s.key != "webhook"])
def test_every_action_takes_the_seeds_bare_step(admin_client, tenant, action):
    workflow = WorkflowFactory(tenant=tenant)
    response = admin_client.post(steps_url(workflow), bare_step(action), format="json")
    assert response.status_code == 201, response.json()
    step = Step.objects.get(pk=response.json()["id"])
    assert step.config == registry.get(action).config_defaults()


def test_a_webhook_without_url_is_a_400_naming_it(admin_client, tenant):
    workflow = WorkflowFactory(tenant=tenant)
    response = admin_client.post(steps_url(workflow), bare_step("webhook"), format="json")
    assert response.status_code == 400
    assert response.json() == {"config": {"url": ["This field is required."]}}
    assert not Step.objects.exists()


def test_the_registry_shows_defaults_and_required_keys(admin_client):
    actions = {a["key"]: a for a in admin_client.get("/api/actions/").json()}
    email = actions["send_email"]
    assert email["config_required"] == []
    assert email["config_defaults"]["to"] == {"role": "SUPERVISOR"}
    assert "{workflow}" in email["config_defaults"]["subject"]
    assert "{step}" in email["config_defaults"]["subject"]
    assert actions["approval"]["config_defaults"]["approvers"] == {"default": True}
    assert actions["approval"]["config_required"] == []
    assert actions["webhook"]["config_required"] == ["url"]
    assert actions["webhook"]["config_defaults"] == {"timeout_s": 10, "max_attempts": 5}


def test_a_case_runs_through_a_defaulted_send_email_step(
    admin_client, tenant, make_user, client_for, django_capture_on_commit_callbacks
):
    make_user(Role.SUPERVISOR, email="sup1@example.test")
    make_user(Role.SUPERVISOR, email="sup2@example.test")
    make_user(Role.AGENT, email="agent@example.test")
    workflow = admin_client.post(
        f"/api/tenants/{tenant.pk}/workflows/", {"name": "Crisis Response"}, format="json"
    ).json()
    workflow = WorkflowFactory._meta.model.objects.get(pk=workflow["id"])
    response = admin_client.post(steps_url(workflow), bare_step("send_email"), format="json")
    assert response.status_code == 201, response.json()
    case = CaseFactory(tenant=tenant, reference="CASE-D1", title="Caller")
    with django_capture_on_commit_callbacks(execute=True):
        started = admin_client.post(runs_url(case.pk), {"workflow": workflow.pk}, format="json")
    assert started.status_code == 201, started.json()
    run = WorkflowRun.objects.get(pk=started.json()["id"])
    assert run.status == RunStatus.COMPLETED
    (message,) = mail.outbox
    assert sorted(message.to) == ["sup1@example.test", "sup2@example.test"]
    assert message.subject == f"Crisis Response: Notify Supervisor (case #{case.pk})"
    assert "Crisis Response" in message.body
    assert "Notify Supervisor" in message.body
    assert f"case #{case.pk}" in message.body


def test_a_case_runs_through_a_defaulted_approval_step(admin_client, tenant, make_user, client_for):
    supervisor = make_user(Role.SUPERVISOR)
    agent = make_user(Role.AGENT)
    workflow = WorkflowFactory(tenant=tenant)
    response = admin_client.post(steps_url(workflow), bare_step("approval"), format="json")
    assert response.status_code == 201, response.json()
    case = CaseFactory(tenant=tenant)
    run_id = client_for(agent).post(runs_url(case.pk), {"workflow": workflow.pk}, "json")
    task = HumanTask.objects.get(run_id=run_id.json()["id"], status=TaskStatus.PENDING)
    assert client_for(agent).post(f"/api/tasks/{task.pk}/approve/", {}, "json").status_code == 403
    decided = client_for(supervisor).post(f"/api/tasks/{task.pk}/approve/", {}, "json")
    assert decided.status_code == 200, decided.json()
    assert WorkflowRun.objects.get(pk=task.run_id).status == RunStatus.COMPLETED


def test_a_transfer_runs_through_a_defaulted_approval_step(
    admin_client, tenant, make_user, client_for
):
    """The transfer's security group decides: a member approves; a SUPERVISOR outside the
    group is not eligible."""
    group = SecurityGroupFactory(tenant=tenant, name="Finance Team")
    submitter, member = make_user(Role.AGENT), make_user(Role.AGENT)
    outsider = make_user(Role.SUPERVISOR)
    for user in (submitter, member):
        SecurityGroupMemberFactory(security_group=group, user=user)
    template = WorkflowTemplateFactory(tenant=tenant, code="FAR_D", transfer_type="FAR")
    response = admin_client.post(steps_url(template), bare_step("approval"), format="json")
    assert response.status_code == 201, response.json()
    WorkflowAssignmentFactory(security_group=group, workflow_template=template, execution_order=1)
    created = client_for(submitter).post(
        TRANSFERS_URL,
        {
            "security_group": group.pk,
            "transfer_type": "FAR",
            "reference": "T-D1",
            "amount": "5",
            "currency": "EUR",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    transfer_id = created.json()["transfer"]["id"]
    approve = f"{TRANSFERS_URL}{transfer_id}/approve/"
    assert client_for(outsider).post(approve, {"comment": "x"}, "json").status_code == 403
    decided = client_for(member).post(approve, {"comment": "ok"}, "json")
    assert decided.status_code == 200, decided.json()
    assert decided.json()["transfer"]["status"] == "approved"
