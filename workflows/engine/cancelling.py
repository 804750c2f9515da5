"""Cancelling runs: lock them in the engine's order (their pending tasks, active step runs,
then the runs), then cancel them with their open task and step; the subject of each is told
(`runner.subject_finished`), e.g. a transfer's chain is cancelled with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.errors import Conflict
from workflows.engine.human import cancel_task
from workflows.engine.runner import subject_finished
from workflows.engine.uow import UnitOfWork
from workflows.models import HumanTask, RunStatus, StepRun, StepRunStatus, TaskStatus, WorkflowRun

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


def runs_cancel(runs: Iterable[WorkflowRun], *, actor: Any, log: UnitOfWork) -> None:
    """Cancel running runs (their open tasks and steps too), locked by `runs_lock`. The
    subject hears of each (`on_run_finished`): a transfer's chain is cancelled with it."""
    for run in runs:
        if run.status != RunStatus.RUNNING:
            continue
        with log.orm():
            for task in (
                HumanTask.objects.select_for_update()  # locked already by the caller: no wait
                .filter(tenant_id=run.tenant_id, run=run, status=TaskStatus.PENDING)
                .order_by("pk")
            ):
                cancel_task(task, log=log)
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
            subject_finished(run, actor=actor, log=log)
