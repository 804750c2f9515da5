"""The relay: hands outbox events to Celery, or executes them here when there is no broker.

An event is marked dispatched only after the broker confirmed it, in the transaction that
holds it locked (SKIP LOCKED, so several relays share the work). A broker outage leaves the
events waiting; the next relay pass delivers them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.tenancy import set_db_context
from workflows.engine import automation
from workflows.models import OutboxEvent

logger = logging.getLogger("workflows.outbox")


def publish(event: OutboxEvent, connection: Any) -> None:
    from workflows.tasks import execute_step_run

    execute_step_run.apply_async(
        args=[event.payload["step_run_id"]],
        headers={"idempotency_key": event.payload.get("idempotency_key", "")},
        connection=connection,
        queue=settings.CELERY_TASK_DEFAULT_QUEUE,
        retry=False,
    )


def broker_connection() -> Any:
    """A connection to the broker named in settings now (read at call time, not import)."""
    from config.celery import app

    return app.connection_for_write(settings.CELERY_BROKER_URL, connect_timeout=3)


def relay(*, event_ids: Sequence[int] | None = None, limit: int = 100) -> int:
    """Publish due, undispatched events; returns how many were published."""
    published = 0
    with transaction.atomic():
        set_db_context(bypass=True)  # the relay serves every tenant
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
            try:
                with broker_connection() as connection:
                    connection.ensure_connection(max_retries=1)
                    for event in events:
                        publish(event, connection)
                        done.append(event.pk)
            except Exception as exc:  # noqa: BLE001  (broker down: the rest waits)
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


def execute_in_process(event_id: int) -> None:
    """No broker (the embedded default): run the step here, retries included, in order."""
    step_run_id: int | None = None
    while True:
        with transaction.atomic():
            set_db_context(bypass=True)
            event = (
                OutboxEvent.objects.unscoped()
                .select_for_update(skip_locked=True)
                .filter(pk=event_id, dispatched_at__isnull=True)
                .first()
            )
            if event is None:
                return
            OutboxEvent.objects.filter(pk=event.pk).update(dispatched_at=timezone.now())
            step_run_id = event.payload["step_run_id"]
        automation.sleep((event.available_at - timezone.now()).total_seconds())
        automation.execute_step(step_run_id)
        with transaction.atomic():
            set_db_context(bypass=True)
            retry = _next_retry(step_run_id)
        if retry is None:
            return
        event_id = retry


def _next_retry(step_run_id: int) -> int | None:
    return (
        OutboxEvent.objects.unscoped()
        .filter(
            topic=automation.TOPIC_EXECUTE,
            dispatched_at__isnull=True,
            payload__step_run_id=step_run_id,
        )
        .order_by("id")
        .values_list("pk", flat=True)
        .first()
    )
