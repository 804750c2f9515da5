"""`make up` runs the production topology for real, and `make down` leaves nothing behind.

One subprocess runs `make up` on a database, var directory, port, queue and database logins of
its own; the test signs in as a demo user through the API, starts a run whose only step is a
webhook to a server of its own, and sees the real Celery worker deliver it and the run
complete. Then `make down`, and every process `make up` started is gone.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import pytest
from psycopg import sql

from workflows.tests.webhook_server import WebhookServer

BASE_DIR = Path(__file__).resolve().parent.parent

# Settings the test run exports for itself that `make up` must not inherit.
SCRUBBED = (
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_SECRET_KEY",
    "DJANGO_DEBUG",
    "DJANGO_ALLOWED_HOSTS",
    "DB_ALLOW_SUPERUSER",
    "CELERY_BROKER_URL",
    "REDIS_URL",
    "PORT",
)


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_url() -> str:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.skip("make up needs PostgreSQL (DATABASE_URL)")
    return url


def with_db(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def descendants(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found |= {child} | descendants(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(predicate, what: str, up: subprocess.Popen, log: Path, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if up.poll() is not None:
            pytest.fail(f"make up exited ({up.returncode}) before {what}:\n{log_tail(log)}")
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}:\n{log_tail(log)}")


def log_tail(log: Path) -> str:
    lines = [ln for ln in log.read_text(errors="replace").splitlines() if "WARNING: Loc" not in ln]
    return "\n".join(lines[-60:])


def ready(client: httpx.Client) -> bool:
    try:
        return client.get("/readyz").status_code == 200
    except httpx.TransportError:
        return False


def require_broker_services() -> None:
    """RabbitMQ and Redis on loopback: skip without them, fail under CI."""
    for port in (5672, 6379):
        if not answers(port):
            if os.environ.get("CI") == "true":
                pytest.fail(f"nothing answers on 127.0.0.1:{port} (required under CI)")
            pytest.skip(f"nothing answers on 127.0.0.1:{port} (RabbitMQ, Redis)")


@pytest.fixture
def topology(tmp_path):
    require_broker_services()
    tag = uuid.uuid4().hex[:8]
    server = server_url()
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env.update(
        DATABASE_URL=with_db(server, f"wf_up_test_{tag}"),
        PORT=str(free_port()),
        WORKFLOWS_VAR_DIR=str(tmp_path / "var"),
        CELERY_QUEUE=f"up-test-{tag}",
        UP_WEB_LOGIN=f"wf_up_web_{tag}",
        UP_WORKER_LOGIN=f"wf_up_worker_{tag}",
        UP_DEMO="1",
        WEB_CONCURRENCY="2",
        CELERY_CONCURRENCY="1",
        # Only here: the webhook goes to this test's server on loopback (README, webhook).
        WEBHOOK_ALLOW_PRIVATE="1",
    )
    yield env
    # Whatever happened, nothing of this test outlives it.
    subprocess.run(["make", "-s", "down"], cwd=BASE_DIR, env=env, timeout=60, check=False)  # noqa: S607
    with psycopg.connect(with_db(server, "postgres"), autocommit=True) as conn:
        name = sql.Identifier(f"wf_up_test_{tag}")
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        for login in (env["UP_WEB_LOGIN"], env["UP_WORKER_LOGIN"]):
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(login)))
    from kombu import Connection

    with Connection("amqp://guest:guest@127.0.0.1:5672//") as broker:
        broker.default_channel.queue_delete(env["CELERY_QUEUE"])


@pytest.mark.broker
def test_make_up_runs_a_webhook_on_the_real_worker_and_make_down_stops_everything(
    topology, tmp_path
):
    env = topology
    log = tmp_path / "up.log"
    with log.open("wb") as out:
        up = subprocess.Popen(  # noqa: S603
            ["make", "up"],  # noqa: S607
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: the test never signals itself
        )
    started: set[int] = set()
    try:
        base = f"http://127.0.0.1:{env['PORT']}"
        with WebhookServer() as hook, httpx.Client(base_url=base, timeout=10) as client:
            wait_for(lambda: ready(client), "/readyz", up, log, timeout=90)
            # Plain HTTP on loopback (DJANGO_LOOPBACK_HTTP, set by make up): no redirect.
            token = client.post(
                "/api/auth/token/",
                json={"email": "admin@demo.example", "password": "Demo-Pass-2026!"},
            )
            assert token.status_code == 200, token.text
            client.headers["Authorization"] = f"Bearer {token.json()['access']}"
            tenant = client.get("/api/auth/me/").json()["tenant"]
            workflow = client.post(f"/api/tenants/{tenant}/workflows/", json={"name": "Ping"})
            assert workflow.status_code == 201, workflow.text
            step = client.post(
                f"/api/workflows/{workflow.json()['id']}/steps/",
                json={
                    "name": "Tell the receiver",
                    "order": 0,
                    "action": "webhook",
                    "config": {"url": hook.url, "timeout_s": 5, "max_attempts": 1},
                },
            )
            assert step.status_code == 201, step.text
            case = client.post("/api/cases/", json={"title": "make up"})
            assert case.status_code == 201, case.text
            run = client.post(
                f"/api/cases/{case.json()['id']}/runs/", json={"workflow": workflow.json()["id"]}
            )
            assert run.status_code == 201, run.text

            wait_for(lambda: hook.requests, "the webhook", up, log)
            assert hook.requests[0]["method"] == "POST"
            assert hook.requests[0]["headers"]["X-Workflows-Signature"].startswith("sha256=")
            status = wait_for(
                lambda: (
                    client.get(f"/api/runs/{run.json()['id']}/").json()["status"]
                    in ("completed", "failed")
                    and client.get(f"/api/runs/{run.json()['id']}/").json()["status"]
                ),
                "the run to finish",
                up,
                log,
            )
            assert status == "completed", log_tail(log)
            worker_log = log.read_text(errors="replace")
            assert "workflows.execute_step_run" in worker_log
            assert "succeeded in" in worker_log

            # /metrics (loopback may read it under make up) sums every process: the web's
            # requests, the worker's Celery outcome, the relay's engine counters.
            def scraped() -> dict[str, float]:
                text = httpx.get(f"{base}/metrics", timeout=10).text
                found = {}
                for line in text.splitlines():
                    if line.startswith("workflows_") and " " in line:
                        name, value = line.rsplit(" ", 1)
                        found[name] = found.get(name, 0.0) + float(value)
                return found

            def counters_moved() -> bool:
                found = scraped()
                return found.get(
                    'workflows_runs_finished_total{status="completed"}', 0
                ) >= 1 and any(
                    k.startswith("workflows_celery_tasks_total") and "success" in k for k in found
                )

            wait_for(counters_moved, "the metrics", up, log)
            found = scraped()
            requests = [k for k in found if k.startswith("workflows_http_requests_total")]
            assert any('route="api/cases/"' in k for k in requests), requests

        # The database sees only the two non-superuser logins (no process runs as the owner).
        with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
            users = {
                row[0]
                for row in conn.execute(
                    "SELECT usename FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            }
        assert users <= {env["UP_WEB_LOGIN"], env["UP_WORKER_LOGIN"]}, users
        assert env["UP_WORKER_LOGIN"] in users  # the relay and the worker keep theirs open

        started = descendants(up.pid)
        assert len(started) >= 6, started  # make's shell/honcho, gunicorn x3, relay, celery x2
        down = subprocess.run(  # noqa: S603
            ["make", "-s", "down"],  # noqa: S607
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert down.returncode == 0, down.stdout + down.stderr
        up.wait(timeout=30)
        assert [pid for pid in started if alive(pid)] == []
        assert not (Path(env["WORKFLOWS_VAR_DIR"]) / "up.pid").exists()
    finally:
        # A failed make down must not leave processes behind (each is in a session of its own).
        for pid in {*started, *descendants(up.pid)}:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()


PROBE = (
    "import django; django.setup(); from django.conf import settings; "
    "print('REDIRECT', settings.SECURE_SSL_REDIRECT)"
)


def production_probe(**extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DJANGO_SECRET_KEY="x" * 50,
        DATABASE_URL="postgres://nobody@127.0.0.1:1/none",
        REDIS_URL="redis://127.0.0.1:6379/0",
        **extra,
    )
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", PROBE],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_plain_http_is_refused_for_a_host_that_is_not_loopback():
    refused = production_probe(
        DJANGO_ALLOWED_HOSTS="workflows.example.org", DJANGO_LOOPBACK_HTTP="1"
    )
    assert refused.returncode != 0
    assert "DJANGO_LOOPBACK_HTTP=1" in refused.stderr
    assert "workflows.example.org" in refused.stderr
    loopback = production_probe(
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost", DJANGO_LOOPBACK_HTTP="1"
    )
    assert "REDIRECT False" in loopback.stdout, loopback.stderr
    default = production_probe(DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost")
    assert "REDIRECT True" in default.stdout, default.stderr
