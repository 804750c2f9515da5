"""The relay: hands outbox events to Celery, or executes them here when there is no broker.

An event is marked dispatched only after the broker confirmed it, in the transaction that
holds it locked (SKIP LOCKED, so several relays share the work). A broker outage leaves the
events waiting; the next relay pass delivers them. The publish right after a request's commit
tries the broker once, briefly, and leaves the event to the relay when it is down.

The relay also sweeps: a step run `running` with no event or retry job waiting, none
dispatched lately and no attempt in flight (or one whose lease ran out: its worker was lost)
gets a new event; and each pass it polls the due jobs (`jobs.run_due`: retries, timers). A
lost database connection makes the relay reconnect with capped exponential back-off.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from core.tenancy import set_db_context
from workflows.engine import automation, jobs
from workflows.models import OutboxEvent, StepRun, StepRunStatus

logger = logging.getLogger("workflows.outbox")

# After a request's commit: one short try, no retry, and a broker found down is left alone
# (by this process) for a few seconds: the relay delivers meanwhile.
PUBLISH_CONNECT_TIMEOUT = 0.5
BROKER_DOWN_SECONDS = 5.0
_broker_down_until: dict[str, float] = {}

# The relay's back-off while the database is unreachable.
DB_RETRY_FIRST = 0.5
DB_RETRY_MAX = 30.0


def publish(event: OutboxEvent, connection: Any) -> None:
    from workflows.tasks import execute_step_run

    execute_step_run.apply_async(
        args=[event.payload["step_run_id"]],
        # The event's tenant travels with it: a worker needs no cross-tenant lookup.
        kwargs={"attempts": event.payload.get("attempts"), "tenant_id": event.tenant_id},
        headers={"idempotency_key": event.payload.get("idempotency_key", "")},
        connection=connection,
        queue=settings.CELERY_TASK_DEFAULT_QUEUE,
        retry=False,
    )


def broker_connection(*, connect_timeout: float = 3.0) -> Any:
    """A connection to the broker named in settings now (read at call time, not import).

    Through the current Celery app (the project's, `config.celery` here; a host project's own
    when the apps are installed elsewhere): the engine never imports the project package."""
    from celery import current_app

    return current_app.connection_for_write(
        settings.CELERY_BROKER_URL, connect_timeout=connect_timeout
    )


def _broker_retry(exc: Exception, interval: float) -> None:
    logger.warning("outbox: broker connection failed (%s), retry in %.1fs", exc, interval)


def relay(
    *,
    event_ids: Sequence[int] | None = None,
    limit: int = 100,
    fail_fast: bool = False,
    tenant_id: int | None = None,
) -> int:
    """Publish due, undispatched events; returns how many were published.

    `fail_fast` (the publish after a request's commit): one connection attempt with a short
    timeout and no retry, skipped while this process saw the broker down a moment ago.
    `tenant_id` (the same caller, in the web process): the events are that tenant's, and the
    web process's login may not take the platform role."""
    url = settings.CELERY_BROKER_URL
    if fail_fast and _broker_down_until.get(url, 0.0) > time.monotonic():
        return 0  # the broker was down a moment ago: the relay has the event
    published = 0
    with transaction.atomic():
        if tenant_id is None:
            set_db_context(bypass=True)  # the relay serves every tenant
        else:
            set_db_context(tenant_id=tenant_id)
        pending = (
            OutboxEvent.objects.unscoped()
            .select_for_update(skip_locked=True)
            .filter(dispatched_at__isnull=True, available_at__lte=timezone.now())
            .order_by("id")
        )
        if event_ids is not None:
            pending = pending.filter(pk__in=list(event_ids))
        done: list[int] = []
        events = list(pending[:limit])
        if events:
            timeout = PUBLISH_CONNECT_TIMEOUT if fail_fast else 3.0
            try:
                with broker_connection(connect_timeout=timeout) as conn:
                    conn.ensure_connection(max_retries=0 if fail_fast else 1, errback=_broker_retry)
                    for event in events:
                        publish(event, conn)
                        done.append(event.pk)
                _broker_down_until.pop(url, None)
            except Exception as exc:  # noqa: BLE001  (broker down: the rest waits)
                if fail_fast:
                    _broker_down_until[url] = time.monotonic() + BROKER_DOWN_SECONDS
                waiting = [e.pk for e in events if e.pk not in done]
                OutboxEvent.objects.filter(pk__in=waiting).update(
                    publish_attempts=F("publish_attempts") + 1
                )
                logger.warning(
                    "outbox: broker unavailable, %s event(s) wait: %s", len(waiting), exc
                )
        if done:
            OutboxEvent.objects.filter(pk__in=done).update(dispatched_at=timezone.now())
            published = len(done)
    if published:
        logger.info("outbox: published %s event(s)", published)
    return published


def sweep(*, limit: int = 100) -> int:
    """Give an event to every step run left `running` with nothing that will move it.

    Such a step run has no undispatched event, no event dispatched within
    WORKFLOWS_SWEEP_AFTER_SECONDS (its message may still be queued) and no attempt in flight
    (`claimed_until` unset and started a while ago, or the lease ran out). A duplicate is
    harmless: the claim lets one message make the attempt. Returns how many were re-enqueued."""
    now = timezone.now()
    quiet_since = now - timedelta(seconds=float(settings.WORKFLOWS_SWEEP_AFTER_SECONDS))
    enqueued: list[int] = []
    with transaction.atomic():
        set_db_context(bypass=True)  # cross-tenant platform work, as the relay
        candidates = list(
            StepRun.objects.unscoped()
            .select_for_update(of=("self",), skip_locked=True)
            .filter(status=StepRunStatus.RUNNING)
            .filter(
                Q(claimed_until__isnull=True, started_at__lt=quiet_since) | Q(claimed_until__lt=now)
            )
            .order_by("id")[:limit]
        )
        if not candidates:
            return 0
        ids = [s.pk for s in candidates]
        # Undispatched events are few (a partial index); look at dispatched ones only for the
        # step runs that have none.
        busy = _with_events(ids, dispatched_at__isnull=True)
        rest = [i for i in ids if i not in busy]
        if rest:
            busy |= _with_events(rest, dispatched_at__gte=quiet_since)
        busy |= _with_retry_jobs([s for s in candidates if s.pk not in busy])
        for step_run in candidates:
            if step_run.pk in busy:
                continue
            automation.write_event(step_run)  # the relay's next pass publishes it
            enqueued.append(step_run.pk)
    if enqueued:
        logger.warning(
            "outbox sweep: %s running step run(s) had nothing to move them, re-enqueued: %s",
            len(enqueued),
            enqueued,
        )
    return len(enqueued)


def _with_events(step_run_ids: list[int], **event_filter: Any) -> set[int]:
    """Which of these step runs have an execute event matching `event_filter`."""
    return set(
        OutboxEvent.objects.unscoped()
        .filter(
            topic=automation.TOPIC_EXECUTE, payload__step_run_id__in=step_run_ids, **event_filter
        )
        .values_list("payload__step_run_id", flat=True)
    )


def _with_retry_jobs(step_runs: list[StepRun]) -> set[int]:
    """Which of these step runs wait for a retry job (their back-off is not over)."""
    keys = {(s.tenant_id, automation.retry_key(s.pk)): s.pk for s in step_runs}
    return {keys[pair] for pair in jobs.live_keys(list(keys))}


def run_relay(
    *,
    interval: float = 1.0,
    sweep_every: float = 30.0,
    should_stop: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], None] | None = None,
) -> None:
    """The relay loop: sweep at start and every `sweep_every` seconds, relay, run the due jobs,
    and on a lost database reconnect with capped exponential back-off (each retry logged)."""
    sleep = sleep or _sleep
    failures = 0
    next_sweep = 0.0
    while not should_stop():
        try:
            if time.monotonic() >= next_sweep:
                sweep()
                next_sweep = time.monotonic() + sweep_every
            count = relay()
            count += jobs.run_due(worker="relay")
        except Exception as exc:  # noqa: BLE001  (the relay must outlive any one pass)
            failures += 1
            delay = min(DB_RETRY_FIRST * 2 ** (failures - 1), DB_RETRY_MAX)
            if isinstance(exc, automation.DB_ERRORS):
                logger.warning(
                    "outbox relay: database unavailable (%s); reconnect attempt %s in %.1fs",
                    str(exc).strip() or type(exc).__name__,
                    failures,
                    delay,
                )
            else:
                logger.exception("outbox relay: pass failed; retry %s in %.1fs", failures, delay)
            _drop_connection()
            sleep(delay)
            continue
        if failures:
            logger.warning("outbox relay: database back after %s retries", failures)
            failures = 0
        if count == 0:
            sleep(interval)


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def _drop_connection() -> None:
    try:
        connection.close()
    except Exception:  # noqa: BLE001  (it is gone already)
        logger.debug("closing a broken database connection failed", exc_info=True)


