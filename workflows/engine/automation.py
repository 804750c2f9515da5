"""Automated steps: an outbox event per execution, a relay to Celery, idempotent execution.

`dispatch` writes an OutboxEvent in the transaction that set the step running. After commit
the event is published to the broker at once when one is configured (the relay publishes it
later if the broker is down), or executed in-process when none is (the embedded default).

An execution has three steps, none of which holds a row lock while the outside world is called:

1. `claim`: lock the step run; unless it is still `running`, with no attempt in flight (or
   one whose lease expired: its worker was lost) and the attempt the message was sent for,
   count the attempt and take a lease (`claimed_until`), then commit. A redelivered or
   duplicate message does nothing.
2. `call`: run the action's handler (no lock; a read-only transaction for its reads).
3. `record`: lock again; if it is still the same attempt and still running, advance the
   run, fail it, or schedule a retry and release the lease.

A failure that may pass (network, 5xx) is retried as the action's RetryPolicy says
(`ActionSpec.retry`; a step's `max_attempts` overrides its attempts); a step that keeps
failing, or fails for good, fails its run with the error kept (no traceback). A retry is a
job (`workflows.engine.jobs`, kind `workflows.step_retry`) due after the back-off: when a
poller runs it, it writes the step's next event, published or (no broker) run after commit.
Nothing here ever waits for a retry: not a request, not a worker.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from core.logging import run_fields
from core.tenancy import set_db_context
from workflows.engine import jobs
from workflows.engine.registry import registry
from workflows.engine.retry import DEFAULT as DEFAULT_RETRY
from workflows.engine.retry import RetryPolicy
from workflows.engine.transitions import TransitionLog
from workflows.models import Job, OutboxEvent, StepRun, StepRunStatus

logger = logging.getLogger("workflows.engine")

TOPIC_EXECUTE = "step_run.execute"
RETRY_KIND = "workflows.step_retry"
# A lost or restarted database: worth retrying once it is back.
DB_ERRORS = (OperationalError, InterfaceError)


class ActionError(Exception):
    """The action failed for good (e.g. a 4xx from a webhook): no retry."""


class RetryableActionError(Exception):
    """The action may succeed later (network error, timeout, 5xx)."""


@dataclass(frozen=True)
class Outcome:
    status: str
    retry_in: float | None = None


@dataclass(frozen=True)
class Claim:
    """Attempt number `attempt` of a step run, counted and leased (JSON-able for a retry)."""

    step_run_id: int
    tenant_id: int
    attempt: int


@dataclass(frozen=True)
class CallResult:
    kind: str  # "ok" | "failed" (for good) | "retryable"
    result: dict[str, Any] = field(default_factory=dict)
    error: str = ""


def broker_configured() -> bool:
    return bool(settings.CELERY_BROKER_URL)


def retry_policy(step_run: StepRun) -> RetryPolicy:
    """The action's policy, with the step's own `max_attempts` if its config sets one."""
    spec = registry.get(step_run.action)
    policy = spec.retry if spec is not None else DEFAULT_RETRY
    configured = (step_run.config or {}).get("max_attempts")
    return policy.with_attempts(int(configured) if configured is not None else None)


def retry_key(step_run_id: int) -> str:
    return f"step_run:{step_run_id}:retry"


def lease_seconds(step_run: StepRun) -> float:
    timeout = float((step_run.config or {}).get("timeout_s", 0) or 0)
    return max(float(settings.WORKFLOWS_STEP_LEASE_SECONDS), timeout + 5.0)


def write_event(step_run: StepRun, *, delay_s: float = 0.0) -> OutboxEvent:
    """The event asking for the attempt after `step_run.attempts` (so a late duplicate of an
    earlier event, or of this one, finds its attempt made and does nothing)."""
    return OutboxEvent.objects.create(
        tenant_id=step_run.tenant_id,
        topic=TOPIC_EXECUTE,
        payload={
            "step_run_id": step_run.pk,
            "idempotency_key": str(step_run.idempotency_key),
            "attempts": step_run.attempts,
        },
        available_at=timezone.now() + timedelta(seconds=delay_s),
    )


def dispatch(step_run: StepRun) -> OutboxEvent:
    """Inside the transaction that made the step `running` (or that runs its retry job):
    record that it must execute; after commit it is published, or run here (no broker)."""
    event = write_event(step_run)
    transaction.on_commit(lambda: deliver_now(event.pk, step_run.tenant_id))
    return event


def schedule_retry(step_run: StepRun, delay_s: float) -> Job:
    """A job that dispatches the step's next attempt once `delay_s` has passed."""
    return jobs.schedule(
        tenant_id=step_run.tenant_id,
        kind=RETRY_KIND,
        payload={"step_run_id": step_run.pk, "attempts": step_run.attempts},
        due_at=timezone.now() + timedelta(seconds=delay_s),
        key=retry_key(step_run.pk),
    )


