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
            ["make", "-s", "load", "ARGS=--users 3 --rounds 2"],  # noqa: S607
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
        # Two rounds, alternating: a ratio each and their median.
        assert re.search(r"round 2/2: ceiling\n  round 2/2: engine", out), out
        assert re.search(r"decisions/ceiling per round: [\d.]+, [\d.]+; median [\d.]+", out), out
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


def test_rounds_are_pooled_as_one_run():
    from bench.load.run import pooled, summarize

    def run(seconds, decisions, samples, cpu):
        counts = {"completed": decisions // 3, "decisions": decisions, "lost_races": 1, "stuck": 0}
        clock = {"start": 100.0, "stop": 100.0 + seconds}
        return {"samples": samples, "counts": counts, "clock": clock, "cpu": cpu}

    first = run(10, 30, {"approve": [[200, 10.0], [409, 5.0]]}, {"web": 0.3})
    second = run(30, 90, {"approve": [[200, 30.0]], "list": [[200, 7.0]]}, {"web": 1.5})
    both = summarize(pooled([first, second]))
    assert both["decisions_per_s"] == 120 / 40
    assert both["lost_races"] == 2
    assert both["endpoints"]["approve"]["n"] == 3
    assert both["endpoints"]["list"]["n"] == 1
    assert both["statuses"] == {"200": 3, "409": 1}
    assert both["cpu_ms_per_decision"] == {"web": 1000 * 1.8 / 120}
    # A round without CPU figures (no process to read) leaves the pooled run without them.
    assert summarize(pooled([first, {**second, "cpu": None}]))["cpu_ms_per_decision"] is None


def test_cpu_is_counted_per_process_across_a_reconnect():
    from bench.load.run import cpu_spent

    start = {"web": {10: 5.0, 11: 2.0}, "database": {20: 7.0, 21: 9.0}}
    # Backend 21 closed (CONN_MAX_AGE) and 22 opened in between; worker 11 kept working.
    end = {"web": {10: 6.0, 11: 2.5}, "database": {20: 7.5, 22: 0.25}}
    assert cpu_spent(start, end) == {"web": 1.5, "database": 0.75}
