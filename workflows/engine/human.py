"""What every human step kind does when its turn comes: wait, and open one task, written by one
statement together with what the unit of work holds (see `inserts.open_task`)."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from workflows.engine import ballots, inserts, timers
from workflows.engine.rows import new, update
from workflows.engine.rules import Need
from workflows.engine.sql import Statement, cached, execute, qn
from workflows.engine.uow import UnitOfWork
from workflows.models import (
    HumanTask,
    StepRun,
    StepRunStatus,
    TaskBallot,
    TaskStatus,
    WorkflowRun,
)


def waiting(step_run: StepRun, now: Any) -> None:
    step_run.status, step_run.started_at = StepRunStatus.WAITING, now
    step_run.attempts += 1


def wait(step_run: StepRun, *, log: UnitOfWork, now: Any) -> Statement | None:
    """pending -> waiting; the step run's write, for the statement that opens its task (None
    if it was inserted waiting: see `runner.runs_create`)."""
    log.record("step_run", step_run.pk, StepRunStatus.PENDING, StepRunStatus.WAITING)
    if step_run.status == StepRunStatus.WAITING:
        return None
    waiting(step_run, now)
    log.claim(step_run)
    return update(step_run, ["status", "started_at", "attempts"])


def new_task(step_run: StepRun, run: WorkflowRun, now: Any) -> HumanTask:
    task = new(
        HumanTask,
        tenant_id=run.tenant_id,
        step_run=step_run,
        run=run,
        subject_type=run.subject_type,
        subject_id=run.subject_id,
        name=step_run.name,
        action=step_run.action,
        submitted_by_id=run.submitted_by_id,
        created_at=now,
    )
    task.due_at = timers.due_time(run.tenant_id, step_run.config or {}, now)
    return task


def open_task(
    task: HumanTask,
    step_written: Statement | None,
    users: Statement | None,
    need: Need | None,
    *,
    log: UnitOfWork,
    fresh: bool = False,
) -> int:
    """One statement: what the unit of work holds (writes, transitions), the step run, the
    task (recorded as "" -> pending, its `task.created` event) and, for a vote, its ballots.
    The eligible count. `fresh`: none for whoever decided a task of the same subject (see
    `inserts.open_task`)."""
    log.opened(task)
    return inserts.open_task(
        task,
        step_written,
        users,
        need,
        pending=log.absorb(),
        transitions=log.take_rows(),
        recorded_by=log.recorded_by(),
        fresh=fresh,
        deciders=(log.decider_id, log.on_behalf_of_id),
    )


def cancel_task(task: HumanTask, *, log: UnitOfWork) -> None:
    task.status = TaskStatus.CANCELLED
    log.defer(ballots.close_ballots(task))
    timers.task_closed(task, log=log)
    log.execute(update(task, ["status"]))
    log.record("task", task.pk, TaskStatus.PENDING, TaskStatus.CANCELLED)


def decided(task: HumanTask, outcome: str | None, *, actor: Any, now: Any) -> list[str]:
    """Set the task's outcome, if any; the fields to write."""
    fields = ["approvals_count", "rejections_count"]
    if outcome is not None:
        task.status, task.decided_at, task.decided_by = outcome, now, actor
        fields += ["status", "decided_at", "decided_by"]
    return fields


def awaited_by(task: HumanTask) -> list[int]:
    """Who the open task awaits: its open ballots' holders (a vote), else the active people of
    the roles it is open to (a form)."""
    ballots = TaskBallot.objects.filter(
        tenant_id=task.tenant_id, task=task, decision__isnull=True
    ).values_list("user_id", flat=True)
    users = list(ballots)
    if users or not task.open_to_roles:
        return users
    return _people_of_roles(task.tenant_id, task.open_to_roles)


def _people_of_roles(tenant_id: int, open_to_roles: str) -> list[int]:
    """The active people of a form's roles (`open_to_roles`: comma-separated)."""
    roles = [role for role in open_to_roles.split(",") if role]
    return list(
        User.objects.filter(tenant_id=tenant_id, role__in=roles, is_active=True).values_list(
            "pk", flat=True
        )
    )


def opened_task_audience(tenant_id: int, step_run_id: int) -> tuple[int, list[int]] | None:
    """The task `step_run_id` opened (its first, if several) and who it awaits (`awaited_by`),
    in one statement for a vote: what "task.created" tells people about."""
    rows, _ = execute(_opened_task_sql(), [tenant_id, step_run_id])
    if not rows:
        return None
    task_id, open_to_roles = rows[0][0], rows[0][1]
    holders = [row[2] for row in rows if row[2] is not None]
    if not holders and open_to_roles:  # a form: open to roles, no ballots
        holders = _people_of_roles(tenant_id, open_to_roles)
    return task_id, holders


@cached
def _opened_task_sql() -> str:
    tasks, ballots_table = qn(HumanTask._meta.db_table), qn(TaskBallot._meta.db_table)
    return (
        f"SELECT k.id, k.open_to_roles, b.user_id FROM (SELECT id, tenant_id, open_to_roles "  # noqa: S608
        f"FROM {tasks} WHERE tenant_id = %s AND step_run_id = %s ORDER BY id LIMIT 1) k "
        f"LEFT JOIN {ballots_table} b ON b.tenant_id = k.tenant_id AND b.task_id = k.id "
        "AND b.decision IS NULL ORDER BY b.user_id"
    )
