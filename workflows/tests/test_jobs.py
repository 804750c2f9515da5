"""The job executor (workflows.engine.jobs) on PostgreSQL: due times on a controlled clock,
racing pollers, leases, cancel, retries, tenants and the statements a poll costs."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.tenancy import set_db_context
from tests.factories import TenantFactory
from workflows.engine import jobs
from workflows.engine.retry import RetryPolicy
from workflows.models import Job, JobStatus, OutboxEvent

KIND = "test.record"


class Calls:
    def __init__(self) -> None:
        self.ids: list[int] = []
        self.tenants: list[str] = []
        self.lock = threading.Lock()
        self.fail_with: BaseException | None = None
        self.during: object = None

    def __call__(self, job: Job) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('app.tenant_id', true)")
            (tenant,) = cursor.fetchone()
        with self.lock:
            self.ids.append(job.pk)
            self.tenants.append(tenant)
        if callable(self.during):
            self.during(job)
        if self.fail_with is not None:
            raise self.fail_with


@pytest.fixture
def calls():
    recorder = Calls()
    jobs.register_job(KIND, recorder, retry=RetryPolicy(initial_delay=10, coefficient=3))
    yield recorder
    jobs.unregister_job(KIND)


def poll(**kwargs) -> int:
    """One poll from test code, which then works as the platform role again (in a test the
    poll's transactions are savepoints of the test's: their tenant context would stay)."""
    ran = jobs.run_due(**kwargs)
    if connection.in_atomic_block:
        set_db_context(bypass=True)
    return ran


def real_statements(queries):
    return [
        q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]


@pytest.mark.django_db
def test_a_job_runs_once_when_due_and_not_before(tenant, calls):
    t0 = timezone.now()
    job = jobs.schedule(
        tenant_id=tenant.pk, kind=KIND, payload={"a": 1}, due_at=t0 + timedelta(minutes=5)
    )
    assert job.pk
    assert job.status == JobStatus.SCHEDULED
    assert poll(now=t0) == 0
    assert poll(now=t0 + timedelta(minutes=4, seconds=59)) == 0
    assert calls.ids == []
    assert poll(now=t0 + timedelta(minutes=5)) == 1
    assert calls.ids == [job.pk]
    assert calls.tenants == [str(tenant.pk)]  # the handler ran as the job's tenant
    assert poll(now=t0 + timedelta(hours=1)) == 0
    assert calls.ids == [job.pk]
    job.refresh_from_db()
    assert (job.status, job.attempts, job.locked_until) == (JobStatus.DONE, 1, None)
    assert job.finished_at is not None
    assert job.payload == {"a": 1}


@pytest.mark.django_db
def test_a_live_key_is_scheduled_once_and_free_again_when_done(tenant, calls):
    first = jobs.schedule(tenant_id=tenant.pk, kind=KIND, payload={}, key="task:1:remind")
    again = jobs.schedule(tenant_id=tenant.pk, kind=KIND, payload={"x": 2}, key="task:1:remind")
    assert again.pk == first.pk
    assert again.payload == {}
    other = TenantFactory(slug="other-keys")
    theirs = jobs.schedule(tenant_id=other.pk, kind=KIND, payload={}, key="task:1:remind")
    assert theirs.pk != first.pk  # keys are per tenant
    assert poll() == 2
    later = jobs.schedule(tenant_id=tenant.pk, kind=KIND, payload={}, key="task:1:remind")
    assert later.pk != first.pk
    assert Job.objects.filter(key="task:1:remind").count() == 3


@pytest.mark.django_db
def test_schedule_statement_travels_inside_another_statement(tenant, calls):
    sql, params = jobs.schedule_statement(
        tenant_id=tenant.pk, kind=KIND, payload={"n": 1}, key="carried"
    )
    with CaptureQueriesContext(connection) as ctx, connection.cursor() as cursor:
        cursor.execute(f"WITH p0 AS ({sql}) SELECT 42", params)  # noqa: S608
        assert cursor.fetchone() == (42,)
    assert len(ctx.captured_queries) == 1
    job = Job.objects.get(key="carried")
    assert (job.tenant_id, job.kind, job.payload, job.status) == (
        tenant.pk,
        KIND,
        {"n": 1},
        JobStatus.SCHEDULED,
    )


@pytest.mark.django_db
def test_cancel_in_the_closing_transaction_means_it_never_runs(tenant, calls):
    now = timezone.now()
    for suffix in ("remind", "escalate"):
        jobs.schedule(
            tenant_id=tenant.pk, kind=KIND, payload={}, key=f"task:7:{suffix}", due_at=now
        )
    kept = jobs.schedule(tenant_id=tenant.pk, kind=KIND, payload={}, key="task:70:remind")
    other = TenantFactory(slug="other-cancel")
    theirs = jobs.schedule(tenant_id=other.pk, kind=KIND, payload={}, key="task:7:remind")
    with transaction.atomic():
        set_db_context(tenant_id=tenant.pk)
        # ... the task is decided here ...
        assert jobs.cancel(tenant_id=tenant.pk, key_prefix="task:7:") == 2
    assert jobs.cancel(tenant_id=tenant.pk, key="task:7:remind") == 0  # not live any more
    with pytest.raises(ValueError):
        jobs.cancel(tenant_id=tenant.pk)
    with pytest.raises(ValueError):
        jobs.cancel(tenant_id=tenant.pk, key_prefix="")
    assert poll(now=now + timedelta(seconds=1)) == 2
    assert sorted(calls.ids) == sorted([kept.pk, theirs.pk])
    statuses = dict(Job.objects.values_list("key", "status").filter(tenant=tenant))
    assert statuses == {
        "task:7:remind": JobStatus.CANCELLED,
        "task:7:escalate": JobStatus.CANCELLED,
        "task:70:remind": JobStatus.DONE,
    }


@pytest.mark.django_db
def test_retry_with_back_off_per_the_policy_then_fail(tenant, calls, caplog):
    calls.fail_with = RuntimeError("upstream said no")
    t0 = timezone.now()
    job = jobs.schedule(tenant_id=tenant.pk, kind=KIND, payload={}, due_at=t0)
    with caplog.at_level("WARNING", logger="workflows.jobs"):
        assert poll(now=t0) == 0
        job.refresh_from_db()
        assert (job.status, job.attempts) == (JobStatus.SCHEDULED, 1)
        assert job.due_at == t0 + timedelta(seconds=10)  # initial_delay
        assert job.last_error == "upstream said no"
        assert poll(now=t0 + timedelta(seconds=9)) == 0
        assert len(calls.ids) == 1
        t1 = t0 + timedelta(seconds=10)
        poll(now=t1)
        job.refresh_from_db()
        assert (job.status, job.attempts) == (JobStatus.SCHEDULED, 2)
        assert job.due_at == t1 + timedelta(seconds=30)  # times the coefficient
        poll(now=t1 + timedelta(seconds=30))
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.FAILED, 3)  # max_attempts 3
    assert job.last_error == "upstream said no"
    assert job.finished_at is not None
    assert job.locked_until is None
    assert len(calls.ids) == 3
    assert poll(now=t1 + timedelta(days=1)) == 0
    messages = [r.getMessage() for r in caplog.records]
    assert sum("retry in" in m for m in messages) == 2
    assert any("failed after 3 attempt(s): upstream said no" in m for m in messages)


@pytest.mark.django_db
def test_a_non_retryable_error_fails_at_once_and_its_writes_are_undone(tenant):
    class Permanent(Exception):
        pass

    def handler(job):
        OutboxEvent.objects.create(tenant_id=job.tenant_id, topic="t", available_at=timezone.now())
        raise Permanent("bad payload")

    jobs.register_job("test.permanent", handler, retry=RetryPolicy(non_retryable=(Permanent,)))
    try:
        job = jobs.schedule(tenant_id=tenant.pk, kind="test.permanent", payload={})
        poll()
    finally:
        jobs.unregister_job("test.permanent")
    job.refresh_from_db()
    assert (job.status, job.attempts, job.last_error) == (JobStatus.FAILED, 1, "bad payload")
    assert OutboxEvent.objects.count() == 0


@pytest.mark.django_db
def test_one_failing_job_of_a_batch_leaves_the_others_done_once(tenant, calls):
    now = timezone.now()
    made = [
        jobs.schedule(tenant_id=tenant.pk, kind=KIND, payload={"i": i}, due_at=now)
        for i in range(5)
    ]
    bad = made[2]

    def during(job):
        OutboxEvent.objects.create(
            tenant_id=job.tenant_id, topic=f"job {job.pk}", available_at=timezone.now()
        )
        if job.pk == bad.pk:
            raise ValueError("this one fails")

    calls.during = during
    assert poll(now=now) == 4
    statuses = dict(Job.objects.values_list("pk", "status"))
    assert statuses == {j.pk: JobStatus.SCHEDULED if j is bad else JobStatus.DONE for j in made}
    # Each done job's writes are there once; the failed one's are undone.
    topics = sorted(OutboxEvent.objects.values_list("topic", flat=True))
    assert topics == sorted(f"job {j.pk}" for j in made if j is not bad)
    assert calls.ids.count(bad.pk) == 1  # the failure is recorded, not run again


@pytest.mark.django_db
def test_an_unknown_kind_fails_with_the_reason(tenant):
    job = jobs.schedule(tenant_id=tenant.pk, kind="nobody.handles.this", payload={})
    assert poll() == 0
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "No handler is registered" in job.last_error


class PollerKilled(BaseException):
    """The process dies mid-job (not an error a handler raises: nothing records it)."""


@pytest.mark.django_db
def test_a_poller_killed_mid_job_leaves_it_to_be_taken_again_after_its_lease(
    tenant, calls, settings
):
    settings.WORKFLOWS_JOB_LEASE_SECONDS = 60
    t0 = timezone.now()
    job = jobs.schedule(tenant_id=tenant.pk, kind=KIND, payload={}, due_at=t0)
    calls.fail_with = PollerKilled()
    with pytest.raises(PollerKilled):
        poll(now=t0, worker="doomed")
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.RUNNING, 1)
    assert job.locked_by.startswith("doomed/")
    calls.fail_with = None
    assert poll(now=t0 + timedelta(seconds=59)) == 0  # the lease still holds
    assert poll(now=t0 + timedelta(seconds=61), worker="heir") == 1
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.DONE, 2)
    assert calls.ids == [job.pk, job.pk]


@pytest.mark.django_db
def test_a_job_whose_pollers_keep_dying_gives_up(tenant, calls, settings):
    settings.WORKFLOWS_JOB_LEASE_SECONDS = 60
    t0 = timezone.now()
    job = jobs.schedule(tenant_id=tenant.pk, kind=KIND, payload={}, due_at=t0)
    calls.fail_with = PollerKilled()
    for i in range(3):  # max_attempts
        with pytest.raises(PollerKilled):
            poll(now=t0 + timedelta(seconds=61 * i))
    assert poll(now=t0 + timedelta(seconds=61 * 3)) == 0
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.last_error == "Gave up after 3 attempts: its poller was lost"
    assert len(calls.ids) == 3


@pytest.mark.django_db
def test_a_poll_of_one_tenants_jobs_costs_a_handful_of_statements(tenant, calls):
    now = timezone.now()
    Job.objects.bulk_create(
        Job(tenant=tenant, kind=KIND, payload={"i": i}, due_at=now) for i in range(100)
    )
    with CaptureQueriesContext(connection) as ctx:
        assert jobs.run_due(limit=100, now=now) == 100
    handler_reads = 100  # the test handler reads its tenant setting once per job
    statements = real_statements(ctx.captured_queries)
    # claim: context, claim, load; run: context, finish.
    assert len(statements) - handler_reads == 5, statements[:8]
    assert Job.objects.filter(status=JobStatus.DONE).count() == 100


@pytest.mark.django_db
def test_jobs_stay_behind_row_level_security(tenant, other_tenant, as_tenant_context):
    jobs.schedule(tenant_id=tenant.pk, kind=KIND, payload={})
    jobs.schedule(tenant_id=other_tenant.pk, kind=KIND, payload={})
    assert as_tenant_context(tenant.pk, lambda: Job.objects.count()) == 1


@pytest.fixture
def as_tenant_context():
    from core.rls import app_role

    def run(tenant_id, read):
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f'SET LOCAL ROLE "{app_role()}"')
            set_db_context(tenant_id=tenant_id)
            value = read()
            transaction.set_rollback(True)
        return value

    return run


@pytest.mark.django_db(transaction=True)
def test_two_pollers_racing_run_each_of_200_due_jobs_exactly_once(calls):
    tenants = [TenantFactory(slug=f"race-{i}") for i in range(3)]
    now = timezone.now()
    Job.objects.bulk_create(
        Job(tenant=tenants[i % 3], kind=KIND, payload={"i": i}, due_at=now) for i in range(200)
    )
    start = threading.Barrier(2)
    done: list[int] = []
    errors: list[BaseException] = []

    def poller(name):
        try:
            start.wait()
            total = 0
            while True:
                ran = jobs.run_due(limit=10, worker=name)
                total += ran
                if (
                    ran == 0
                    and not Job.objects.unscoped()
                    .filter(status__in=[JobStatus.SCHEDULED, JobStatus.RUNNING])
                    .exists()
                ):
                    break
            done.append(total)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=poller, args=(f"p{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert sum(done) == 200
    assert sorted(calls.ids) == sorted(Job.objects.values_list("pk", flat=True))
    assert len(set(calls.ids)) == 200  # no job ran twice
    assert set(Job.objects.values_list("status", flat=True)) == {JobStatus.DONE}
    assert set(Job.objects.values_list("attempts", flat=True)) == {1}


@pytest.mark.django_db(transaction=True)
def test_a_job_cancelled_while_its_handler_runs_has_its_writes_undone(calls):
    tenant = TenantFactory(slug="cancel-mid")
    job = jobs.schedule(tenant_id=tenant.pk, kind=KIND, payload={}, key="task:9:remind")
    entered, release = threading.Event(), threading.Event()

    def during(job):
        OutboxEvent.objects.create(
            tenant_id=job.tenant_id, topic="reminder", available_at=timezone.now()
        )
        entered.set()
        assert release.wait(30)

    calls.during = during
    results: list[int] = []
    poller = threading.Thread(
        target=lambda: (results.append(jobs.run_due()), connections.close_all())
    )
    poller.start()
    assert entered.wait(30)
    with transaction.atomic():
        set_db_context(tenant_id=tenant.pk)
        assert jobs.cancel(tenant_id=tenant.pk, key="task:9:remind") == 1
    release.set()
    poller.join(30)
    assert results == [0]
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert OutboxEvent.objects.count() == 0
