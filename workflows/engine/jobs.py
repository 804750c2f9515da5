"""Durable jobs: delayed work (retries, timers) as rows with a due time, run by a poller.

- `schedule` writes a job in the caller's transaction (`schedule_statement`: the same INSERT
  for a batch of the engine's statements); a `key` names it for `cancel`, which belongs in the
  transaction that makes the job pointless. A key is unique per tenant among live jobs:
  scheduling a key that is live already leaves the live job as it is and returns it.
- `run_due` is one poll: it claims due jobs, and jobs whose lease ran out (their poller died),
  with `FOR UPDATE SKIP LOCKED` in one statement as cross-tenant platform code, commits the
  claim (status `running`, `attempts` + 1, a lease), then runs them as their tenants.
- A job runs exactly once unless its handler fails: it is marked done in the transaction of
  its handler's writes, and only if it is still this poll's (not cancelled, not taken over
  after its lease ran out); otherwise the handler's writes are rolled back. A failed handler's
  job is rescheduled with its kind's RetryPolicy back-off, or failed, `last_error` kept.
- A batch's jobs of one tenant run in one transaction, finished by one statement; if one of
  them fails, that one's failure is recorded and the others run again one by one, each in its
  own transaction. A handler's effects outside the database therefore belong after commit
  (`transaction.on_commit`, the outbox): a rolled-back transaction then had none.

Pollers: `manage.py run_jobs` (and `make run`, which starts it beside the server), the outbox
relay's loop (`relay_outbox`), or the Celery task `workflows.run_due_jobs`. Never the web
process: the claim needs the platform role.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Field, Q
from django.utils import timezone

from core import partitions
from core.tenancy import set_db_context
from workflows.engine.batches import memo_for_the_batch
from workflows.engine.retry import DEFAULT, RetryPolicy
from workflows.models import Job, JobStatus
from workflows.models.jobs import LIVE_STATUSES

logger = logging.getLogger("workflows.jobs")

Handler = Callable[[Job], None]


@dataclass(frozen=True)
class JobKind:
    kind: str
    handler: Handler
    retry: RetryPolicy


_kinds: dict[str, JobKind] = {}


def register_job(kind: str, handler: Handler, *, retry: RetryPolicy = DEFAULT) -> None:
    """Declare what runs a job of `kind` (at import or in AppConfig.ready), and its policy."""
    known = _kinds.get(kind)
    if known is not None and known.handler is not handler:
        raise ValueError(f"Job kind {kind!r} is already registered")
    _kinds[kind] = JobKind(kind, handler, retry)


def unregister_job(kind: str) -> None:
    _kinds.pop(kind, None)


# --- scheduling and cancelling (in the caller's transaction) --------------------------------

# The ON CONFLICT target repeats the WHERE of the unique index (job_live_key_unique).
_INSERT_SQL = (
    'INSERT INTO workflows_job (tenant_id, kind, payload, due_at, "key", status, attempts,'
    " locked_by, last_error, created_at) VALUES (%s, %s, %s, %s, %s, 'scheduled', 0, '', '',"
    " %s) ON CONFLICT (tenant_id, \"key\") WHERE status IN ('scheduled', 'running')"
    " AND \"key\" > '' DO NOTHING"
)


def schedule_statement(
    *,
    tenant_id: int,
    kind: str,
    payload: dict[str, Any],
    due_at: datetime | None = None,
    key: str = "",
) -> tuple[str, list[Any]]:
    """The INSERT of a job as (sql, params): a plain INSERT (no RETURNING) that a batch of
    statements can carry. A live job with the same key makes it insert nothing."""
    now = timezone.now()
    sql = _INSERT_SQL
    return sql, [
        int(tenant_id),
        kind,
        _prep("payload", payload),
        _prep("due_at", due_at or now),
        key,
        _prep("created_at", now),
    ]


def schedule(
    *,
    tenant_id: int,
    kind: str,
    payload: dict[str, Any],
    due_at: datetime | None = None,
    key: str = "",
) -> Job:
    """Write a job, in the caller's transaction; returns it (or the live job of that key)."""
    due_at = due_at or timezone.now()
    sql, params = schedule_statement(
        tenant_id=tenant_id, kind=kind, payload=payload, due_at=due_at, key=key
    )
    with connection.cursor() as cursor:
        cursor.execute(sql + " RETURNING id", params)
        row = cursor.fetchone()
    if row is None:
        return Job.objects.get(tenant_id=tenant_id, key=key, status__in=LIVE_STATUSES)
    job = Job(id=row[0], tenant_id=tenant_id, kind=kind, payload=payload, due_at=due_at, key=key)
    job._state.adding = False
    return job


