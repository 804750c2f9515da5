"""The engine's state machine: runs, step runs, human tasks.

Everything here runs inside the caller's transaction (services open it, durable at the
boundary) and works in the caller's unit of work (`uow.UnitOfWork`), which it flushes once.
Decisions are in `decisions`, cancels in `cancelling`; this module creates and starts runs,
moves a run from step to step and finishes it.

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
from collections.abc import Sequence
from typing import Any

from core.errors import Conflict
from core.logging import run_fields
from workflows.engine import human, inserts, sql, store
from workflows.engine.kinds import kind_of
from workflows.engine.registry import registry
from workflows.engine.rows import new, update_row
from workflows.engine.store import Locked
from workflows.engine.subjects import SubjectOutcome, get_subject
from workflows.engine.uow import UnitOfWork
from workflows.models import (
    RunStatus,
    StepRun,
    StepRunStatus,
    Workflow,
    WorkflowRun,
)

logger = logging.getLogger("workflows.engine")
# A finished step's status -> its run's final status (when it was the last step, or failed).
_RUN_FINAL: dict[str, str] = {
    StepRunStatus.COMPLETED: RunStatus.COMPLETED,
    StepRunStatus.REJECTED: RunStatus.REJECTED,
}


# --- creating runs -------------------------------------------------------------------------


def runs_create(
    *,
    tenant_id: int,
    subject_type: str,
    subject_id: int | None,
    workflows: Sequence[Workflow],
    submitted_by: Any | None,
    first_sequence: int = 1,
    start: tuple[Any | None, UnitOfWork] | None = None,
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
    now = sql.now()
    steps_by_workflow: dict[int, list[tuple]] = {w.pk: [] for w in workflows}
    if steps is not None:
        steps_by_workflow.update(steps)
    else:
        for step in store.steps_of(tenant_id, list(steps_by_workflow)):
            steps_by_workflow[step[0]].append(step)
    runs = [
        new(
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
            new(
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
    if first is not None and spec is not None and kind_of(spec).human:
        human.waiting(first, now)
    inserts.insert_runs(runs, step_runs, new_subject=new_subject)
    if start is not None:
        actor, log = start
        if new_subject is not None:  # its creation comes first in the log
            log.record(subject_type, new_subject.pk, "", getattr(new_subject, "status", ""))
        _started(runs[0], actor=actor, log=log, first_step=first)
    return runs


def run_start_next(
    run: WorkflowRun, *, actor: Any | None, log: UnitOfWork, ahead: Locked | None = None
) -> None:
    """Start the run after `run` in its chain (same subject, next sequence) if not started yet.

    When `run` came with its task's lock (`ahead`, from `store.lock_task`), the next run and
    its first step are known already: the start is a held write. Otherwise one statement sets
    it running and reads its first step."""
    if ahead is not None and ahead.run is run:
        next_run = ahead.next_run
        if next_run is None or next_run.status != RunStatus.NOT_STARTED:
            return
        next_run.status, next_run.started_at = RunStatus.RUNNING, sql.now()
        log.write(next_run, ["status", "started_at"])
        _started(next_run, actor=actor, log=log, first_step=ahead.next_run_first_step)
        return
    started = store.start_run(
        run.tenant_id,
        sql.now(),
        chain=(run.subject_type, run.subject_id, run.sequence + 1),
        pending=log.absorb(),
    )
    if started is not None:
        next_run, first_step = started
        _started(next_run, actor=actor, log=log, first_step=first_step)


def _started(
    run: WorkflowRun, *, actor: Any | None, log: UnitOfWork, first_step: StepRun | None = None
) -> None:
    """A run has just become running: record it and open its first step."""
    log.record("run", run.pk, RunStatus.NOT_STARTED, RunStatus.RUNNING)
    if run.step_count == 0:
        _finish_run(run, RunStatus.COMPLETED, actor=actor, log=log)
        return
    if first_step is None:  # not read with the run (never on the engine's own paths)
        with log.orm():
            first_step = StepRun.objects.get(tenant_id=run.tenant_id, run=run, position=0)
    activate_step(first_step, run, actor=actor, log=log)


# --- steps ---------------------------------------------------------------------------------


def activate_step(
    step_run: StepRun, run: WorkflowRun, *, actor: Any | None, log: UnitOfWork
) -> None:
    """A step's turn has come: its kind acts (a human step opens its task, an automated one is
    sent to a worker)."""
    spec = registry.get(step_run.action)
    if spec is None:
        fail_step(step_run, run, f"Unknown action '{step_run.action}'.", actor=actor, log=log)
        return
    kind_of(spec).activate(step_run, run, actor=actor, log=log, now=sql.now())


def fail_step(
    step_run: StepRun, run: WorkflowRun, error: str, *, actor: Any, log: UnitOfWork
) -> None:
    previous = step_run.status
    step_run.status, step_run.last_error = StepRunStatus.FAILED, error
    step_run.finished_at = sql.now()
    log.record("step_run", step_run.pk, previous, StepRunStatus.FAILED, comment=error)
    logger.warning(
        "run %s step %s failed: %s", run.pk, step_run.pk, error, extra=run_fields(step_run)
    )
    log.write(step_run, ["status", "last_error", "finished_at"])
    _finish_run(run, RunStatus.FAILED, actor=actor, log=log)


def step_finished(
    step_run: StepRun,
    run: WorkflowRun,
    status: str,
    *,
    actor: Any,
    log: UnitOfWork,
    result: dict[str, Any] | None = None,
    ahead: Locked | None = None,
) -> None:
    """A step reached `status` (completed / rejected / failed): move the run on. `ahead`: what
    the lock of the step's task read (the next step run, the next run)."""
    previous = step_run.status
    step_run.status, step_run.finished_at = status, sql.now()
    fields = ["status", "finished_at"]
    if result is not None:
        step_run.result = result
        fields.append("result")
    log.record("step_run", step_run.pk, previous, status)
    if status == StepRunStatus.COMPLETED and step_run.position + 1 < run.step_count:
        next_step = ahead.next_step if ahead is not None else None
        if next_step is None:
            next_step = store.save_and_fetch_step(
                step_run, fields, step_run.position + 1, pending=log.absorb()
            )
        else:
            log.write(step_run, fields)
        activate_step(next_step, run, actor=actor, log=log)
        return
    final = _RUN_FINAL.get(status, RunStatus.FAILED)
    log.write(step_run, fields)
    _finish_run(run, final, actor=actor, log=log, ahead=ahead)


