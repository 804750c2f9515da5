"""A lost database or broker loses no step: attempts are counted before the action is called,
a task that hit a database error is retried, the relay reconnects, and its sweep re-enqueues a
running step run that nothing would move (issue 11, items 12 and 13)."""

import socket
from datetime import timedelta

import psycopg
import pytest
from django.core.management import call_command
from django.db import OperationalError, connection
from django.utils import timezone
from kombu import Connection as KombuConnection

from accounts.models import Role
from tests.factories import CaseFactory, StepFactory, WorkflowFactory
from workflows.engine import automation, jobs, outbox, runner
from workflows.models import Job, OutboxEvent, RunStatus, StepRun, StepRunStatus
from workflows.tasks import execute_step_run
from workflows.tests.engine_helpers import start
from workflows.tests.test_automation import automated_workflow
from workflows.tests.webhook_server import WebhookServer

pytestmark = pytest.mark.django_db


def started_step(tenant, workflow, capture):
    """Start a run without running its automated step (the after-commit work is dropped)."""
    with capture(execute=False):
        run = start(tenant, workflow)
    return run, StepRun.objects.get(run=run, action__in=["webhook", "send_email"])


def pending_events(step):
    return list(
        OutboxEvent.objects.filter(dispatched_at__isnull=True, payload__step_run_id=step.pk)
    )


class WorkerDied(Exception):
    pass


def test_the_attempt_is_counted_before_the_call_even_when_the_worker_dies(
    tenant, monkeypatch, django_capture_on_commit_callbacks
):
    with WebhookServer([200]) as server:
        workflow = automated_workflow(tenant, "webhook", {"url": server.url, "timeout_s": 2})
        run, step = started_step(tenant, workflow, django_capture_on_commit_callbacks)

        def dies(*args, **kwargs):
            raise WorkerDied  # after the call, before its result is written

        monkeypatch.setattr(runner, "step_finished", dies)
        # The relay published the event a while ago; a worker took the message.
        OutboxEvent.objects.filter(payload__step_run_id=step.pk).update(
            dispatched_at=timezone.now() - timedelta(hours=1)
        )
        with pytest.raises(WorkerDied):
            automation.execute_step(step.pk, expected_attempts=0)
        assert len(server.requests) == 1
        step.refresh_from_db()
        assert step.status == StepRunStatus.RUNNING
        assert step.attempts == 1  # the call that was made is counted
        assert step.claimed_until is not None
        monkeypatch.undo()

        # A redelivery while the lease holds does nothing.
        assert automation.execute_step(step.pk).status == "leased"
        assert len(server.requests) == 1

        # The lease runs out unrecorded: the sweep gives the step a new event, which runs
        # attempt 2.
        StepRun.objects.filter(pk=step.pk).update(
            claimed_until=timezone.now() - timedelta(seconds=1)
        )
        assert outbox.sweep() == 1
        (event,) = pending_events(step)
        assert event.payload["attempts"] == 1
        outbox.execute_in_process(event.pk, event.tenant_id)
    step.refresh_from_db()
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert step.attempts == 2
    assert step.claimed_until is None
    assert len(server.requests) == 2
    assert [r["headers"]["Idempotency-Key"] for r in server.requests] == [
        str(step.idempotency_key)
    ] * 2


def test_a_late_duplicate_of_an_attempt_already_made_does_nothing(
    tenant, django_capture_on_commit_callbacks
):
    with WebhookServer([500, 200]) as server:
        workflow = automated_workflow(tenant, "webhook", {"url": server.url, "max_attempts": 5})
        run, step = started_step(tenant, workflow, django_capture_on_commit_callbacks)
        OutboxEvent.objects.update(dispatched_at=timezone.now())  # published, taken
        with django_capture_on_commit_callbacks(execute=False):
            assert automation.execute_step(step.pk, expected_attempts=0).status == "running"
        # The message of attempt 1 comes again: attempt 1 was made; the retry job waits.
        assert automation.execute_step(step.pk, expected_attempts=0).status == "stale"
        assert len(server.requests) == 1
        assert pending_events(step) == []
        (retry,) = Job.objects.filter(key=automation.retry_key(step.pk), status="scheduled")
        assert retry.payload["attempts"] == 1
        with django_capture_on_commit_callbacks(execute=True):
            assert jobs.run_due() == 1
    step.refresh_from_db()
    assert step.status == StepRunStatus.COMPLETED
    assert step.attempts == 2
    assert len(server.requests) == 2


