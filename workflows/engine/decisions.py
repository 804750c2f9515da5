"""Decisions on human tasks: lock the task (with all a decision needs, one statement), then
apply one person's decision (approve / reject a vote, complete a form), whose writes travel
together in the operation's next statement.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from workflows.engine import store
from workflows.engine.registry import registry
from workflows.engine.runner import step_finished
from workflows.engine.store import Ballot, Locked
from workflows.engine.uow import UnitOfWork
from workflows.models import BallotDecision, HumanTask, StepRunStatus, TaskBallot, TaskStatus


def task_lock(*, tenant_id: int, task_id: int, voter_id: int | None) -> Locked:
    """Lock a task by id, with `voter_id`'s ballot (see `store.lock_task`); 404 if there is no
    such task of this tenant's."""
    locked = store.lock_task(tenant_id, task_id=task_id, voter_id=voter_id)
    if locked is None:
        raise NotFound("Not found.")
    return locked


def subject_task_lock(
    *, tenant_id: int, subject: tuple[str, int], action: str, voter_id: int | None
) -> Locked | None:
    """Lock the oldest pending task of a subject (type, id) with this action, as `task_lock`;
    None if it has none."""
    return store.lock_task(
        tenant_id, subject=subject, action=action, status=TaskStatus.PENDING, voter_id=voter_id
    )


def task_decide_locked(
    locked: Locked,
    *,
    decision: str,
    comment: str,
    data: dict[str, Any],
    actor: Any,
    log: UnitOfWork,
) -> HumanTask:
    """Apply one person's decision to a task locked by `task_lock` (or `subject_task_lock`)
    with this actor as the voter. Some writes wait in `log` for its flush."""
    task = locked.task
    if task.status != TaskStatus.PENDING:
        raise Conflict(f"This task is already {task.status}.", "already_decided")
    spec = registry.get(task.action)
    offered = spec.decisions if spec else ()
    if decision not in offered:
        verbs = " or ".join(offered) or "nothing"
        raise ValidationFailed(
            f"A '{task.action}' task takes {verbs}, not {decision}.", "wrong_decision"
        )
    now = timezone.now()
    if decision == BallotDecision.COMPLETE:
        outcome = _complete_form(
            task, spec, comment=comment, data=data, actor=actor, now=now, log=log
        )
    else:
        outcome = _vote(locked, decision=decision, comment=comment, actor=actor, now=now, log=log)
    if outcome is None:
        return task
    log.record("task", task.pk, TaskStatus.PENDING, outcome)
    step_status = (
        StepRunStatus.REJECTED if outcome == TaskStatus.REJECTED else StepRunStatus.COMPLETED
    )
    step_finished(
        locked.step_run,
        locked.run,
        step_status,
        actor=actor,
        log=log,
        result={"decision": outcome, **({"data": data} if data else {})},
        ahead=locked,
    )
    return task


def _vote(
    locked: Locked, *, decision: str, comment: str, actor: Any, now: Any, log: UnitOfWork
) -> str | None:
    task = locked.task
    if (
        decision == BallotDecision.APPROVE
        and not task.allow_self_approval
        and task.submitted_by_id == actor.pk
    ):
        raise Forbidden("You cannot approve your own request.", "self_approval")
    if locked.ballot is Ballot.DECIDED:
        raise Conflict("You have already decided this task.", "already_voted")
    if locked.ballot is not Ballot.OPEN:
        raise Forbidden("You are not an eligible approver for this task.", "not_eligible")
    if decision == BallotDecision.APPROVE:
        task.approvals_count += 1
    else:
        task.rejections_count += 1
    if task.rule == "any":
        outcome = TaskStatus.APPROVED if decision == BallotDecision.APPROVE else TaskStatus.REJECTED
    elif task.approvals_count >= task.required_approvals:
        outcome = TaskStatus.APPROVED
    elif task.eligible_count - task.rejections_count < task.required_approvals:
        outcome = TaskStatus.REJECTED
    else:
        outcome = None
    fields = _decided(task, outcome, actor=actor, now=now)
    log.defer(store.vote(task, actor.pk, (decision, comment, now)))
    log.write(task, fields)
    return outcome


def _decided(task: HumanTask, outcome: str | None, *, actor: Any, now: Any) -> list[str]:
    """Set the task's outcome, if any; the fields to write."""
    fields = ["approvals_count", "rejections_count"]
    if outcome is not None:
        task.status, task.decided_at, task.decided_by = outcome, now, actor
        fields += ["status", "decided_at", "decided_by"]
    return fields


def _complete_form(
    task: HumanTask,
    spec: Any,
    *,
    comment: str,
    data: dict[str, Any],
    actor: Any,
    now: Any,
    log: UnitOfWork,
) -> str:
    if f",{actor.role}," not in task.open_to_roles:
        raise Forbidden("Your role may not complete this task.", "not_eligible")
    if spec.form_serializer is not None:
        form = spec.form_serializer(data=data if isinstance(data, dict) else None)
        if not form.is_valid():
            raise ValidationFailed(
                "Invalid form data.", "invalid_form", field="data", extra={"errors": form.errors}
            )
        data = dict(form.validated_data)
    with log.orm():
        TaskBallot.objects.create(
            tenant_id=task.tenant_id,
            task=task,
            user=actor,
            decision=BallotDecision.COMPLETE,
            comment=comment,
            data=data,
            decided_at=now,
        )
    task.result = data
    log.write(task, [*_decided(task, TaskStatus.COMPLETED, actor=actor, now=now), "result"])
    return TaskStatus.COMPLETED