def cancel(*, tenant_id: int, key: str | None = None, key_prefix: str | None = None) -> int:
    """Cancel the tenant's live jobs with this key, or whose key starts with `key_prefix`;
    returns how many. A job cancelled while it runs has its handler's writes rolled back."""
    if (key is None) == (key_prefix is None) or not (key or key_prefix):
        raise ValueError("cancel needs a non-empty key or key_prefix (one of them)")
    jobs = Job.objects.filter(tenant_id=tenant_id, status__in=LIVE_STATUSES, key__gt="")
    match = Q(key=key) if key is not None else Q(key__startswith=str(key_prefix))
    jobs = jobs.filter(match)
    return jobs.update(status=JobStatus.CANCELLED, finished_at=timezone.now(), locked_until=None)


def live_keys(pairs: list[tuple[int, str]]) -> set[tuple[int, str]]:
    """Which of these (tenant_id, key) have a live job (platform code: any tenant)."""
    if not pairs:
        return set()
    match = Q()
    for tenant_id, key in pairs:
        match |= Q(tenant_id=tenant_id, key=key)
    return set(
        Job.objects.unscoped()
        .filter(match, status__in=LIVE_STATUSES, key__gt="")
        .values_list("tenant_id", "key")
    )


# --- the poller ---------------------------------------------------------------------------------

_CLAIM_SQL = """WITH due AS (
  SELECT id FROM workflows_job WHERE status = 'scheduled' AND due_at <= %s
  ORDER BY due_at, id LIMIT %s{lock}
), lost AS (
  SELECT id FROM workflows_job WHERE status = 'running' AND locked_until < %s
  ORDER BY locked_until LIMIT %s{lock}
)
UPDATE workflows_job SET status = 'running', attempts = attempts + 1, locked_until = %s,
  locked_by = %s
WHERE id IN (SELECT id FROM due UNION ALL SELECT id FROM lost)
RETURNING id"""


class _Superseded(Exception):
    """A job of the batch was cancelled or taken over meanwhile: undo the batch's writes."""


def default_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_due(*, limit: int = 100, worker: str = "", now: datetime | None = None) -> int:
    """One poll: claim up to `limit` due jobs (and as many whose lease ran out), run them;
    returns how many ran to completion. `now`: the clock (tests pass one)."""
    partitions.ensure_ahead_hourly()  # the histories' months ahead (core.partitions)
    now = now or timezone.now()
    token = f"{(worker or default_worker())[:80]}/{uuid.uuid4().hex[:12]}"
    jobs = _claim(limit, token, now)
    if not jobs:
        return 0
    by_tenant: dict[int, list[Job]] = {}
    for job in jobs:
        by_tenant.setdefault(job.tenant_id, []).append(job)
    done = 0
    for group in by_tenant.values():
        runnable = [job for job in group if _runnable(job, token, now)]
        if len(runnable) > 1:
            done += _run_together(runnable, token, now)
        elif runnable:
            done += _run_one(runnable[0], token, now)
    return done


def _claim(limit: int, token: str, now: datetime) -> list[Job]:
    lease = now + timedelta(seconds=float(settings.WORKFLOWS_JOB_LEASE_SECONDS))
    lock = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    with transaction.atomic(durable=True):
        set_db_context(bypass=True)  # the poller serves every tenant
        with connection.cursor() as cursor:
            cursor.execute(
                _CLAIM_SQL.format(lock=lock),
                [
                    _prep("due_at", now),
                    limit,
                    _prep("due_at", now),
                    limit,
                    _prep("due_at", lease),
                    token,
                ],
            )
            ids = [row[0] for row in cursor.fetchall()]
        if not ids:
            return []
        return list(Job.objects.unscoped().filter(pk__in=ids).order_by("due_at", "id"))


def _runnable(job: Job, token: str, now: datetime) -> bool:
    """False for a job that fails without running: an unknown kind, or taken again after its
    pollers died so often that its attempts are spent."""
    spec = _kinds.get(job.kind)
    if spec is None:
        _record_failure(job, token, now, f"No handler is registered for job kind {job.kind!r}.")
        return False
    if job.attempts > spec.retry.max_attempts:
        error = job.last_error or "its poller was lost"
        _record_failure(job, token, now, f"Gave up after {job.attempts - 1} attempts: {error}")
        return False
    return True


def _finish(ids: list[int], token: str) -> int:
    return Job.objects.filter(pk__in=ids, status=JobStatus.RUNNING, locked_by=token).update(
        status=JobStatus.DONE, finished_at=timezone.now(), locked_until=None
    )