def test_the_sweep_re_enqueues_a_running_step_run_with_no_event(
    tenant, settings, django_capture_on_commit_callbacks
):
    settings.WORKFLOWS_SWEEP_AFTER_SECONDS = 30
    with WebhookServer([200]) as server:
        workflow = automated_workflow(tenant, "webhook", {"url": server.url})
        run, step = started_step(tenant, workflow, django_capture_on_commit_callbacks)
        # Its event is waiting: nothing to sweep.
        StepRun.objects.filter(pk=step.pk).update(started_at=timezone.now() - timedelta(hours=1))
        assert outbox.sweep() == 0
        # Dispatched a moment ago (the message may still be queued): nothing to sweep yet.
        OutboxEvent.objects.filter(payload__step_run_id=step.pk).update(
            dispatched_at=timezone.now()
        )
        assert outbox.sweep() == 0
        # The message was lost long ago: the step run is running with nothing to move it.
        OutboxEvent.objects.filter(payload__step_run_id=step.pk).update(
            dispatched_at=timezone.now() - timedelta(hours=1)
        )
        assert outbox.sweep() == 1
        assert outbox.sweep() == 0  # its new event is waiting now
        (event,) = pending_events(step)
        outbox.execute_in_process(event.pk, event.tenant_id)
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert len(server.requests) == 1


def test_the_sweep_leaves_an_attempt_in_flight_alone(tenant, django_capture_on_commit_callbacks):
    workflow = automated_workflow(tenant, "webhook", {"url": "http://127.0.0.1:9/"})
    run, step = started_step(tenant, workflow, django_capture_on_commit_callbacks)
    OutboxEvent.objects.all().delete()
    StepRun.objects.filter(pk=step.pk).update(
        started_at=timezone.now() - timedelta(hours=1),
        attempts=1,
        claimed_until=timezone.now() + timedelta(minutes=1),
    )
    assert outbox.sweep() == 0
    assert OutboxEvent.objects.count() == 0


def test_a_task_that_hits_a_database_error_is_retried_and_records_without_calling_again(
    tenant, monkeypatch, django_capture_on_commit_callbacks
):
    with WebhookServer([200]) as server:
        workflow = automated_workflow(tenant, "webhook", {"url": server.url})
        run, step = started_step(tenant, workflow, django_capture_on_commit_callbacks)
        real_record = automation.record
        calls = []

        def record_after_a_restart(claimed, result):
            calls.append(result)
            if len(calls) == 1:
                raise OperationalError("terminating connection due to administrator command")
            return real_record(claimed, result)

        monkeypatch.setattr(automation, "record", record_after_a_restart)
        monkeypatch.setattr("workflows.tasks._drop_connection", lambda: None)  # test transaction
        result = execute_step_run.apply(args=[step.pk], kwargs={"attempts": 0})
    assert result.get() == StepRunStatus.COMPLETED
    assert len(calls) == 2  # retried: the second try recorded the first try's call
    assert calls[0] == calls[1]
    assert len(server.requests) == 1
    step.refresh_from_db()
    assert step.status == StepRunStatus.COMPLETED
    assert step.attempts == 1


def test_a_task_whose_claim_hits_a_database_error_is_retried(
    tenant, monkeypatch, django_capture_on_commit_callbacks
):
    with WebhookServer([200]) as server:
        workflow = automated_workflow(tenant, "webhook", {"url": server.url})
        run, step = started_step(tenant, workflow, django_capture_on_commit_callbacks)
        real_claim = automation.claim
        calls = []

        def claim_after_a_restart(*args, **kwargs):
            calls.append(args)
            if len(calls) == 1:
                raise OperationalError("server closed the connection unexpectedly")
            return real_claim(*args, **kwargs)

        monkeypatch.setattr(automation, "claim", claim_after_a_restart)
        monkeypatch.setattr("workflows.tasks._drop_connection", lambda: None)
        result = execute_step_run.apply(args=[step.pk], kwargs={"attempts": 0})
    assert result.get() == StepRunStatus.COMPLETED
    assert len(calls) == 2
    assert len(server.requests) == 1


# --- the relay loop ---------------------------------------------------------------------------


class Stop(BaseException):
    pass


