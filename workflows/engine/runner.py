"""The engine's state machine: runs, step runs, human tasks.

Everything here runs inside the caller's transaction (services open it, durable at the
boundary) and appends to a TransitionLog that the caller flushes once.

Lock order, for every operation that locks or writes more than one of these rows:

    human task -> step run -> run -> later runs of its chain -> the subject (transfer, case)

with several rows of one kind in pk order. A decision locks the task (`store.lock_task`,
which also locks the voter's ballot) and then writes the step run, the run, the next run and
the subject; a worker locks its step run and then writes the run onwards; a cancel locks the
runs' pending tasks, then their active step runs, then the runs (`runs_lock`) before it
writes anything, and the subject last. Taking them the other way round (the run first, as
cancel used to) deadlocks with a decision. A deadlock PostgreSQL still detects is retried
once at the service boundary and is otherwise a 409 (`core.db.retry_on_deadlock`).

A task is locked for every decision, and a run only advances under the lock of its one open
task (or of its running automated step), so two completions of one run cannot both start the
next step or the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Role
from core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from workflows.engine import store
from workflows.engine.approvers import eligible_sql
from workflows.engine.registry import registry
from workflows.engine.subjects import get_subject
from workflows.engine.transitions import TransitionLog
from workflows.models import (
    BallotDecision,
    HumanTask,
    RunStatus,
    StepRun,
    StepRunStatus,
    TaskBallot,
    TaskStatus,
    Workflow,
    WorkflowRun,
)

logger = logging.getLogger("workflows.engine")

FORM_TASK_ROLES = (Role.ADMIN, Role.SUPERVISOR, Role.AGENT)
RUN_FINAL = {RunStatus.COMPLETED, RunStatus.REJECTED, RunStatus.FAILED, RunStatus.CANCELLED}


# --- creating runs -------------------------------------------------------------------------


def runs_create(
    *,
    tenant_id: int,
    subject_type: str,
    subject_id: int | None,
    workflows: Sequence[Workflow],
    submitted_by: Any | None,
    first_sequence: int = 1,
    start: tuple[Any | None, TransitionLog] | None = None,
    steps: dict[int, list[tuple]] | None = None,
    new_subject: Any | None = None,
) -> list[WorkflowRun]:
    """Runs for `workflows` in order (sequence 1..n), each with a snapshot of its steps.

    Two statements however many workflows and steps: read the steps (none if the caller
    read them: `steps`, as `store.steps_of` gives them, by workflow id), insert everything.
    `new_subject`: an unsaved subject (subject_id None), inserted by the same statement (and,
    with `start`, recorded as created in its status).
    With `start=(actor, log)` the first run is created running and its first step opens.
    """
    now = timezone.now()
    steps_by_workflow: dict[int, list[tuple]] = {w.pk: [] for w in workflows}
    if steps is not None:
        steps_by_workflow.update(steps)
    else:
        for step in store.steps_of(tenant_id, list(steps_by_workflow)):
            steps_by_workflow[step[0]].append(step)
    runs = [
        store.new(
            WorkflowRun,
            tenant_id=tenant_id,
            workflow_id=workflow.pk,
            workflow_name=workflow.name,
            workflow_code=workflow.code,
            subject_type=subject_type,
            subject_id=subject_id,
            sequence=first_sequence + index - 1,
            chain_length=first_sequence + len(workflows) - 1,
            step_count=len(steps_by_workflow[workflow.pk]),
            submitted_by=submitted_by,
            created_at=now,
            **(
                {"status": RunStatus.RUNNING, "started_at": now}
                if start is not None and index == 1
                else {}
            ),
        )
        for index, workflow in enumerate(workflows, start=1)
    ]
    step_runs = [
        [
            store.new(
                StepRun,
                tenant_id=tenant_id,
                position=position,
                order=order,
                name=name,
                action=action,
                config=config,
            )
            for position, (_, order, name, action, config) in enumerate(
                steps_by_workflow[run.workflow_id]
            )
        ]
        for run in runs
    ]
    # A human first step of the run that starts now is inserted waiting: no second write of
    # the row in the same transaction (each write is an audit row).
    first = step_runs[0][0] if start is not None and step_runs[0] else None
    spec = registry.get(first.action) if first is not None else None
    if spec is not None and spec.is_human:
        _waiting(first, now)
    store.insert_runs(runs, step_runs, new_subject=new_subject)
    for run, steps in zip(runs, step_runs, strict=True):
        run._prefetched_step_runs = steps  # type: ignore[attr-defined]
    if start is not None:
        actor, log = start
        if new_subject is not None:  # its creation comes first in the log
            log.record(subject_type, new_subject.pk, "", getattr(new_subject, "status", ""))
        _started(runs[0], actor=actor, log=log)
    return runs


def run_start_next(run: WorkflowRun, *, actor: Any | None, log: TransitionLog) -> None:
    """Start the run after `run` in its chain (same subject, next sequence) if not started yet.

    When `run` came with its task's lock (`store.lock_task`), the next run and its first step
    are known already: the start is a deferred write. Otherwise one statement sets it running
    and reads its first step."""
    if hasattr(run, "next_in_chain"):
        if run.next_in_chain is None:
            return
        next_run, first_step = run.next_in_chain
        if next_run.status != RunStatus.NOT_STARTED:
            return
        next_run.status, next_run.started_at = RunStatus.RUNNING, timezone.now()
        log.write(next_run, ["status", "started_at"])
        _started(next_run, actor=actor, log=log, first_step=first_step)
        return
    started = store.start_run(
        run.tenant_id,
        timezone.now(),
        chain=(run.subject_type, run.subject_id, run.sequence + 1),
        pending=log.absorb(),
    )
    if started is not None:
        next_run, first_step = started
        _started(next_run, actor=actor, log=log, first_step=first_step)


def _started(
    run: WorkflowRun, *, actor: Any | None, log: TransitionLog, first_step: StepRun | None = None
) -> None:
    """A run has just become running: record it and open its first step."""
    log.record("run", run.pk, RunStatus.NOT_STARTED, RunStatus.RUNNING)
    if run.step_count == 0:
        _finish_run(run, RunStatus.COMPLETED, actor=actor, log=log)
        return
    if first_step is None:
        prefetched = getattr(run, "_prefetched_step_runs", None)
        if not prefetched:
            log.sync()
        first_step = (
            prefetched[0]
            if prefetched
            else StepRun.objects.get(tenant_id=run.tenant_id, run=run, position=0)
        )
    activate_step(first_step, run, actor=actor, log=log)


# --- steps ---------------------------------------------------------------------------------


def _waiting(step_run: StepRun, now: Any) -> None:
    step_run.status, step_run.started_at = StepRunStatus.WAITING, now
    step_run.attempts += 1


def activate_step(
    step_run: StepRun, run: WorkflowRun, *, actor: Any | None, log: TransitionLog
) -> None:
    """A step's turn has come: a human step waits for its task, an automated one is sent to a
    worker. A human step run that is `waiting` already was inserted so (see runs_create)."""
    spec = registry.get(step_run.action)
    now = timezone.now()
    if spec is None:
        fail_step(step_run, run, f"Unknown action '{step_run.action}'.", actor=actor, log=log)
        return
    if spec.is_human:
        log.record("step_run", step_run.pk, StepRunStatus.PENDING, StepRunStatus.WAITING)
        written = None
        if step_run.status != StepRunStatus.WAITING:
            _waiting(step_run, now)
            # The step run is written by the same statement that opens its task.
            log.claim(step_run)
            written = store.update(step_run, ["status", "started_at", "attempts"])
        _open_task(step_run, run, log=log, actor=actor, step_written=written, now=now)
    else:
        from workflows.engine import automation

        step_run.status, step_run.started_at = StepRunStatus.RUNNING, now
        log.execute(store.update(step_run, ["status", "started_at"]))
        log.record("step_run", step_run.pk, StepRunStatus.PENDING, StepRunStatus.RUNNING)
        automation.dispatch(step_run)


def _open_task(
    step_run: StepRun,
    run: WorkflowRun,
    *,
    log: TransitionLog,
    actor: Any,
    step_written: store.Statement | None,
    now: Any,
) -> None:
    config = step_run.config or {}
    task = store.new(
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
    if config.get("due_in_hours"):
        task.due_at = now + timedelta(hours=int(config["due_in_hours"]))
    if step_run.action != "approval":
        task.open_to_roles = "," + ",".join(FORM_TASK_ROLES) + ","
        _insert_task(task, step_written, None, None, log=log)
        return
    task.rule = config.get("rule", "any")
    task.allow_self_approval = bool(config.get("allow_self_approval", False))
    # None: all of the eligible; the first decision settles an "any" task.
    required = {"any": 1, "all": None, "quorum": int(config.get("quorum") or 1)}[task.rule]
    # Ballots (one per eligible user, the submitter excluded unless allowed) go in with the task.
    users = eligible_sql(run.tenant_id, config.get("approvers") or {})
    eligible = _insert_task(task, step_written, users, required, log=log)
    needed = eligible if required is None else required
    if eligible == 0 or needed > eligible:
        _cancel_task(task, log=log)
        fail_step(
            step_run,
            run,
            f"Not enough eligible approvers: {eligible} for {needed} needed.",
            actor=actor,
            log=log,
        )


def _insert_task(
    task: HumanTask,
    step_written: store.Statement | None,
    users: store.Statement | None,
    required: int | None,
    *,
    log: TransitionLog,
) -> int:
    """One statement: what the log holds (deferred writes, transitions), the step run, the
    task (recorded as "" -> pending) and its ballots. The eligible count."""
    return store.open_task(
        task,
        step_written,
        users,
        required,
        pending=log.absorb(),
        transitions=log.take_rows(),
        recorded_by=log.recorded_by(),
    )


def _cancel_task(task: HumanTask, *, log: TransitionLog) -> None:
    task.status = TaskStatus.CANCELLED
    log.defer(store.close_ballots(task))
    log.execute(store.update(task, ["status"]))
    log.record("task", task.pk, TaskStatus.PENDING, TaskStatus.CANCELLED)


def fail_step(
    step_run: StepRun, run: WorkflowRun, error: str, *, actor: Any, log: TransitionLog
) -> None:
    previous = step_run.status
    step_run.status, step_run.last_error = StepRunStatus.FAILED, error
    step_run.finished_at = timezone.now()
    log.record("step_run", step_run.pk, previous, StepRunStatus.FAILED, comment=error)
    logger.warning("run %s step %s failed: %s", run.pk, step_run.pk, error)
    log.write(step_run, ["status", "last_error", "finished_at"])
    _finish_run(run, RunStatus.FAILED, actor=actor, log=log)


def step_finished(
    step_run: StepRun,
    run: WorkflowRun,
    status: str,
    *,
    actor: Any,
    log: TransitionLog,
    result: dict[str, Any] | None = None,
) -> None:
    """A step reached `status` (completed / rejected / failed): move the run on."""
    previous = step_run.status
    step_run.status, step_run.finished_at = status, timezone.now()
    fields = ["status", "finished_at"]
    if result is not None:
        step_run.result = result
        fields.append("result")
    log.record("step_run", step_run.pk, previous, status)
    if status == StepRunStatus.COMPLETED and step_run.position + 1 < run.step_count:
        next_step = getattr(step_run, "next_step", None)  # read with the task's lock
        if next_step is None:
            next_step = store.save_and_fetch_step(
                step_run, fields, step_run.position + 1, pending=log.absorb()
            )
        else:
            log.write(step_run, fields)
        activate_step(next_step, run, actor=actor, log=log)
        return
    final = {
        StepRunStatus.COMPLETED: RunStatus.COMPLETED,
        StepRunStatus.REJECTED: RunStatus.REJECTED,
    }.get(status, RunStatus.FAILED)
    log.write(step_run, fields)
    _finish_run(run, final, actor=actor, log=log)


def _finish_run(
    run: WorkflowRun,
    status: str,
    *,
    actor: Any,
    log: TransitionLog,
) -> None:
    """The run reaches a final status (written by the operation's next statement) and its
    subject hears of it."""
    previous = run.status
    run.status, run.finished_at = status, timezone.now()
    log.write(run, ["status", "finished_at"])
    log.record("run", run.pk, previous, status)
    subject = get_subject(run.subject_type)
    if subject and subject.on_run_finished:
        if not subject.batched:
            log.sync()
        subject.on_run_finished(run=run, actor=actor, log=log)


# --- decisions -----------------------------------------------------------------------------


def task_lock(*, tenant_id: int, task_id: int, voter_id: int | None) -> HumanTask:
    """Lock a task by id (with `voter_id`'s ballot state, see `store.lock_task`)."""
    task = store.lock_task(tenant_id, task_id=task_id, voter_id=voter_id)
    if task is None:
        raise NotFound("Not found.")
    return task


def task_decide_locked(
    task: HumanTask,
    *,
    decision: str,
    comment: str,
    data: dict[str, Any],
    actor: Any,
    log: TransitionLog,
) -> HumanTask:
    """Apply one person's decision to a task locked by `task_lock` (or `store.lock_task`) with
    this actor as the voter. Some writes may wait in `log` for its flush."""
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
        outcome = _vote(task, decision=decision, comment=comment, actor=actor, now=now, log=log)
    if outcome is None:
        return task
    log.record("task", task.pk, TaskStatus.PENDING, outcome)
    step_status = (
        StepRunStatus.REJECTED if outcome == TaskStatus.REJECTED else StepRunStatus.COMPLETED
    )
    step_finished(
        task.step_run,
        task.run,
        step_status,
        actor=actor,
        log=log,
        result={"decision": outcome, **({"data": data} if data else {})},
    )
    return task


def _vote(
    task: HumanTask, *, decision: str, comment: str, actor: Any, now: Any, log: TransitionLog
) -> str | None:
    if (
        decision == BallotDecision.APPROVE
        and not task.allow_self_approval
        and task.submitted_by_id == actor.pk
    ):
        raise Forbidden("You cannot approve your own request.", "self_approval")
    if task.voter_ballot == "decided":
        raise Conflict("You have already decided this task.", "already_voted")
    if task.voter_ballot != "open":
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
    if outcome is not None:
        log.defer(store.close_ballots(task, actor.pk))
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
    log: TransitionLog,
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


# --- cancelling ----------------------------------------------------------------------------


_ACTIVE_STEPS = (StepRunStatus.WAITING, StepRunStatus.RUNNING)
_LOCK_ATTEMPTS = 5


class _Moved(Exception):
    """A run advanced between the locks of its tasks and its own: lock again."""


def runs_lock(tenant_id: int, **run_filter: Any) -> list[WorkflowRun]:
    """Lock the runs matching `run_filter`, after their pending tasks and their waiting or
    running step runs (the lock order above), in pk order; the runs, locked.

    A decision may finish a task and open the next between the first lock and the run's: the
    new task would then be locked after its run, against the order. So once the runs are
    locked (nothing can advance them any more), what is pending is read again, and if it is
    not what was locked, everything locked here is released (savepoint) and locked again."""
    runs = WorkflowRun.objects.for_tenant(tenant_id).filter(**run_filter)
    run_ids = runs.values("pk")
    tasks = HumanTask.objects.for_tenant(tenant_id).filter(status=TaskStatus.PENDING)
    steps = StepRun.objects.for_tenant(tenant_id).filter(status__in=_ACTIVE_STEPS)
    for _ in range(_LOCK_ATTEMPTS):
        try:
            with transaction.atomic():
                locked_tasks = set(
                    tasks.filter(run__in=run_ids)
                    .select_for_update()
                    .order_by("pk")
                    .values_list("pk", flat=True)
                )
                locked_steps = set(
                    steps.filter(run__in=run_ids)
                    .select_for_update()
                    .order_by("pk")
                    .values_list("pk", flat=True)
                )
                locked = list(runs.select_for_update().order_by("pk"))
                ids = [run.pk for run in locked]
                if set(tasks.filter(run__in=ids).values_list("pk", flat=True)) <= locked_tasks and (
                    set(steps.filter(run__in=ids).values_list("pk", flat=True)) <= locked_steps
                ):
                    return locked
                raise _Moved
        except _Moved:
            continue
    raise Conflict("This run kept changing while it was being locked; try again.", "busy")


def runs_cancel(runs: Iterable[WorkflowRun], *, actor: Any, log: TransitionLog) -> None:
    """Cancel running runs (their open tasks and steps too), locked by `runs_lock`. The
    subject hears of each (`on_run_finished`): a transfer's chain is cancelled with it."""
    log.sync()
    for run in runs:
        if run.status != RunStatus.RUNNING:
            continue
        for task in (
            HumanTask.objects.select_for_update()  # locked already by the caller: no wait
            .filter(tenant_id=run.tenant_id, run=run, status=TaskStatus.PENDING)
            .order_by("pk")
        ):
            _cancel_task(task, log=log)
        for step_run in StepRun.objects.filter(
            tenant_id=run.tenant_id, run=run, status__in=_ACTIVE_STEPS
        ).order_by("pk"):
            log.record("step_run", step_run.pk, step_run.status, StepRunStatus.CANCELLED)
            step_run.status, step_run.finished_at = StepRunStatus.CANCELLED, timezone.now()
            step_run.save(update_fields=["status", "finished_at"])
        previous = run.status
        run.status, run.finished_at = RunStatus.CANCELLED, timezone.now()
        run.save(update_fields=["status", "finished_at"])
        log.record("run", run.pk, previous, RunStatus.CANCELLED)
        subject = get_subject(run.subject_type)
        if subject and subject.on_run_finished:
            subject.on_run_finished(run=run, actor=actor, log=log)
            log.sync()
