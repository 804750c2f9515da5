"""Decisions on human tasks: lock the task (with all a decision needs, one statement), then
apply one person's decision (approve / reject a vote, complete a form), whose writes travel
together in the operation's next statement.
"""

from __future__ import annotations

from typing import Any

from core.errors import Conflict, NotFound, ValidationFailed
from workflows.engine import sql, store, timers
from workflows.engine.kinds import kind_of
from workflows.engine.registry import registry
from workflows.engine.runner import step_finished
from workflows.engine.store import Locked
from workflows.engine.uow import UnitOfWork
from workflows.models import HumanTask, StepRunStatus, TaskStatus


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
    if task.claimed_by_id is not None and task.claimed_by_id not in (actor.pk, locked.holder_id):
        raise Conflict("Someone else has claimed this task.", "claimed")
    spec = registry.get(task.action)
    offered = spec.decisions if spec else ()
    if decision not in offered:
        verbs = " or ".join(offered) or "nothing"
        raise ValidationFailed(
            f"A '{task.action}' task takes {verbs}, not {decision}.", "wrong_decision"
        )
    assert spec is not None  # it offered the decision
    outcome = kind_of(spec).decide(
        locked,
        spec,
        decision=decision,
        comment=comment,
        data=data,
        actor=actor,
        log=log,
        now=sql.now(),
    )
    if outcome is None:
        return task
    log.decider_id = actor.pk
    log.record("task", task.pk, TaskStatus.PENDING, outcome)
    timers.task_closed(task, log=log)
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
