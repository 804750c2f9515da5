"""`make load` with tiny numbers: it starts `make up` itself, drives it with locust, prints the
table with no 5xx, and stops what it started. The figures are not asserted (README "Load
figures"); that nothing failed is.
"""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.test_make_up import (
    SCRUBBED,
    answers,
    free_port,
    require_broker_services,
    server_url,
    with_db,
)

BASE_DIR = Path(__file__).resolve().parent.parent


@pytest.mark.broker
def test_make_load_prints_the_table_with_no_server_errors(tmp_path):
    require_broker_services()
    tag = uuid.uuid4().hex[:8]
    server = server_url()
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env.update(
        LOAD_DATABASE_URL=with_db(server, f"wf_load_test_{tag}"),
        LOAD_PORT=str(free_port()),
        LOAD_SECONDS="3",
        WORKFLOWS_VAR_DIR=str(tmp_path / "var"),
        CELERY_QUEUE=f"load-test-{tag}",
        UP_WEB_LOGIN=f"wf_load_web_{tag}",
        UP_WORKER_LOGIN=f"wf_load_worker_{tag}",
        WEB_CONCURRENCY="2",
        CELERY_CONCURRENCY="1",
    )
    try:
        done = subprocess.run(
            ["make", "-s", "load", "ARGS=--users 3"],  # noqa: S607
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        out = done.stdout + done.stderr
        assert done.returncode == 0, out
        assert re.search(r"completed transfers/s\s+\d", out), out
        assert re.search(r"engine POST transfers/\{id\}/approve/\s+\d+", out), out
        assert "engine errors (not 409): none; 5xx responses: 0" in out, out
        assert "ceiling errors (not 409): none; 5xx responses: 0" in out, out
        assert "decisions/ceiling:" in out, out
        # make down ran: nothing answers on the port any more.
        assert not answers(int(env["LOAD_PORT"]))
    finally:
        subprocess.run(["make", "-s", "down"], cwd=BASE_DIR, env=env, timeout=60, check=False)  # noqa: S607
        with psycopg.connect(with_db(server, "postgres"), autocommit=True) as conn:
            name = sql.Identifier(f"wf_load_test_{tag}")
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            for login in (env["UP_WEB_LOGIN"], env["UP_WORKER_LOGIN"]):
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(login)))
        from kombu import Connection

        with Connection("amqp://guest:guest@127.0.0.1:5672//") as broker:
            broker.default_channel.queue_delete(env["CELERY_QUEUE"])
