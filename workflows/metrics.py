"""The engine's Prometheus metrics: counters of what committed operations did, the Celery tasks'
outcomes, and gauges of the backlog read when `/metrics` is scraped (README "Metrics").

Counters carry no tenant label. They are counted from the engine's events (`engine.event`
jobs, see `event_handlers`), which exist only for committed operations and run once each: a
rolled-back operation counts nothing, and the decision's hot path does no work for metrics.
Runs started and cancelled have no event: the unit of work counts them when its operation
commits (`count_runs`, in the process that ran the operation).
So they move in the process that polls the jobs (the relay, `run_jobs`, a test's
`jobs.run_due`); with several processes, `PROMETHEUS_MULTIPROC_DIR` sums them (README).
Celery's signals are connected by `workflows.tasks` (imported where Celery runs).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

RUNS_STARTED = Counter("workflows_runs_started_total", "Workflow runs started")
RUNS_CANCELLED = Counter("workflows_runs_cancelled_total", "Workflow runs cancelled")
RUNS_FINISHED = Counter(
    "workflows_runs_finished_total",
    "Workflow runs finished, by final status (completed, rejected, failed)",
    ["status"],
)
DECISIONS = Counter(
    "workflows_task_decisions_total",
    "Human tasks decided, by decision (approved, rejected, completed)",
    ["decision"],
)
TASKS_OPENED = Counter("workflows_tasks_opened_total", "Human tasks opened")
SUBJECTS_DECIDED = Counter(
    "workflows_subjects_decided_total",
    "Subjects whose chain ended, by event (transfer.approved, transfer.rejected)",
    ["event"],
)
CELERY_TASKS = Counter(
    "workflows_celery_tasks_total",
    "Celery tasks run by this process's workers, by task name and outcome",
    ["task", "outcome"],
)


def count_event(name: str, status: str) -> None:
    """One engine event, once: its job ran (see the module's docstring)."""
    if name == "task.created":
        TASKS_OPENED.inc()
    elif name == "task.decided":
        DECISIONS.labels(status).inc()
        if status == "rejected":  # a rejected task rejects its step and its run
            RUNS_FINISHED.labels("rejected").inc()
    elif name in ("run.completed", "run.failed"):
        RUNS_FINISHED.labels(name.removeprefix("run.")).inc()
    elif name.startswith("transfer."):
        SUBJECTS_DECIDED.labels(name).inc()


def count_runs(moved: dict[str, int]) -> None:
    """Runs started (from `not_started`) and cancelled, by status moved to, counted by the
    engine's unit of work when its operation commits (these moves write no event)."""
    if moved.get("running"):
        RUNS_STARTED.inc(moved["running"])
    if moved.get("cancelled"):
        RUNS_CANCELLED.inc(moved["cancelled"])


def count_celery_task(sender: Any, outcome: str) -> None:
    CELERY_TASKS.labels(str(getattr(sender, "name", None) or "unknown"), outcome).inc()


# --- gauges, read at scrape time --------------------------------------------------------------

# Crossing tenants, as the web process's role may not (it cannot become the platform role):
# the SECURITY DEFINER function `workflows_metrics_gauges()` (migration 0020), owned by the
# platform role, returns these four aggregates and nothing of any tenant's rows.
GAUGES_SQL = "SELECT * FROM workflows_metrics_gauges()"

_GAUGES = (
    ("workflows_oldest_pending_task_age_seconds", "Age of the oldest pending human task"),
    ("workflows_outbox_pending_events", "Outbox events not yet published"),
    (
        "workflows_outbox_oldest_pending_age_seconds",
        "How long the oldest publishable outbox event has waited",
    ),
    ("workflows_jobs_due_unfired", "Scheduled jobs whose due time has passed"),
)


def _age(now: datetime, oldest: datetime | None) -> float:
    return max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0


def _read_orm() -> tuple[float, float, float, float]:
    """Without PostgreSQL (the embedded SQLite of `make run`): no row-level security."""
    from django.db.models import Min

    from workflows.models import HumanTask, Job, OutboxEvent, TaskStatus
    from workflows.models.jobs import JobStatus

    now = timezone.now()
    task = HumanTask.objects.unscoped().filter(status=TaskStatus.PENDING)
    outbox = OutboxEvent.objects.unscoped().filter(dispatched_at__isnull=True)
    oldest_task = task.aggregate(m=Min("created_at"))["m"]
    oldest_event = outbox.filter(available_at__lte=now).aggregate(m=Min("available_at"))["m"]
    due = Job.objects.unscoped().filter(status=JobStatus.SCHEDULED, due_at__lte=now).count()
    return _age(now, oldest_task), float(outbox.count()), _age(now, oldest_event), float(due)


def read_gauges() -> tuple[float, float, float, float]:
    if connection.vendor != "postgresql":
        return _read_orm()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(GAUGES_SQL)
        row = cursor.fetchone()
    return tuple(float(v or 0) for v in row)  # type: ignore[return-value]


class EngineGauges:
    """A Prometheus collector: the backlog, one query per scrape. If the query fails (e.g. the
    function is missing), `workflows_metrics_gauges_up` is 0 and the gauges are left out."""

    def describe(self) -> list[Metric]:
        return []  # nothing read when registered

    def collect(self) -> Iterator[Metric]:
        try:
            values: Sequence[float] = read_gauges()
        except DatabaseError:
            values = ()
        yield GaugeMetricFamily(
            "workflows_metrics_gauges_up",
            "1 if the backlog gauges could be read",
            1 if values else 0,
        )
        for (name, doc), value in zip(_GAUGES, values, strict=False):
            yield GaugeMetricFamily(name, doc, value=value)