def _finish_run(
    run: WorkflowRun,
    status: str,
    *,
    actor: Any,
    log: UnitOfWork,
    ahead: Locked | None = None,
) -> None:
    """The run reaches a final status (written by the operation's next statement) and what
    that means for its subject is carried out."""
    previous = run.status
    run.status, run.finished_at = status, sql.now()
    log.write(run, ["status", "finished_at"])
    log.record("run", run.pk, previous, status)
    subject_finished(run, actor=actor, log=log, ahead=ahead)


def subject_finished(
    run: WorkflowRun, *, actor: Any, log: UnitOfWork, ahead: Locked | None = None
) -> None:
    """Ask the run's subject type what its finishing means (`on_run_finished`) and do it."""
    subject = get_subject(run.subject_type)
    if subject is None or subject.on_run_finished is None:
        return
    assert run.finished_at is not None
    outcome = subject.on_run_finished(run, log.actor_id, run.finished_at)
    if outcome is not None:
        apply_outcome(
            run.tenant_id,
            run.subject_type,
            run.subject_id,
            outcome,
            log=log,
            run=run,
            actor=actor,
            ahead=ahead,
        )


def apply_outcome(
    tenant_id: int,
    subject_type: str,
    subject_id: int,
    outcome: SubjectOutcome,
    *,
    log: UnitOfWork,
    run: WorkflowRun | None = None,
    actor: Any = None,
    ahead: Locked | None = None,
) -> None:
    """Carry out what a finished run (`run`; None when a service ends a subject whose chain
    has no running run) means for its subject: cancel the runs that have not started, start
    the next one, set the subject's status (held, with the operation's next statement)."""
    if outcome.cancel_not_started:
        _cancel_not_started(tenant_id, subject_type, subject_id, log)
    if outcome.start_next and run is not None:
        run_start_next(run, actor=actor, log=log, ahead=ahead)
    if outcome.status:
        subject = get_subject(subject_type)
        assert subject is not None, subject_type
        assert subject.model is not None, subject_type
        guard = {"status": outcome.expected} if outcome.expected else None
        log.defer(
            update_row(
                subject.model,
                tenant_id,
                subject_id,
                {"status": outcome.status, **outcome.values},
                guard=guard,
            )
        )
        log.record(subject_type, subject_id, outcome.expected, outcome.status)


def _cancel_not_started(
    tenant_id: int, subject_type: str, subject_id: int, log: UnitOfWork
) -> None:
    """The subject's runs that have not started are cancelled (each in the runs' history).
    Through the ORM: only cancels get here, never a decision's batched statements."""
    with log.orm():
        later = list(
            WorkflowRun.objects.for_tenant(tenant_id)
            .select_for_update()
            .filter(subject_type=subject_type, subject_id=subject_id, status=RunStatus.NOT_STARTED)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if later:
            WorkflowRun.objects.for_tenant(tenant_id).filter(pk__in=later).update(
                status=RunStatus.CANCELLED, finished_at=sql.now()
            )
    for run_id in later:
        log.record("run", run_id, RunStatus.NOT_STARTED, RunStatus.CANCELLED)


def retry_run(run: WorkflowRun, step_run: StepRun, *, actor: Any, log: UnitOfWork) -> None:
    """A failed run (locked) resumes at its failed step `step_run`, which runs again from its
    first attempt. A human step cannot: its task stays, cancelled, as the record of why it
    failed (one task per step run)."""
    spec = registry.get(step_run.action)
    if spec is not None and kind_of(spec).human:
        raise Conflict(
            f"Step '{step_run.name}' is a human step and cannot be retried "
            f"({step_run.last_error or 'it failed'}); start a new run.",
            "not_retryable",
        )
    with log.orm():
        log.record("run", run.pk, RunStatus.FAILED, RunStatus.RUNNING)
        run.status, run.finished_at = RunStatus.RUNNING, None
        run.save(update_fields=["status", "finished_at"])
        log.record("step_run", step_run.pk, StepRunStatus.FAILED, StepRunStatus.PENDING)
        step_run.status, step_run.attempts, step_run.finished_at = StepRunStatus.PENDING, 0, None
        step_run.save(update_fields=["status", "attempts", "finished_at"])
    activate_step(step_run, run, actor=actor, log=log)