def _run_together(jobs: list[Job], token: str, now: datetime) -> int:
    """One tenant's jobs in one transaction, finished in one statement; on any failure, the
    one that failed is recorded and the others run one by one."""
    failed: Job | None = None
    try:
        with transaction.atomic(durable=True), memo_for_the_batch():
            set_db_context(tenant_id=jobs[0].tenant_id)
            for job in jobs:
                failed = job
                _kinds[job.kind].handler(job)
            failed = None
            if _finish([job.pk for job in jobs], token) != len(jobs):
                raise _Superseded
        return len(jobs)
    except Exception as exc:  # noqa: BLE001  (a handler's failure is the job's, not the poll's)
        if failed is not None:
            _failed(failed, token, now, exc)
        return sum(_run_one(job, token, now) for job in jobs if job is not failed)


def _run_one(job: Job, token: str, now: datetime) -> int:
    try:
        with transaction.atomic(durable=True), memo_for_the_batch():
            set_db_context(tenant_id=job.tenant_id)
            _kinds[job.kind].handler(job)
            if _finish([job.pk], token) != 1:
                raise _Superseded
    except _Superseded:
        logger.info(
            "job %s (%s) was cancelled or taken over: its writes are undone",
            job.pk,
            job.kind,
            extra=_fields(job),
        )
        return 0
    except Exception as exc:  # noqa: BLE001
        _failed(job, token, now, exc)
        return 0
    return 1


def _failed(job: Job, token: str, now: datetime, exc: BaseException) -> None:
    policy = _kinds[job.kind].retry
    error = (str(exc).strip() or type(exc).__name__)[:2000]
    if not policy.should_retry(job.attempts, exc):
        _record_failure(job, token, now, error)
        return
    delay = policy.delay(job.attempts)
    with transaction.atomic(durable=True):
        set_db_context(tenant_id=job.tenant_id)
        Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, locked_by=token).update(
            status=JobStatus.SCHEDULED,
            due_at=now + timedelta(seconds=delay),
            locked_until=None,
            locked_by="",
            last_error=error,
        )
    logger.warning(
        "job %s (%s) attempt %s failed, retry in %.1fs: %s",
        job.pk,
        job.kind,
        job.attempts,
        delay,
        error,
        extra=_fields(job),
    )


def _fields(job: Job) -> dict[str, Any]:
    payload = job.payload if isinstance(job.payload, dict) else {}  # a retry's names a step run
    return {
        "job_id": job.pk,
        "job_kind": job.kind,
        "tenant_id": job.tenant_id,
        "step_run_id": payload.get("step_run_id"),
    }


def _record_failure(job: Job, token: str, now: datetime, error: str) -> None:
    with transaction.atomic(durable=True):
        set_db_context(tenant_id=job.tenant_id)
        Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, locked_by=token).update(
            status=JobStatus.FAILED, finished_at=now, locked_until=None, last_error=error
        )
    logger.error(
        "job %s (%s) failed after %s attempt(s): %s",
        job.pk,
        job.kind,
        job.attempts,
        error,
        extra=_fields(job),
    )


# --- the loop (manage.py run_jobs) --------------------------------------------------------------

DB_RETRY_FIRST = 0.5
DB_RETRY_MAX = 30.0


def run_poller(
    *,
    interval: float = 1.0,
    limit: int = 100,
    worker: str = "",
    once: bool = False,
    should_stop: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], None] | None = None,
) -> int:
    """Poll until stopped (or, `once`, until a poll finds nothing due); returns the jobs run.
    A lost database is retried with capped exponential back-off, each retry logged."""
    sleep = sleep or time.sleep
    failures = total = 0
    while not should_stop():
        try:
            count = run_due(limit=limit, worker=worker)
        except Exception as exc:  # noqa: BLE001  (the poller must outlive any one poll)
            failures += 1
            delay = min(DB_RETRY_FIRST * 2 ** (failures - 1), DB_RETRY_MAX)
            logger.warning(
                "jobs: poll failed (%s); reconnect attempt %s in %.1fs",
                str(exc).strip() or type(exc).__name__,
                failures,
                delay,
            )
            _drop_connection()
            if once and failures > 5:
                raise
            sleep(delay)
            continue
        if failures:
            logger.warning("jobs: database back after %s retries", failures)
            failures = 0
        total += count
        if count:
            logger.info("jobs: ran %s job(s)", count)
        elif once:
            break
        else:
            sleep(interval)
    return total


def _drop_connection() -> None:
    try:
        connection.close()
    except Exception:  # noqa: BLE001  (it is gone already)
        logger.debug("closing a broken database connection failed", exc_info=True)


def _prep(name: str, value: Any) -> Any:
    field = Job._meta.get_field(name)
    assert isinstance(field, Field)  # noqa: S101  (a concrete column, never a relation)
    return field.get_db_prep_save(value, connection)
