"""A real Celery worker on the loopback RabbitMQ runs automated steps; the outbox survives an
outage of the broker and the relay then delivers each event exactly once."""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Role
from workflows import services
from workflows.engine import outbox
from workflows.models import HumanTask, OutboxEvent, RunStatus, StepRun, TaskStatus
from workflows.tests.engine_helpers import open_task, start
from workflows.tests.test_automation import automated_workflow
from workflows.tests.webhook_server import WebhookServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.broker]

BROKER = os.environ.get("TEST_CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
DEAD_BROKER = "amqp://guest:guest@127.0.0.1:1//"


def broker_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture
def rabbitmq(settings):
    if not broker_answers():
        if os.environ.get("CI") == "true":
            pytest.fail("RabbitMQ is not answering on 127.0.0.1:5672 (required under CI)")
        pytest.skip("RabbitMQ is not answering on 127.0.0.1:5672")
    settings.CELERY_BROKER_URL = BROKER
    settings.CELERY_TASK_DEFAULT_QUEUE = f"workflows-test-{uuid.uuid4().hex[:8]}"
    return settings.CELERY_TASK_DEFAULT_QUEUE


def worker_database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_worker(queue):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": worker_database_url(),
        "CELERY_BROKER_URL": BROKER,
        "CELERY_QUEUE": queue,
        "WEBHOOK_ALLOW_PRIVATE": "1",
        "WORKFLOWS_STEP_LEASE_SECONDS": "1",  # a step's lease: its timeout_s + 5 s
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-P",
            "solo",
            "-c",
            "1",
            "-Q",
            queue,
            "-n",  # a node name of its own: another worker on the broker holds the default
            f"{queue}@%h",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "warning",
        ],
        env=env,
    )


def stop_worker(proc):
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def worker(rabbitmq):
    proc = start_worker(rabbitmq)
    yield proc
    stop_worker(proc)


def wait_for(predicate, timeout=90.0, worker=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if worker is not None and worker.poll() is not None:
            pytest.fail(f"the Celery worker exited with code {worker.returncode}")
        time.sleep(0.25)
    return False


def run_status(run):
    run.refresh_from_db()
    return run.status


def test_worker_runs_the_automated_step_and_the_run_advances(tenant, worker):
    with WebhookServer([200]) as server:
        workflow = automated_workflow(tenant, "webhook", {"url": server.url})
        run = start(tenant, workflow)  # commits: the event is published after commit
        assert wait_for(lambda: run_status(run) == RunStatus.COMPLETED), run.status
    assert len(server.requests) == 1
    assert StepRun.objects.get(run=run, action="webhook").attempts == 1
    assert OutboxEvent.objects.filter(dispatched_at__isnull=True).count() == 0
    assert worker.poll() is None  # still running: it did not crash on the task


def test_broker_outage_delays_but_loses_nothing_and_relay_delivers_once(
    tenant, settings, rabbitmq, make_user
):
    with WebhookServer([200]) as server:
        settings.CELERY_BROKER_URL = DEAD_BROKER
        workflow = automated_workflow(tenant, "webhook", {"url": server.url}, before_human=True)
        run = start(tenant, workflow)
        agent = make_user(Role.AGENT)
        # The decision commits although the broker is down; its event waits in the outbox.
        services.task_decide(
            tenant=tenant,
            task_id=open_task(run).pk,
            decision="complete",
            data={"risk_level": "low"},
            actor=agent,
        )
        run.refresh_from_db()
        assert run.status == RunStatus.RUNNING
        assert HumanTask.objects.get(run=run).status == TaskStatus.COMPLETED
        event = OutboxEvent.objects.get()
        assert event.dispatched_at is None
        assert event.publish_attempts == 1
        assert outbox.relay() == 0  # still down: it waits
        settings.CELERY_BROKER_URL = BROKER
        assert outbox.relay() == 1
        assert outbox.relay() == 0  # delivered once, never again
        event.refresh_from_db()
        assert event.dispatched_at is not None
        # One message on the queue: a worker started now sees exactly one.
        proc = start_worker(rabbitmq)
        try:
            assert wait_for(lambda: run_status(run) == RunStatus.COMPLETED, worker=proc), run.status
            time.sleep(1)
        finally:
            stop_worker(proc)
    assert len(server.requests) == 1
    assert StepRun.objects.get(run=run, action="webhook").attempts == 1


def test_a_worker_killed_mid_task_is_taken_over_once_its_lease_runs_out(tenant, settings, rabbitmq):
    """Late acks: the message of a worker killed during the webhook call goes back to the queue,
    but the attempt was claimed and counted before the call: the redelivery does nothing while
    its lease holds. Once it ran out, the relay's sweep re-enqueues the step and another worker
    makes attempt 2. The receiver saw the same Idempotency-Key twice."""
    settings.WORKFLOWS_SWEEP_AFTER_SECONDS = 0
    with WebhookServer([200], delay_s=3.0) as server:
        first = start_worker(rabbitmq)
        workflow = automated_workflow(tenant, "webhook", {"url": server.url, "timeout_s": 4})
        run = start(tenant, workflow)
        try:
            assert server.started.wait(60), "the first worker never called the webhook"
            first.send_signal(signal.SIGKILL)  # no warm shutdown, no ack
            first.wait(timeout=15)
        finally:
            if first.poll() is None:
                first.kill()
        assert run_status(run) == RunStatus.RUNNING
        step = StepRun.objects.get(run=run)
        assert step.attempts == 1  # counted before the call
        second = start_worker(rabbitmq)
        try:
            # The redelivered message finds the lease held and does nothing.
            assert not wait_for(lambda: run_status(run) != RunStatus.RUNNING, timeout=3)
            assert wait_for(lambda: step_lease_expired(step), timeout=30)
            assert outbox.sweep() == 1
            assert outbox.relay() == 1
            assert wait_for(lambda: run_status(run) == RunStatus.COMPLETED, worker=second), (
                run.status
            )
        finally:
            stop_worker(second)
    step.refresh_from_db()
    assert len(server.requests) == 2
    keys = {r["headers"]["Idempotency-Key"] for r in server.requests}
    assert keys == {str(step.idempotency_key)}
    assert step.attempts == 2  # the killed attempt counts
    assert step.claimed_until is None


def step_lease_expired(step):
    step.refresh_from_db()
    return step.claimed_until is not None and step.claimed_until < timezone.now()
