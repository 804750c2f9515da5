"""Celery tasks. Idempotent: a redelivered message finds its step run done and does nothing."""

from __future__ import annotations

from celery import shared_task

from workflows.engine import automation


@shared_task(name="workflows.execute_step_run", acks_late=True, reject_on_worker_lost=True)
def execute_step_run(step_run_id: int) -> str:
    return automation.execute_step(step_run_id).status
