"""The run state machine through the service layer: rules, eligibility, snapshots, forms."""

import pytest

from accounts.models import Role
from core.errors import Conflict, Forbidden, ValidationFailed
from tests.factories import StepFactory, WorkflowFactory
from workflows import services
from workflows.models import (
    HumanTask,
    RunStatus,
    StateTransition,
    Step,
    StepRun,
    StepRunStatus,
    TaskBallot,
    TaskStatus,
)
from workflows.tests.engine_helpers import approval_workflow, open_task, start

pytestmark = pytest.mark.django_db


def decide(tenant, task, user, decision="approve", comment="", data=None):
    return services.task_decide(
        tenant=tenant, task_id=task.pk, decision=decision, comment=comment, data=data, actor=user
    )


def test_any_rule_first_approval_completes_step_and_run(tenant, make_user):
    approver = make_user(Role.SUPERVISOR)
    make_user(Role.SUPERVISOR)
    workflow = approval_workflow(tenant, {"approvers": {"role": "SUPERVISOR"}})
    run = start(tenant, workflow)
    assert run.status == RunStatus.RUNNING
    task = open_task(run)
    assert TaskBallot.objects.filter(task=task).count() == 2
    decide(tenant, task, approver, comment="fine")
    run.refresh_from_db()
    task.refresh_from_db()
    assert task.status == TaskStatus.APPROVED
    assert task.decided_by_id == approver.pk
    assert run.status == RunStatus.COMPLETED
    assert run.finished_at is not None
    assert StepRun.objects.get(run=run).status == StepRunStatus.COMPLETED


def test_steps_advance_in_order(tenant, make_user):
    first, second = make_user(Role.SUPERVISOR), make_user(Role.ADMIN)
    workflow = approval_workflow(
        tenant, {"approvers": {"users": [first.pk]}}, {"approvers": {"users": [second.pk]}}
    )
    run = start(tenant, workflow)
    step_runs = list(StepRun.objects.filter(run=run).order_by("position"))
    assert [s.status for s in step_runs] == [StepRunStatus.WAITING, StepRunStatus.PENDING]
    with pytest.raises(Forbidden):
        decide(tenant, open_task(run), second)
    decide(tenant, open_task(run), first)
    step_runs = list(StepRun.objects.filter(run=run).order_by("position"))
    assert [s.status for s in step_runs] == [StepRunStatus.COMPLETED, StepRunStatus.WAITING]
    decide(tenant, open_task(run), second)
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED


def test_all_rule_needs_every_member(tenant, make_user):
    users = [make_user(Role.AGENT) for _ in range(3)]
    workflow = approval_workflow(
        tenant, {"approvers": {"users": [u.pk for u in users]}, "rule": "all"}
    )
    run = start(tenant, workflow)
    task = open_task(run)
    decide(tenant, task, users[0])
    decide(tenant, task, users[1])
    task.refresh_from_db()
    assert (task.status, task.approvals_count, task.required_approvals) == ("pending", 2, 3)
    decide(tenant, task, users[2])
    task.refresh_from_db()
    run.refresh_from_db()
    assert task.status == TaskStatus.APPROVED
    assert run.status == RunStatus.COMPLETED


def test_all_rule_one_rejection_rejects(tenant, make_user):
    users = [make_user(Role.AGENT) for _ in range(3)]
    workflow = approval_workflow(
        tenant, {"approvers": {"users": [u.pk for u in users]}, "rule": "all"}
    )
    run = start(tenant, workflow)
    decide(tenant, open_task(run), users[0])
    decide(tenant, open_task(run), users[1], "reject", "no")
    run.refresh_from_db()
    assert run.status == RunStatus.REJECTED


def test_quorum_two_of_three(tenant, make_user):
    users = [make_user(Role.AGENT) for _ in range(3)]
    workflow = approval_workflow(
        tenant, {"approvers": {"users": [u.pk for u in users]}, "rule": "quorum", "quorum": 2}
    )
    run = start(tenant, workflow)
    task = open_task(run)
    decide(tenant, task, users[0], "reject", "no")
    task.refresh_from_db()
    assert task.status == TaskStatus.PENDING  # 2 approvals still possible
    decide(tenant, task, users[1])
    task.refresh_from_db()
    assert task.status == TaskStatus.PENDING
    decide(tenant, task, users[2])
    task.refresh_from_db()
    run.refresh_from_db()
    assert task.status == TaskStatus.APPROVED
    assert run.status == RunStatus.COMPLETED


def test_quorum_rejected_once_unreachable(tenant, make_user):
    users = [make_user(Role.AGENT) for _ in range(3)]
    workflow = approval_workflow(
        tenant, {"approvers": {"users": [u.pk for u in users]}, "rule": "quorum", "quorum": 2}
    )
    run = start(tenant, workflow)
    decide(tenant, open_task(run), users[0], "reject", "no")
    decide(tenant, open_task(run), users[1], "reject", "no")
    run.refresh_from_db()
    assert run.status == RunStatus.REJECTED


def test_double_vote_is_conflict(tenant, make_user):
    users = [make_user(Role.AGENT) for _ in range(2)]
    workflow = approval_workflow(
        tenant, {"approvers": {"users": [u.pk for u in users]}, "rule": "all"}
    )
    task = open_task(start(tenant, workflow))
    decide(tenant, task, users[0])
    with pytest.raises(Conflict):
        decide(tenant, task, users[0])


