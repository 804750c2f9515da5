"""HTTP approvals as deployed: N `POST /api/approvals/transfers/{id}/approve/` with a JWT.

Production settings (config.settings.production, loopback HTTP, Redis cache) and the whole
middleware stack, through Django's test client, in-process, calling close_old_connections
around each request as WSGIHandler's request signals do (the test client skips them), so the
connection is closed or kept as CONN_MAX_AGE says. On PostgreSQL, in a fresh database named
after DATABASE_URL's with `_deployed` appended. The transfers are created first; each
measured request approves the first step of one. Prints approvals per second, milliseconds per
approval, SQL statements per approval (all of them, and of those the SAVEPOINT ones), database
connections opened, and the process's peak RSS.

    .venv/bin/python bench/deployed.py --approvals 300 [--json]
    DB_CONN_MAX_AGE=0 .venv/bin/python bench/deployed.py   # reconnecting on every request
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def bench_database_url() -> str:
    base = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/workflows"
    parts = urlparse(base)
    return urlunparse(parts._replace(path=parts.path.rstrip("/") + "_deployed"))


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin = urlunparse(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.production"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-" + "x" * 50)
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
    os.environ.setdefault("DJANGO_LOOPBACK_HTTP", "1")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    os.environ["THROTTLE_USER_RATE"] = "1000000/minute"  # the bench is one very busy user
    os.environ["DB_ALLOW_SUPERUSER"] = "1"  # it created its database (see approval_chain.py)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class Counter:
    """Statements by kind, with a connection wrapper (kept by the wrapper across reconnects)."""

    def __init__(self) -> None:
        self.statements = 0
        self.savepoints = 0

    def __call__(self, execute, sql, params, many, context):  # noqa: ANN001
        self.statements += 1
        if "SAVEPOINT" in sql:
            self.savepoints += 1
        return execute(sql, params, many, context)


def run(approvals: int, profile: int = 0) -> dict[str, Any]:
    from decimal import Decimal

    from django.conf import settings
    from django.db import close_old_connections, connection
    from django.db.backends.signals import connection_created
    from django.test import Client
    from rest_framework_simplejwt.tokens import AccessToken

    from approvals.services.transfers import transfer_create
    from bench.approval_chain import fixture, in_tenant

    tenant, submitter, approver, group = fixture()
    ids = [
        in_tenant(
            tenant,
            submitter,
            lambda i=i: (
                transfer_create(
                    tenant=tenant,
                    transfer_type="FAR",
                    reference=f"D-{i}",
                    amount=Decimal("100.00"),
                    currency="EUR",
                    security_group_id=group.pk,
                    actor=submitter,
                ).pk
            ),
        )
        for i in range(approvals + 20)
    ]
    connection.close()
    client = Client(
        HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(approver)}"
    )

    def approve(transfer_id: int) -> None:
        # What WSGIHandler's request_started/request_finished do, which the test client skips.
        close_old_connections()
        response = client.post(
            f"/api/approvals/transfers/{transfer_id}/approve/", {}, content_type="application/json"
        )
        assert response.status_code == 200, response.content
        close_old_connections()

    for transfer_id in ids[:20]:  # warm-up: imports, caches, prepared statements
        approve(transfer_id)
    if os.environ.get("BENCH_GC"):
        exec(os.environ["BENCH_GC"])
    opened = 0

    def on_connect(**kwargs: object) -> None:
        nonlocal opened
        opened += 1

    counter = Counter()
    connection_created.connect(on_connect)
    profiler = cProfile.Profile() if profile else None
    started, cpu = time.perf_counter(), time.process_time()
    with connection.execute_wrapper(counter):
        if profiler:
            profiler.enable()
        for transfer_id in ids[20:]:
            approve(transfer_id)
        if profiler:
            profiler.disable()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    connection_created.disconnect(on_connect)
    return {
        "approvals": approvals,
        "conn_max_age": settings.DATABASES["default"]["CONN_MAX_AGE"],
        "approvals_per_s": round(approvals / elapsed, 1),
        "ms_per_approval": round(1000 * elapsed / approvals, 2),
        "cpu_ms_per_approval": round(1000 * cpu / approvals, 2),
        "statements_per_approval": round(counter.statements / approvals, 2),
        "savepoints_per_approval": round(counter.savepoints / approvals, 2),
        "connections_opened": opened,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "profile": _top(profiler, profile) if profiler else None,
    }


def _top(profiler: cProfile.Profile, lines: int) -> str:
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(
        os.environ.get("BENCH_SORT", "tottime")
    ).print_stats(lines)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--approvals", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="print cProfile's top N (tottime)"
    )
    args = parser.parse_args()
    url = bench_database_url()
    ensure_database(url)
    setup_django(url)
    result = run(args.approvals, args.profile)
    profile = result.pop("profile")
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>24}: {value}")
    if profile:
        print(profile)


if __name__ == "__main__":
    main()