def execute_in_process(event_id: int, tenant_id: int) -> None:
    """No broker (the embedded default): run the event's step attempt here, now, as the
    event's tenant (this may be the web process, after a request's commit). A failed attempt's
    retry is a job, run by a poller when due: nothing here waits for it."""
    with transaction.atomic():
        set_db_context(tenant_id=tenant_id)
        event = (
            OutboxEvent.objects.unscoped()
            .select_for_update(skip_locked=True)
            .filter(pk=event_id, dispatched_at__isnull=True, available_at__lte=timezone.now())
            .first()
        )
        if event is None:
            return
        OutboxEvent.objects.filter(pk=event.pk).update(dispatched_at=timezone.now())
        step_run_id = event.payload["step_run_id"]
        expected = event.payload.get("attempts")
    automation.execute_step(step_run_id, expected_attempts=expected, tenant_id=tenant_id)


def run_left_over(*, limit: int = 1000) -> tuple[int, int]:
    """No broker, at start (`relay_outbox --once`): what a stopped process left behind. Sweeps,
    then runs every due event here, each as its tenant; returns (swept, executed). Events whose
    retry time has not come stay for the next start."""
    swept = sweep(limit=limit)
    with transaction.atomic():
        set_db_context(bypass=True)  # a management command: every tenant's events
        due = list(
            OutboxEvent.objects.unscoped()
            .filter(dispatched_at__isnull=True, available_at__lte=timezone.now())
            .order_by("id")
            .values_list("pk", "tenant_id")[:limit]
        )
    for event_id, tenant_id in due:
        execute_in_process(event_id, tenant_id)
    return swept, len(due)