def _run_retry(job: Job) -> None:
    """The retry job, as its tenant: dispatch the next attempt, unless the step moved on
    (completed, cancelled, retried by an admin) or an attempt is in flight."""
    step_run = StepRun.objects.filter(pk=job.payload["step_run_id"]).first()
    if (
        step_run is None
        or step_run.status != StepRunStatus.RUNNING
        or step_run.attempts != job.payload.get("attempts")
        or step_run.claimed_until is not None
    ):
        logger.info(
            "step run %s moved on: its retry job %s does nothing",
            job.payload,
            job.pk,
            extra={"job_id": job.pk, "tenant_id": job.tenant_id, **run_fields(step_run)},
        )
        return
    dispatch(step_run)


jobs.register_job(RETRY_KIND, _run_retry)


def deliver_now(event_id: int, tenant_id: int) -> None:
    """After commit: publish the event (giving up at once if the broker is down: the relay
    has it), or (no broker) execute it here."""
    from workflows.engine import outbox

    if broker_configured():
        outbox.relay(event_ids=[event_id], fail_fast=True, tenant_id=tenant_id)
    else:
        outbox.execute_in_process(event_id, tenant_id)


def execute_step(
    step_run_id: int, *, expected_attempts: int | None = None, tenant_id: int | None = None
) -> Outcome:
    """Run one automated step attempt: claim (and commit), call, record."""
    claimed = claim(step_run_id, expected_attempts, tenant_id=tenant_id)
    if isinstance(claimed, Outcome):
        return claimed
    result = call(claimed)
    if result is None:
        return Outcome("superseded")
    return record(claimed, result)


def _tenant_of(step_run_id: int) -> int | None:
    # A worker knows only the step run's id: find its tenant (explicitly cross-tenant).
    set_db_context(bypass=True)
    return (
        StepRun.objects.unscoped().filter(pk=step_run_id).values_list("tenant_id", flat=True)
    ).first()


def _locked(step_run_id: int) -> StepRun | None:
    return (
        StepRun.objects.unscoped()
        .select_for_update(of=("self",))
        .select_related("run")
        .filter(pk=step_run_id)
        .first()
    )


def claim(
    step_run_id: int, expected_attempts: int | None = None, *, tenant_id: int | None = None
) -> Claim | Outcome:
    """Count and lease the next attempt, and commit, before anything is called. Messages carry
    their tenant; one without (sent before they did) is looked up as platform code."""
    with transaction.atomic(durable=True):
        if tenant_id is None:
            tenant_id = _tenant_of(step_run_id)
        if tenant_id is None:
            return Outcome("missing")
        set_db_context(tenant_id=tenant_id)
        step_run = _locked(step_run_id)
        if step_run is None:
            return Outcome("missing")
        if step_run.status != StepRunStatus.RUNNING:
            return Outcome(step_run.status)  # already done: a redelivery does nothing
        now = timezone.now()
        lost = False
        if step_run.claimed_until is not None:
            if step_run.claimed_until > now:
                return Outcome("leased")  # an attempt is in flight: its worker records it
            lost = True  # the lease ran out unrecorded: that worker is gone, take over
            logger.warning(
                "step run %s: attempt %s was lost with its worker",
                step_run.pk,
                step_run.attempts,
                extra=run_fields(step_run),
            )
        elif expected_attempts is not None and step_run.attempts != expected_attempts:
            return Outcome("stale")  # this message's attempt was made already
        spec = registry.get(step_run.action)
        log = TransitionLog(step_run.tenant_id, None)
        if spec is None or spec.handler is None:
            step_run.attempts += 1
            _finish(step_run, log, f"Action '{step_run.action}' has no handler.")
            return Outcome(StepRunStatus.FAILED)
        if lost and not retry_policy(step_run).should_retry(step_run.attempts):
            error = step_run.last_error or "its worker was lost"
            _finish(step_run, log, f"Gave up after {step_run.attempts} attempts: {error}")
            return Outcome(StepRunStatus.FAILED)
        step_run.attempts += 1
        step_run.claimed_until = now + timedelta(seconds=lease_seconds(step_run))
        step_run.save(update_fields=["attempts", "claimed_until"])
        return Claim(step_run.pk, step_run.tenant_id, step_run.attempts)