def terminate_backend(pid):
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        dbname=db["NAME"],
        password=db["PASSWORD"] or None,
        autocommit=True,
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.mark.django_db(transaction=True)
def test_the_relay_survives_a_lost_database_connection_and_reconnects(
    settings, monkeypatch, caplog
):
    settings.CELERY_BROKER_URL = "amqp://guest:guest@127.0.0.1:1//"  # never reached: no events
    real_relay = outbox.relay
    passes = []
    sleeps = []

    def relay_on_a_killed_connection():
        passes.append(1)
        if len(passes) <= 2:  # the server restarts under the relay, twice in a row
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                (pid,) = cursor.fetchone()
            terminate_backend(pid)
        return real_relay()

    def sleep(seconds):
        sleeps.append(seconds)
        if len(sleeps) >= 5:
            raise Stop

    monkeypatch.setattr(outbox, "relay", relay_on_a_killed_connection)
    monkeypatch.setattr(outbox, "_sleep", sleep)
    with caplog.at_level("WARNING", logger="workflows.outbox"), pytest.raises(Stop):
        call_command("relay_outbox", interval=0.25, sweep_every=3600)
    # Two lost connections: two logged retries with growing back-off, then normal passes.
    assert sleeps[:2] == [outbox.DB_RETRY_FIRST, 2 * outbox.DB_RETRY_FIRST]
    assert sleeps[2:] == [0.25] * 3
    assert len(passes) == 5
    retries = [r for r in caplog.records if "reconnect attempt" in r.getMessage()]
    assert len(retries) == 2
    with connection.cursor() as cursor:  # and the connection works again
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def test_the_relay_back_off_is_capped(settings, monkeypatch):
    sleeps = []

    def down():
        raise OperationalError("connection refused")

    def sleep(seconds):
        sleeps.append(seconds)
        if len(sleeps) >= 12:
            raise Stop

    monkeypatch.setattr(outbox, "sweep", down)
    monkeypatch.setattr(outbox, "_drop_connection", lambda: None)
    with pytest.raises(Stop):
        outbox.run_relay(sleep=sleep)
    assert sleeps == sorted(sleeps)
    assert max(sleeps) == outbox.DB_RETRY_MAX


# --- item 13: a broker outage slows no request ------------------------------------------------


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when this returns: nothing listens there


def test_with_the_broker_down_a_request_tries_it_once_and_leaves_the_event_to_the_relay(
    tenant, settings, make_user, client_for, monkeypatch, django_capture_on_commit_callbacks
):
    settings.CELERY_BROKER_URL = f"amqp://guest:guest@127.0.0.1:{closed_port()}//"
    attempts = []
    real_factory = KombuConnection._connection_factory

    def counted(self):
        attempts.append(self.connect_timeout)
        return real_factory(self)

    monkeypatch.setattr(KombuConnection, "_connection_factory", counted)
    retries = []
    monkeypatch.setattr(outbox, "_broker_retry", lambda exc, interval: retries.append(interval))
    workflow = WorkflowFactory(tenant=tenant, name="Notify")
    StepFactory(workflow=workflow, order=0, action="webhook", config={"url": "http://127.0.0.1:9/"})
    agent = make_user(Role.AGENT)
    client = client_for(agent)
    for _ in range(2):
        case = CaseFactory(tenant=tenant)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/api/cases/{case.pk}/runs/", {"workflow": workflow.pk}, format="json"
            )
        assert response.status_code == 201, response.content
        assert response.json()["steps"][0]["status"] == "running"
    # One connection attempt, short, with no retry; the second request found the broker
    # known to be down and did not try at all.
    assert attempts == [outbox.PUBLISH_CONNECT_TIMEOUT]
    assert retries == []
    events = list(OutboxEvent.objects.order_by("id"))
    assert len(events) == 2
    assert all(e.dispatched_at is None for e in events)  # the relay delivers them later
    assert [e.publish_attempts for e in events] == [1, 0]


def test_without_a_broker_relay_once_finishes_what_a_stopped_process_left(
    tenant, settings, django_capture_on_commit_callbacks, capsys
):
    settings.CELERY_BROKER_URL = ""
    with WebhookServer([200]) as server:
        workflow = automated_workflow(tenant, "webhook", {"url": server.url, "timeout_s": 2})
        run, step = started_step(tenant, workflow, django_capture_on_commit_callbacks)
        # The process ran the event, then died before the step finished.
        OutboxEvent.objects.filter(payload__step_run_id=step.pk).update(
            dispatched_at=timezone.now() - timedelta(hours=1)
        )
        StepRun.objects.filter(pk=step.pk).update(started_at=timezone.now() - timedelta(hours=1))
        call_command("relay_outbox", "--once")
        assert "re-enqueued 1 step run(s), ran 1 event(s) here" in capsys.readouterr().out
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert len(server.requests) == 1
    assert pending_events(step) == []
