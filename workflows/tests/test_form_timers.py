"""Timers of form tasks (check_safety, verify_contact on a case): a due time that fails the step
and the run, reminders to the people of the task's roles, no escalation; on a controlled
clock (see test_timers)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import Role
from cases.tests.conftest import intake_workflow, runs_url
from tests.factories import CaseFactory, WorkflowFactory
from workflows.engine import timers
from workflows.models import (
    HumanTask,
    Job,
    RunStatus,
    StateTransition,
    Step,
    StepRunStatus,
    TaskBallot,
    TaskStatus,
    WorkflowRun,
)
from workflows.tests.test_timers import live_keys, mails, poll, timed_out, timer_rows

pytestmark = pytest.mark.django_db


def start_intake(tenant, starter, client_for, **timer_config) -> HumanTask:
    """A case's intake run (check_safety, then verify_contact), the first step with
    `timer_config`; its open check_safety task (the mail of its opening cleared)."""
    workflow = intake_workflow(tenant)
    Step.objects.filter(workflow=workflow, order=0).update(config=timer_config)
    case = CaseFactory(tenant=tenant, reference="CASE-T1", title="Timed")
    response = client_for(starter).post(runs_url(case.pk), {"workflow": workflow.pk}, format="json")
    assert response.status_code == 201, response.json()
    task = HumanTask.objects.get(run_id=response.json()["id"], status=TaskStatus.PENDING)
    assert task.action == "check_safety"
    mail.outbox.clear()
    return task


def complete(client, task):
    return client.post(
        f"/api/tasks/{task.pk}/complete/", {"data": {"risk_level": "low"}}, format="json"
    )


# --- config ---------------------------------------------------------------------------------


def post_form_step(client, config):
    workflow = WorkflowFactory(tenant=client.tenant)
    return client.post(
        f"/api/workflows/{workflow.id}/steps/",
        {"name": "Assess", "order": 0, "action": "check_safety", "config": config},
        format="json",
    )


@pytest.fixture
def admin_api(admin_client, tenant):
    admin_client.tenant = tenant
    return admin_client


ONLY_FAIL = ["A form step times out with 'fail' only."]
NO_ESCALATION = ["A form step does not escalate."]


@pytest.mark.parametrize(
    ("config", "key", "message"),
    [
        ({"due_in_hours": 8, "on_timeout": "reject"}, "on_timeout", ONLY_FAIL),
        ({"due_in_hours": 8, "on_timeout": "approve"}, "on_timeout", ONLY_FAIL),
        ({"due_in_hours": 8, "on_timeout": "escalate"}, "on_timeout", ONLY_FAIL),
        ({"due_in_hours": 8, "on_timeout": 3}, "on_timeout", ONLY_FAIL),
        (
            {"due_in_hours": 8, "escalate_after_hours": 2, "escalate_to": {"role": "ADMIN"}},
            "escalate_after_hours",
            NO_ESCALATION,
        ),
        ({"due_in_hours": 8, "escalate_to": {"role": "ADMIN"}}, "escalate_to", NO_ESCALATION),
        ({"on_timeout": "fail"}, "on_timeout", ["Requires due_in_hours."]),
        ({"remind_every_hours": 4}, "remind_every_hours", ["Requires due_in_hours."]),
        ({"due_in_hours": 0}, "due_in_hours", None),
        ({"due_in_hours": 24 * 366}, "due_in_hours", None),
        ({"due_in_hours": 8, "remind_every_hours": -1}, "remind_every_hours", None),
        ({"due_in_hours": 8, "business_hours": True}, "business_hours", None),  # no calendar
        ({"due_in_hours": 8, "risk_level": "low"}, "risk_level", None),  # still strict
    ],
)
def test_bad_form_timer_config_is_a_400_naming_the_field(admin_api, config, key, message):
    response = post_form_step(admin_api, config)
    assert response.status_code == 400, response.json()
    errors = response.json()["config"]
    assert key in errors, errors
    if message is not None:
        assert errors[key] == message
    assert not Step.objects.exists()


def test_good_form_timer_config_is_stored_and_listed(admin_api):
    config = {"due_in_hours": 24, "remind_every_hours": 4, "on_timeout": "fail"}
    response = post_form_step(admin_api, config)
    assert response.status_code == 201, response.json()
    assert Step.objects.get(pk=response.json()["id"]).config == config
    # A form step without config still takes none.
    assert post_form_step(admin_api, {}).status_code == 201
    actions = {a["key"]: a for a in admin_api.get("/api/actions/").json()}
    for key in ("check_safety", "verify_contact"):
        assert sorted(actions[key]["config_fields"]) == [
            "business_hours",
            "due_in_hours",
            "on_timeout",
            "remind_every_hours",
        ]
        assert actions[key]["config_defaults"] == {}


# --- firing ---------------------------------------------------------------------------------


def test_on_timeout_fail_fails_the_form_step_and_the_run_on_time(tenant, make_user, client_for):
    task = start_intake(
        tenant, make_user(Role.AGENT), client_for, due_in_hours=8, on_timeout="fail"
    )
    assert task.due_at is not None
    assert live_keys(task) == {f"task:{task.pk}:due"}
    assert poll(task.due_at - timedelta(seconds=1)) == 0
    task.refresh_from_db()
    assert task.status == TaskStatus.PENDING
    assert poll(task.due_at) == 1
    task.refresh_from_db()
    assert task.status == TaskStatus.CANCELLED
    assert task.decided_by_id is None
    assert task.step_run.status == StepRunStatus.FAILED
    assert task.step_run.last_error == "Timed out"
    run = WorkflowRun.objects.get(pk=task.run_id)
    assert run.status == RunStatus.FAILED
    assert list(timed_out(task)) == [("pending", "cancelled")]
    assert StateTransition.objects.filter(
        object_type="step_run", object_id=task.step_run_id, to_status="failed"
    ).exists()
    # The run stops there: verify_contact never opens.
    assert not HumanTask.objects.filter(run=run).exclude(pk=task.pk).exists()
    assert live_keys(task) == set()


def test_a_form_completed_a_moment_before_its_deadline_fires_nothing(tenant, make_user, client_for):
    agent = make_user(Role.AGENT)
    task = start_intake(
        tenant, agent, client_for, due_in_hours=8, on_timeout="fail", remind_every_hours=2
    )
    assert live_keys(task) == {f"task:{task.pk}:due", f"task:{task.pk}:remind:1"}
    assert complete(client_for(agent), task).status_code == 200
    assert live_keys(task) == set()
    assert poll(task.due_at + timedelta(hours=1)) == 0
    # A poller that claimed the due job just before the completion: the handler finds the task
    # closed and writes nothing.
    Job.objects.filter(key=f"task:{task.pk}:due").update(status="scheduled")
    before = StateTransition.objects.count()
    assert poll(task.due_at + timedelta(hours=1)) == 1
    assert StateTransition.objects.count() == before
    task.refresh_from_db()
    assert task.status == TaskStatus.COMPLETED
    assert task.step_run.status == StepRunStatus.COMPLETED
    run = WorkflowRun.objects.get(pk=task.run_id)
    assert run.status == RunStatus.RUNNING  # on to verify_contact
    assert mails("task_due_soon") == []


def test_reminders_email_the_people_of_the_tasks_roles_and_repeat(
    tenant, other_tenant, make_user, client_for
):
    agent = make_user(Role.AGENT)
    awaited = [agent, make_user(Role.SUPERVISOR), make_user(Role.ADMIN)]
    make_user(Role.VIEWER)  # a viewer may not complete a form
    make_user(Role.AGENT, is_active=False)
    make_user(Role.AGENT, tenant=other_tenant)
    task = start_intake(tenant, agent, client_for, due_in_hours=48, remind_every_hours=8)
    assert live_keys(task) == {f"task:{task.pk}:remind:1"}  # no on_timeout: no due job
    t0 = timezone.now()
    assert poll(t0 + timedelta(hours=7)) == 0
    assert mails("task_due_soon") == []
    assert poll(t0 + timedelta(hours=8, minutes=1)) == 1
    reminded = sorted(m.to[0] for m in mails("task_due_soon"))
    assert reminded == sorted(u.email for u in awaited)
    assert timer_rows(task) == [("reminded", "Reminder 1: 3 person(s) of its roles")]
    assert live_keys(task) == {f"task:{task.pk}:remind:2"}
    assert not TaskBallot.objects.filter(task=task).exists()  # a form has no ballots
    # The second reminder mails them again (another occurrence).
    mail.outbox.clear()
    assert poll(t0 + timedelta(hours=16, minutes=2)) == 1
    assert len(mails("task_due_soon")) == 3
    # Completed: the reminders stop.
    mail.outbox.clear()
    assert complete(client_for(agent), task).status_code == 200
    assert live_keys(task) == set()
    assert poll(t0 + timedelta(hours=30)) == 0
    assert mails("task_due_soon") == []


def test_cancelling_the_run_cancels_the_form_timers(tenant, make_user, client_for):
    task = start_intake(
        tenant, make_user(Role.AGENT), client_for, due_in_hours=8, on_timeout="fail"
    )
    response = client_for(make_user(Role.SUPERVISOR)).post(
        f"/api/runs/{task.run_id}/cancel/", {"comment": "dup"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert live_keys(task) == set()
    assert poll(task.due_at) == 0
    task.refresh_from_db()
    assert task.status == TaskStatus.CANCELLED


def test_a_form_without_timers_schedules_nothing(tenant, make_user, client_for):
    task = start_intake(tenant, make_user(Role.AGENT), client_for)
    assert task.due_at is None
    assert not Job.objects.filter(key__startswith=f"task:{task.pk}:").exists()
    assert timers.has_timers({}) is False