def call(claimed: Claim) -> CallResult | None:
    """Call the action, holding no lock. None: the attempt is no longer this one's."""
    result: CallResult | None = None
    try:
        with transaction.atomic():
            set_db_context(tenant_id=claimed.tenant_id)
            step_run = (
                StepRun.objects.unscoped().select_related("run").filter(pk=claimed.step_run_id)
            ).first()
            if step_run is None or not _same_attempt(step_run, claimed):
                return None
            spec = registry.get(step_run.action)
            try:
                if spec is None or spec.handler is None:
                    raise ActionError(f"Action '{step_run.action}' has no handler.")
                value = spec.handler(step_run=step_run)
            except ActionError as exc:
                result = CallResult("failed", error=_error_text(exc))
            except Exception as exc:  # noqa: BLE001  (any other failure may pass: retry)
                final = isinstance(exc, retry_policy(step_run).non_retryable)
                result = CallResult("failed" if final else "retryable", error=_error_text(exc))
            else:
                result = CallResult("ok", result=value or {})
    except DB_ERRORS:
        if result is None:
            raise  # nothing was called: the task retries the call under the same claim
        # Only the end of the read-only transaction failed: the call's result stands.
        _drop_connection()
    return result


def record(claimed: Claim, result: CallResult) -> Outcome:
    """Write the attempt's result, if the step run is still running this attempt."""
    with transaction.atomic(durable=True):
        set_db_context(tenant_id=claimed.tenant_id)
        step_run = _locked(claimed.step_run_id)
        if step_run is None or not _same_attempt(step_run, claimed):
            logger.warning(
                "step run %s: the result of attempt %s is dropped (the step moved on)",
                claimed.step_run_id,
                claimed.attempt,
                extra={"step_run_id": claimed.step_run_id, "tenant_id": claimed.tenant_id}
                | run_fields(step_run),
            )
            return Outcome("superseded")
        log = TransitionLog(step_run.tenant_id, None)
        if result.kind == "ok":
            from workflows.engine import runner

            runner.step_finished(
                step_run,
                step_run.run,
                StepRunStatus.COMPLETED,
                actor=None,
                log=log,
                result=result.result,
            )
            _release(step_run, log)
            return Outcome(StepRunStatus.COMPLETED)
        if result.kind == "failed":
            _finish(step_run, log, result.error)
            return Outcome(StepRunStatus.FAILED)
        policy = retry_policy(step_run)
        if not policy.should_retry(step_run.attempts):
            _finish(step_run, log, f"Gave up after {step_run.attempts} attempts: {result.error}")
            return Outcome(StepRunStatus.FAILED)
        delay = policy.delay(step_run.attempts)
        step_run.last_error, step_run.claimed_until = result.error, None
        step_run.save(update_fields=["last_error", "claimed_until"])
        schedule_retry(step_run, delay)  # a job: whichever process polls runs it when due
        logger.info(
            "step run %s (%s) attempt %s failed, retry in %.1fs: %s",
            step_run.pk,
            step_run.action,
            step_run.attempts,
            delay,
            result.error,
            extra=run_fields(step_run),
        )
        log.flush()
        return Outcome(StepRunStatus.RUNNING, retry_in=delay)


def _same_attempt(step_run: StepRun, claimed: Claim) -> bool:
    return (
        step_run.status == StepRunStatus.RUNNING
        and step_run.attempts == claimed.attempt
        and step_run.claimed_until is not None
    )


def _finish(step_run: StepRun, log: TransitionLog, error: str) -> None:
    from workflows.engine import runner

    runner.fail_step(step_run, step_run.run, error, actor=None, log=log)
    _release(step_run, log)


def _release(step_run: StepRun, log: TransitionLog) -> None:
    with log.orm():  # the runner's writes first: this one goes through the ORM
        StepRun.objects.filter(pk=step_run.pk).update(
            attempts=step_run.attempts, claimed_until=None
        )
    log.flush()


def _drop_connection() -> None:
    from django.db import connection

    try:
        connection.close()
    except Exception:  # noqa: BLE001  (it is gone already)
        logger.debug("closing a broken database connection failed", exc_info=True)


def claim_to_json(claimed: Claim) -> dict[str, Any]:
    return asdict(claimed)


def result_to_json(result: CallResult) -> dict[str, Any]:
    return asdict(result)


def _error_text(exc: BaseException) -> str:
    message = str(exc).strip() or type(exc).__name__
    return message[:2000]


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
