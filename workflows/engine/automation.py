"""Automated steps: an outbox event per execution, a relay to Celery, idempotent execution.

`dispatch` writes an OutboxEvent in the transaction that set the step running. After commit
the event is published to the broker at once when one is configured (the relay publishes it
later if the broker is down), or executed in-process when none is (the embedded default).

`execute_step` locks the step run and does nothing unless it is still `running`, so a
redelivered message never repeats an effect. A failure that may pass (network, 5xx) is
retried with exponential back-off through a new, delayed outbox event; a step that keeps
failing, or fails for good, fails its run with the error kept (no traceback).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.tenancy import set_db_context
from workflows.engine.registry import registry
from workflows.engine.transitions import TransitionLog
from workflows.models import OutboxEvent, StepRun, StepRunStatus

logger = logging.getLogger("workflows.engine")

TOPIC_EXECUTE = "step_run.execute"
DEFAULT_MAX_ATTEMPTS = 3


class ActionError(Exception):
    """The action failed for good (e.g. a 4xx from a webhook): no retry."""


class RetryableActionError(Exception):
    """The action may succeed later (network error, timeout, 5xx)."""


@dataclass(frozen=True)
class Outcome:
    status: str
    retry_in: float | None = None


def broker_configured() -> bool:
    return bool(settings.CELERY_BROKER_URL)


def backoff(attempts: int) -> float:
    base = float(settings.WORKFLOWS_RETRY_BASE_SECONDS)
    return min(base * (2 ** max(attempts - 1, 0)), float(settings.WORKFLOWS_RETRY_MAX_DELAY))


def dispatch(step_run: StepRun, *, delay_s: float = 0.0) -> OutboxEvent:
    """Inside the transaction that made the step `running`: record that it must execute.

    With a delay (a retry) the event waits for the relay, or for the in-process loop."""
    event = OutboxEvent.objects.create(
        tenant_id=step_run.tenant_id,
        topic=TOPIC_EXECUTE,
        payload={"step_run_id": step_run.pk, "idempotency_key": str(step_run.idempotency_key)},
        available_at=timezone.now() + timedelta(seconds=delay_s),
    )
    if delay_s <= 0:
        transaction.on_commit(lambda: deliver_now(event.pk))
    return event


def deliver_now(event_id: int) -> None:
    """After commit: publish the event, or (no broker) execute it here."""
    from workflows.engine import outbox

    if broker_configured():
        outbox.relay(event_ids=[event_id])
    else:
        outbox.execute_in_process(event_id)


def execute_step(step_run_id: int) -> Outcome:
    """Run one automated step once; the step run's row lock makes redeliveries no-ops."""
    from workflows.engine import runner

    with transaction.atomic(durable=True):
        # A worker knows only the step run's id: find its tenant (explicitly cross-tenant),
        # then act as that tenant for the rest of the transaction.
        set_db_context(bypass=True)
        tenant_id = (
            StepRun.objects.unscoped().filter(pk=step_run_id).values_list("tenant_id", flat=True)
        ).first()
        if tenant_id is None:
            return Outcome("missing")
        set_db_context(tenant_id=tenant_id)
        step_run = (
            StepRun.objects.unscoped()
            .select_for_update(of=("self",))
            .select_related("run")
            .filter(pk=step_run_id)
            .first()
        )
        if step_run is None:
            return Outcome("missing")
        if step_run.status != StepRunStatus.RUNNING:
            return Outcome(step_run.status)  # already done: a redelivery does nothing
        log = TransitionLog(step_run.tenant_id, None)
        spec = registry.get(step_run.action)
        step_run.attempts += 1
        max_attempts = int((step_run.config or {}).get("max_attempts", DEFAULT_MAX_ATTEMPTS))
        outcome: Outcome
        if spec is None or spec.handler is None:
            error = f"Action '{step_run.action}' has no handler."
            runner.fail_step(step_run, step_run.run, error, actor=None, log=log)
            outcome = Outcome(StepRunStatus.FAILED)
        else:
            try:
                result = spec.handler(step_run=step_run)
            except ActionError as exc:
                runner.fail_step(step_run, step_run.run, _error_text(exc), actor=None, log=log)
                outcome = Outcome(StepRunStatus.FAILED)
            except Exception as exc:  # noqa: BLE001  (any other failure may pass: retry)
                error = _error_text(exc)
                if step_run.attempts >= max_attempts:
                    runner.fail_step(
                        step_run,
                        step_run.run,
                        f"Gave up after {step_run.attempts} attempts: {error}",
                        actor=None,
                        log=log,
                    )
                    outcome = Outcome(StepRunStatus.FAILED)
                else:
                    delay = backoff(step_run.attempts)
                    step_run.last_error = error
                    step_run.save(update_fields=["attempts", "last_error"])
                    dispatch(
                        step_run, delay_s=delay
                    )  # a delayed event: the relay publishes it when due
                    logger.info(
                        "step run %s (%s) attempt %s failed, retry in %.1fs: %s",
                        step_run.pk,
                        step_run.action,
                        step_run.attempts,
                        delay,
                        error,
                    )
                    outcome = Outcome(StepRunStatus.RUNNING, retry_in=delay)
            else:
                runner.step_finished(
                    step_run,
                    step_run.run,
                    StepRunStatus.COMPLETED,
                    actor=None,
                    log=log,
                    result=result or {},
                )
                outcome = Outcome(StepRunStatus.COMPLETED)
        if outcome.status != StepRunStatus.RUNNING:
            log.sync()  # the runner's writes first: this one goes through the ORM
            StepRun.objects.filter(pk=step_run.pk).update(attempts=step_run.attempts)
        log.flush()
        return outcome


def _error_text(exc: BaseException) -> str:
    message = str(exc).strip() or type(exc).__name__
    return message[:2000]


def sleep(seconds: float) -> None:
    if seconds > 0:
        time.sleep(seconds)


def handler_context(step_run: StepRun) -> dict[str, Any]:
    """What templates may use: the subject's summary fields plus run and step names."""
    from workflows.engine.subjects import describe_subjects

    run = step_run.run
    subject = describe_subjects(run.tenant_id, [(run.subject_type, run.subject_id)])[
        (run.subject_type, run.subject_id)
    ]
    return {
        **{k: v for k, v in subject.items() if k not in ("type", "id")},
        "subject_type": run.subject_type,
        "subject_id": run.subject_id,
        "workflow": run.workflow_name,
        "step": step_run.name,
        "run_id": run.pk,
    }
