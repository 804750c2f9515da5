"""The `automated` step kind (e.g. `send_email`, `webhook`): the step runs, and a worker
executes its handler after commit (see `automation`)."""

from __future__ import annotations

from typing import Any

from workflows.engine.kinds import StepKind, register_step_kind
from workflows.engine.rows import update
from workflows.engine.uow import UnitOfWork
from workflows.models import StepRun, StepRunStatus, WorkflowRun


class AutomatedKind(StepKind):
    key, human = "automated", False

    def activate(
        self, step_run: StepRun, run: WorkflowRun, *, actor: Any, log: UnitOfWork, now: Any
    ) -> None:
        from workflows.engine import automation  # it imports the runner's callers back

        step_run.status, step_run.started_at = StepRunStatus.RUNNING, now
        log.execute(update(step_run, ["status", "started_at"]))
        log.record("step_run", step_run.pk, StepRunStatus.PENDING, StepRunStatus.RUNNING)
        automation.dispatch(step_run)


AUTOMATED = register_step_kind(AutomatedKind())
