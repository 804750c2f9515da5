"""Automated steps: dispatched after commit, executed with the step run locked.

Each execution carries the step run's idempotency key; a step run already finished is
skipped, so a redelivered event never repeats its effect.
"""

from __future__ import annotations

import logging

from django.db import transaction

from workflows.engine.registry import registry
from workflows.engine.transitions import TransitionLog
from workflows.models import StepRun, StepRunStatus

logger = logging.getLogger("workflows.engine")


def dispatch(step_run: StepRun) -> None:
    """Called inside the transaction that set the step running: run it once that commits."""
    step_run_id = step_run.pk
    transaction.on_commit(lambda: execute_step(step_run_id))


def execute_step(step_run_id: int) -> str:
    """Run one automated step; returns the step run's status afterwards."""
    from workflows.engine import runner

    with transaction.atomic():
        try:
            step_run = (
                StepRun.objects.unscoped()
                .select_for_update(of=("self",))
                .select_related("run")
                .get(pk=step_run_id)
            )
        except StepRun.DoesNotExist:
            return "missing"
        if step_run.status != StepRunStatus.RUNNING:
            return step_run.status  # already done: a redelivery does nothing
        log = TransitionLog(step_run.tenant_id, None)
        spec = registry.get(step_run.action)
        step_run.attempts += 1
        step_run.save(update_fields=["attempts"])
        if spec is None or spec.handler is None:
            runner._fail_step(
                step_run,
                step_run.run,
                f"Action '{step_run.action}' has no handler.",
                actor=None,
                log=log,
            )
        else:
            try:
                result = spec.handler(step_run=step_run)
            except Exception as exc:  # the handler's failure is the step's failure
                logger.warning("step run %s (%s) failed: %s", step_run.pk, step_run.action, exc)
                runner._fail_step(
                    step_run, step_run.run, f"{type(exc).__name__}: {exc}", actor=None, log=log
                )
            else:
                runner.step_finished(
                    step_run,
                    step_run.run,
                    StepRunStatus.COMPLETED,
                    actor=None,
                    log=log,
                    result=result or {},
                )
        log.flush()
        return step_run.status
