"""What an engine event does once its operation has committed (jobs registered in
`WorkflowsConfig.ready`):

- `engine.event` (one job per event, written by the engine's unit of work: see
  `workflows.engine.events`): one webhook delivery per subscribed subscription
  (`webhook_delivery.enqueue`, keyed by the event's key: enqueued twice, delivered once) and a
  `webhook.deliver` job for each; for `task.created`, a `task_opened` email to each person the
  task awaits.
- `webhook.deliver`: one signed POST (`webhook_delivery.attempt`); on "retry" the next
  attempt is scheduled as a new job, due after `DELIVERY_RETRY`'s back-off (the attempt's record
  stays: a raising handler's writes are rolled back); after its last attempt, `give_up`. The
  kind is registered with the same policy, for a handler that fails (the database).

Emails: `notifications.notify` is idempotent per (kind, task, person): a person's row and
mail go together, and a job run again skips whoever was mailed. It sends inside the job's
transaction, so a mail sent whose transaction then rolls back (another job of the batch
failed) is sent again when the job runs again: at least once, never lost.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from accounts.models import NotificationKind
from workflows import metrics, notifications, webhook_delivery
from workflows.engine import events, jobs
from workflows.engine.assignment import NOTIFY_JOB
from workflows.engine.batches import batch_memo
from workflows.engine.human import opened_task_audience
from workflows.engine.retry import RetryPolicy
from workflows.engine.subjects import describe_subjects
from workflows.models import HumanTask, Job, WebhookDelivery, WorkflowRun

DELIVER_KIND = "webhook.deliver"
# 10 s, 20 s, 40 s, 80 s between the 5 attempts (each wait capped at 10 minutes).
DELIVERY_RETRY = RetryPolicy(initial_delay=10.0, coefficient=2.0, max_delay=600.0, max_attempts=5)


def _task_data(task: HumanTask) -> dict[str, Any]:
    return {
        "id": task.pk,
        "name": task.name,
        "action": task.action,
        "run_id": task.run_id,
        "step_run_id": task.step_run_id,
        "decided_by": task.decided_by_id,
        "decided_at": task.decided_at.isoformat() if task.decided_at else None,
        "due_at": task.due_at.isoformat() if task.due_at else None,
    }


def _run_data(run: WorkflowRun) -> dict[str, Any]:
    return {
        "id": run.pk,
        "workflow": run.workflow_code,
        "workflow_name": run.workflow_name,
        "sequence": run.sequence,
        "chain_length": run.chain_length,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


def describe(tenant_id: int, payload: dict[str, Any]) -> tuple[dict[str, Any], str] | None:
    """The webhook payload of an event job's `payload` and its delivery key; None when its
    object is gone."""
    event, object_type = payload["event"], payload["object_type"]
    data: dict[str, Any] = {"status": payload.get("status", "")}
    subject = payload.get("subject")
    key = f"event:{event}:{object_type}:{payload.get('object_id')}"
    if object_type == "task":
        tasks = HumanTask.objects.filter(tenant_id=tenant_id)
        if "step_run_id" in payload:  # task.created: found by its step run
            task = tasks.filter(step_run_id=payload["step_run_id"]).first()
        else:
            task = tasks.filter(pk=payload["object_id"]).first()
        if task is None:
            return None
        key = f"event:{event}:task:{task.pk}"
        data["task"] = _task_data(task)
        data["run_id"] = task.run_id
        subject = {"type": task.subject_type, "id": task.subject_id}
    elif object_type == "run":
        run = WorkflowRun.objects.filter(tenant_id=tenant_id, pk=payload["object_id"]).first()
        if run is None:
            return None
        data["run"] = _run_data(run)
        data["run_id"] = run.pk
        subject = {"type": run.subject_type, "id": run.subject_id}
    if subject:
        ref = (str(subject["type"]), int(subject["id"]))
        data["subject"] = {**describe_subjects(tenant_id, [ref])[ref], "type": ref[0], "id": ref[1]}
    return data, key


def handle_event(job: Job) -> None:
    tenant_id = job.tenant_id
    event, status = job.payload["event"], str(job.payload.get("status", ""))
    # The webhook payload is read only for a tenant that subscribed to the event: most
    # events of most tenants go to no webhook (a query instead of three or four).
    memo = batch_memo()  # once per event name for a batch of one tenant's events
    key = ("webhook subscribers", tenant_id, event)
    if key not in memo:
        memo[key] = webhook_delivery.subscribers(tenant_id, event)
    subscription_ids = memo[key]
    if subscription_ids:
        described = describe(tenant_id, job.payload)
        if described is None:  # its object is gone: nothing to tell anyone
            metrics.count_event(event, status)
            return
        data, key = described
        for delivery_id in webhook_delivery.enqueue(tenant_id, event, data, key, subscription_ids):
            schedule_delivery(tenant_id, delivery_id)
    if event == "task.created":
        opened = opened_task_audience(tenant_id, int(job.payload["step_run_id"]))
        if opened is not None:
            task_id, audience = opened
            notifications.notify(NotificationKind.TASK_OPENED, task_id, audience, tenant_id)
    metrics.count_event(event, status)  # last: a job that fails and runs again counts once


def handle_delivery(job: Job) -> None:
    delivery_id = int(job.payload["delivery_id"])
    result = webhook_delivery.attempt(delivery_id, tenant_id=job.tenant_id)
    if result != "retry":
        return
    # The next attempt is a new job rather than this one raising: raising would roll back the
    # attempt's record (the delivery log's count, status and error) with the job's writes.
    tries = (
        WebhookDelivery.objects.filter(tenant_id=job.tenant_id, pk=delivery_id)
        .values_list("attempts", flat=True)
        .first()
    ) or 0
    if not DELIVERY_RETRY.should_retry(tries):
        webhook_delivery.give_up(delivery_id, tenant_id=job.tenant_id)
        return
    schedule_delivery(
        job.tenant_id,
        delivery_id,
        attempt=tries + 1,
        due_at=timezone.now() + timedelta(seconds=DELIVERY_RETRY.delay(tries)),
    )


def schedule_delivery(
    tenant_id: int, delivery_id: int, *, attempt: int = 1, due_at: datetime | None = None
) -> Job:
    return jobs.schedule(
        tenant_id=tenant_id,
        kind=DELIVER_KIND,
        payload={"delivery_id": delivery_id},
        due_at=due_at,
        key=f"webhook.deliver:{delivery_id}:{attempt}",
    )


def handle_notify(job: Job) -> None:
    """A notice the engine scheduled in the operation it belongs to (e.g. `task_reassigned`)."""
    payload = job.payload
    notifications.notify(
        str(payload["kind"]),
        int(payload["task_id"]),
        [int(u) for u in payload["user_ids"]],
        job.tenant_id,
        occurrence=str(payload.get("occurrence", "")),
    )


def register() -> None:
    jobs.register_job(events.JOB_KIND, handle_event)
    jobs.register_job(NOTIFY_JOB, handle_notify)
    jobs.register_job(DELIVER_KIND, handle_delivery, retry=DELIVERY_RETRY)
