"""A database restart loses nothing (issue 11, item 12).

A throw-away PostgreSQL cluster, a real relay (`manage.py relay_outbox`) and a real Celery worker
on RabbitMQ (a queue of this test's own); cases run webhook and email steps; `pg_ctl restart -m
fast` in the middle. At the end every step run finished exactly once, no event is left
undispatched, every webhook was delivered with each delivery counted as an attempt, and both
processes are still alive."""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from workflows.models import OutboxEvent, StateTransition, StepRun
from workflows.tests.test_celery_integration import BROKER, broker_answers
from workflows.tests.webhook_server import WebhookServer

pytestmark = pytest.mark.broker

REPO = Path(__file__).resolve().parents[2]
CASES = 8
SEED = """
from django.db import transaction
from core.tenancy import set_db_context
from tests.factories import CaseFactory, StepFactory, TenantFactory, UserFactory, WorkflowFactory
from workflows import services
with transaction.atomic():
    set_db_context(bypass=True)
    tenant = TenantFactory()
    UserFactory(tenant=tenant, role="SUPERVISOR", email="sup@example.test")
    workflow = WorkflowFactory(tenant=tenant, name="Notify")
    hook = {"url": "%(url)s", "timeout_s": 2, "max_attempts": 20}
    mail = {"to": {"role": "SUPERVISOR"}, "subject": "{reference}", "body": "b", "max_attempts": 20}
    StepFactory(workflow=workflow, order=0, name="Hook 1", action="webhook", config=hook)
    StepFactory(workflow=workflow, order=1, name="Mail", action="send_email", config=mail)
    StepFactory(workflow=workflow, order=2, name="Hook 2", action="webhook", config=hook)
    cases = [CaseFactory(tenant=tenant) for _ in range(%(cases)d)]
for case in cases:
    with transaction.atomic():
        set_db_context(tenant_id=tenant.pk)
        services.run_start_on_subject(
            tenant=tenant, subject_type="case", subject_id=case.pk, workflow=workflow, actor=None
        )
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self):
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not found:
            if os.environ.get("CI") == "true":
                pytest.fail("No PostgreSQL binaries under /usr/lib/postgresql (required under CI)")
            pytest.skip("No PostgreSQL binaries under /usr/lib/postgresql")
        self.bindir = found[-1].parent
        self.datadir = Path(tempfile.mkdtemp(prefix="wf-restart-pg."))
        self.port = free_port()
        self.runas = []
        if os.getuid() == 0:
            shutil.chown(self.datadir, "postgres")
            self.runas = ["runuser", "-u", "postgres", "--"]
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/wf_restart"

    def ctl(self, *args, timeout=60):
        subprocess.run(
            [*self.runas, str(self.bindir / "pg_ctl"), "-D", str(self.datadir), *args],
            check=True,
            timeout=timeout,
            stdout=subprocess.DEVNULL,
        )

    def start(self):
        subprocess.run(
            [*self.runas, str(self.bindir / "initdb"), "-D", str(self.datadir)]
            + ["-U", "postgres", "-A", "trust"],
            check=True,
            timeout=120,
            stdout=subprocess.DEVNULL,
        )
        options = f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1"
        self.ctl("-o", options, "-w", "start")
        with self.connect("postgres") as conn:
            conn.execute("CREATE DATABASE wf_restart")

    def connect(self, dbname="wf_restart"):
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=dbname, autocommit=True
        )

    def stop(self):
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self.ctl("-m", "immediate", "stop")
        shutil.rmtree(self.datadir, ignore_errors=True)


@pytest.fixture
def cluster():
    if not broker_answers():
        if os.environ.get("CI") == "true":
            pytest.fail("RabbitMQ is not answering on 127.0.0.1:5672 (required under CI)")
        pytest.skip("RabbitMQ is not answering on 127.0.0.1:5672")
    cluster = Cluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def process_env(cluster, queue):
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": cluster.url,
        "CELERY_BROKER_URL": BROKER,
        "CELERY_QUEUE": queue,
        "WEBHOOK_ALLOW_PRIVATE": "1",
        "WORKFLOWS_STEP_LEASE_SECONDS": "1",  # a step's lease: its timeout_s + 5 s
        "WORKFLOWS_SWEEP_AFTER_SECONDS": "5",
        "PYTHONUNBUFFERED": "1",
    }


def manage(env, *args, timeout=300):
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        timeout=timeout,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, f"manage.py {args[0]}: {done.stderr[-3000:]}"
    return done


def spawn(env, args, log):
    proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    proc.log_path = Path(log.name)
    return proc


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def wait_for(predicate, timeout, procs=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in procs:
            assert proc.poll() is None, (
                f"{proc.args[:4]} exited with {proc.returncode}: "
                f"{proc.log_path.read_text()[-3000:]}"
            )
        try:
            if predicate():
                return True
        except psycopg.OperationalError:
            pass  # the cluster is restarting
        time.sleep(0.5)
    return False


def test_a_database_restart_under_the_relay_and_the_worker_loses_nothing(cluster, tmp_path):
    queue = f"workflows-restart-{uuid.uuid4().hex[:8]}"
    env = process_env(cluster, queue)
    manage(env, "migrate", "--noinput")
    steps, events = StepRun._meta.db_table, OutboxEvent._meta.db_table
    transitions = StateTransition._meta.db_table

    def scalar(sql, params=()):
        with cluster.connect() as conn:
            return conn.execute(sql, params).fetchone()[0]

    relay_log, worker_log = tmp_path / "relay.log", tmp_path / "worker.log"
    with (
        WebhookServer([200], delay_s=1.0) as server,
        relay_log.open("w") as rlog,
        worker_log.open("w") as wlog,
    ):
        relay = spawn(
            env,
            [sys.executable, "manage.py", "relay_outbox", "--interval", "0.2"]
            + ["--sweep-every", "2"],
            rlog,
        )
        worker = spawn(
            env,
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo"]
            + ["-Q", queue, "-n", f"{queue}@%h"]
            + ["--without-heartbeat", "--without-gossip", "--without-mingle"]
            + ["-l", "warning"],
            wlog,
        )
        procs = (relay, worker)
        try:
            manage(env, "shell", "-c", SEED % {"url": server.url, "cases": CASES})
            # Mid-way: some webhooks delivered, most of the work still ahead, and (a call
            # takes 1 s) most likely one in flight.
            assert wait_for(lambda: len(server.requests) >= 3, 120, procs), (
                f"no deliveries started: {worker_log.read_text()[-3000:]}"
            )
            cluster.ctl("-m", "fast", "-w", "restart")
            done = wait_for(
                lambda: (
                    scalar(
                        f"SELECT count(*) FROM {steps} WHERE status <> 'completed'"  # noqa: S608
                    )
                    == 0
                    and scalar(
                        f"SELECT count(*) FROM {events} WHERE dispatched_at IS NULL"  # noqa: S608
                    )
                    == 0
                ),
                180,
                procs,
            )
            assert done, (
                f"left: {scalar(f'SELECT count(*) FROM {steps} WHERE status <> %s', ['completed'])}"
                f" step runs\nrelay: {relay_log.read_text()[-3000:]}\n"
                f"worker: {worker_log.read_text()[-3000:]}"
            )
            time.sleep(1)  # a late duplicate would show now
            assert relay.poll() is None, "the relay exited"
            assert worker.poll() is None, "the worker exited"
        finally:
            for proc in procs:
                stop(proc)
        requests = list(server.requests)

    with cluster.connect() as conn:
        rows = conn.execute(
            f"SELECT id, action, status, attempts, idempotency_key::text FROM {steps}"  # noqa: S608
        ).fetchall()
        finished = dict(
            conn.execute(
                f"SELECT object_id, count(*) FROM {transitions}"  # noqa: S608
                " WHERE object_type = 'step_run' AND to_status = 'completed' GROUP BY object_id"
            ).fetchall()
        )
        undispatched = conn.execute(
            f"SELECT count(*) FROM {events} WHERE dispatched_at IS NULL"  # noqa: S608
        ).fetchone()[0]
    assert len(rows) == 3 * CASES
    assert undispatched == 0
    deliveries = {}
    for request in requests:
        key = request["headers"]["Idempotency-Key"]
        deliveries[key] = deliveries.get(key, 0) + 1
    for step_id, action, status, attempts, key in rows:
        assert status == "completed"
        assert finished.get(step_id) == 1, f"step run {step_id} finished {finished.get(step_id)}x"
        if action == "webhook":
            # Delivered, and every delivery counted as an attempt (at most one per attempt).
            assert 1 <= deliveries.get(key, 0) <= attempts, (step_id, deliveries.get(key), attempts)
        else:
            assert attempts >= 1
    assert set(deliveries) <= {key for *_, key in rows}
    # The restart was felt, and survived: the relay logged its reconnect.
    assert "reconnect attempt" in relay_log.read_text()
