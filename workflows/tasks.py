"""Celery tasks. Idempotent: a redelivered message finds its attempt made (or in flight, or the
step run done) and does nothing; see workflows.engine.automation.

A database error (a restart, a lost connection) does not lose the task: it is retried with
capped exponential back-off, carrying what was done already (the claimed attempt, and the
call's result if the call was made) so the retry records it rather than calling again.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task, signals
from django.db import connection

from core.logging import connect_celery
from workflows import metrics
from workflows.engine import automation, jobs

logger = logging.getLogger("workflows.tasks")
connect_celery()  # task context on log lines, whichever Celery app loads these tasks

DB_RETRY_FIRST = 0.5
DB_RETRY_MAX = 30.0


@shared_task(
    bind=True,
    name="workflows.execute_step_run",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,  # the lease and the sweep bound the damage; the database will be back
)
def execute_step_run(
    self: Any,
    step_run_id: int,
    attempts: int | None = None,
    tenant_id: int | None = None,
    claim: dict[str, Any] | None = None,
    result: dict[str, Any] | None = None,
) -> str:
    claimed = automation.Claim(**claim) if claim else None
    called = automation.CallResult(**result) if result else None
    try:
        if claimed is None:
            outcome = automation.claim(step_run_id, attempts, tenant_id=tenant_id)
            if isinstance(outcome, automation.Outcome):
                return outcome.status
            claimed = outcome
        if called is None:
            called = automation.call(claimed)
            if called is None:
                return "superseded"
        return automation.record(claimed, called).status
    except automation.DB_ERRORS as exc:
        _drop_connection()
        countdown = min(DB_RETRY_FIRST * 2**self.request.retries, DB_RETRY_MAX)
        logger.warning(
            "step run %s: database error (%s), task retry %s in %.1fs",
            step_run_id,
            str(exc).strip() or type(exc).__name__,
            self.request.retries + 1,
            countdown,
            extra={"step_run_id": step_run_id, "tenant_id": tenant_id},
        )
        # A new message carries the state; this one is acknowledged only once that one is
        # published (if the broker is down too, the lease runs out and the relay's sweep
        # re-enqueues the step).
        raise self.retry(
            exc=exc,
            countdown=countdown,
            kwargs={
                "attempts": attempts,
                "tenant_id": tenant_id,
                "claim": automation.claim_to_json(claimed) if claimed else None,
                "result": automation.result_to_json(called) if called else None,
            },
        ) from exc


@shared_task(name="workflows.run_due_jobs", ignore_result=True)
def run_due_jobs(limit: int = 100) -> int:
    """One poll of the due jobs, for a deployment that schedules it with Celery beat instead
    of (or beside) the relay's loop, which polls them too. Pollers never run a job twice."""
    return jobs.run_due(limit=limit, worker="celery")


def _drop_connection() -> None:
    try:
        connection.close()
    except Exception:  # noqa: BLE001  (it is gone already)
        logger.debug("closing a broken database connection failed", exc_info=True)


# Celery task outcomes for /metrics (workflows.metrics), connected where Celery runs.
@signals.task_success.connect(weak=False)
def _task_succeeded(sender: Any = None, **kwargs: Any) -> None:
    metrics.count_celery_task(sender, "success")


@signals.task_failure.connect(weak=False)
def _task_failed(sender: Any = None, **kwargs: Any) -> None:
    metrics.count_celery_task(sender, "failure")


@signals.task_retry.connect(weak=False)
def _task_retried(sender: Any = None, **kwargs: Any) -> None:
    metrics.count_celery_task(sender, "retry")