def test_decided_task_is_conflict(tenant, make_user):
    users = [make_user(Role.AGENT) for _ in range(2)]
    workflow = approval_workflow(tenant, {"approvers": {"users": [u.pk for u in users]}})
    task = open_task(start(tenant, workflow))
    decide(tenant, task, users[0])
    with pytest.raises(Conflict):
        decide(tenant, task, users[1])
    assert TaskBallot.objects.filter(task=task, decision__isnull=False).count() == 1


def test_submitter_cannot_approve_own_request(tenant, make_user):
    submitter, other = make_user(Role.SUPERVISOR), make_user(Role.SUPERVISOR)
    workflow = approval_workflow(tenant, {"approvers": {"role": "SUPERVISOR"}})
    run = start(tenant, workflow, submitted_by=submitter)
    task = open_task(run)
    with pytest.raises(Forbidden) as excinfo:
        decide(tenant, task, submitter)
    assert "own" in excinfo.value.message
    assert not TaskBallot.objects.filter(task=task, user=submitter).exists()
    decide(tenant, task, other)
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED


def test_self_approval_allowed_when_configured(tenant, make_user):
    submitter = make_user(Role.SUPERVISOR)
    workflow = approval_workflow(
        tenant, {"approvers": {"role": "SUPERVISOR"}, "allow_self_approval": True}
    )
    run = start(tenant, workflow, submitted_by=submitter)
    decide(tenant, open_task(run), submitter)
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED


def test_not_enough_approvers_fails_the_run_with_reason(tenant, make_user):
    make_user(Role.SUPERVISOR)
    workflow = approval_workflow(
        tenant, {"approvers": {"role": "SUPERVISOR"}, "rule": "quorum", "quorum": 2}
    )
    run = start(tenant, workflow)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "eligible approvers" in StepRun.objects.get(run=run).last_error


def test_run_pins_snapshot_of_steps(tenant, make_user):
    approver = make_user(Role.SUPERVISOR)
    workflow = approval_workflow(
        tenant, {"approvers": {"role": "SUPERVISOR"}}, {"approvers": {"role": "SUPERVISOR"}}
    )
    run = start(tenant, workflow)
    # Edit the definition mid-run: rename, reorder, delete, add.
    Step.objects.filter(workflow=workflow, order=0).update(name="Renamed")
    Step.objects.filter(workflow=workflow, order=1).delete()
    StepFactory(workflow=workflow, order=5, action="check_safety")
    assert [s.name for s in StepRun.objects.filter(run=run).order_by("position")] == [
        "Approve 0",
        "Approve 1",
    ]
    decide(tenant, open_task(run), approver)
    assert open_task(run).name == "Approve 1"
    new_run = start(tenant, workflow, subject_id=2)
    new_steps = StepRun.objects.filter(run=new_run).order_by("position")
    assert [(s.name, s.action) for s in new_steps][0] == ("Renamed", "approval")
    assert [s.action for s in new_steps] == ["approval", "check_safety"]


def test_form_task_validates_payload(tenant, make_user):
    agent, viewer = make_user(Role.AGENT), make_user(Role.VIEWER)
    workflow = WorkflowFactory(tenant=tenant)
    StepFactory(workflow=workflow, order=0, action="check_safety", name="Assess Risk")
    StepFactory(workflow=workflow, order=1, action="verify_contact", name="Verify")
    run = start(tenant, workflow)
    task = open_task(run)
    with pytest.raises(ValidationFailed) as excinfo:
        decide(tenant, task, agent, "complete", data={"risk_level": "extreme"})
    assert "risk_level" in excinfo.value.as_errors()["data"]
    with pytest.raises(ValidationFailed):
        decide(tenant, task, agent, "approve")
    with pytest.raises(Forbidden):
        decide(tenant, task, viewer, "complete", data={"risk_level": "low"})
    decide(tenant, task, agent, "complete", data={"risk_level": "high"}, comment="ok")
    task.refresh_from_db()
    assert task.status == TaskStatus.COMPLETED
    assert task.result == {"risk_level": "high"}
    verify = open_task(run)
    decide(tenant, verify, agent, "complete", data={"contact_verified": True})
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED


def test_every_state_change_is_recorded(tenant, make_user):
    approver = make_user(Role.SUPERVISOR)
    workflow = approval_workflow(tenant, {"approvers": {"role": "SUPERVISOR"}})
    run = start(tenant, workflow)
    decide(tenant, open_task(run), approver, comment="looks right")
    rows = list(
        StateTransition.objects.filter(tenant=tenant).values_list(
            "object_type", "from_status", "to_status"
        )
    )
    assert ("run", "not_started", "running") in rows
    assert ("task", "pending", "approved") in rows
    assert ("step_run", "waiting", "completed") in rows
    assert ("run", "running", "completed") in rows
    decision = StateTransition.objects.get(object_type="task", to_status="approved")
    assert decision.actor_id == approver.pk
    assert decision.comment == "looks right"


def test_other_tenants_task_is_not_found(tenant, other_tenant, make_user):
    from core.errors import NotFound

    approver = make_user(Role.SUPERVISOR)
    stranger = make_user(Role.SUPERVISOR, tenant=other_tenant)
    workflow = approval_workflow(other_tenant, {"approvers": {"role": "SUPERVISOR"}})
    task = open_task(start(other_tenant, workflow))
    with pytest.raises(NotFound):
        decide(tenant, task, approver)
    assert HumanTask.objects.get(pk=task.pk).status == TaskStatus.PENDING
    assert stranger.pk  # the other tenant's own supervisor is the only eligible one
