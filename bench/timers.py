"""Timer benchmark: due jobs fired by the job executor (workflows.engine.jobs) on PostgreSQL.

1. N due jobs of a timer-like no-op kind, spread over a few tenants, fired by one poller:
   jobs per second and SQL statements per job (BEGIN/COMMIT and savepoints not counted).
2. N more, fired by two pollers at once (threads, each with its own connection): how many
   jobs ran twice. Anything but 0 is a failure (exit status 1).

    make bench                                  # runs this after the approval-chain bench
    .venv/bin/python bench/timers.py --jobs 2000 --json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_NAME = "workflows_bench_timers"
KIND = "bench.timer"


def bench_database_url() -> str:
    base = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/workflows"
    return urlunparse(urlparse(base)._replace(path=f"/{DB_NAME}"))


def ensure_database(url: str) -> None:
    import psycopg

    admin = urlunparse(urlparse(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    os.environ["DB_ALLOW_SUPERUSER"] = "1"  # the bench's own database; see approval_chain.py
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class StatementCounter:
    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if not sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT")):
            with self.lock:
                self.count += 1
        return execute(sql, params, many, context)


def make_tenants(count: int) -> list[int]:
    from django.db import transaction

    from core.tenancy import set_db_context
    from tenants.models import Tenant

    with transaction.atomic():
        set_db_context(bypass=True)
        return [Tenant.objects.create(name=f"T{i}", slug=f"bench-t{i}").pk for i in range(count)]


def make_due_jobs(tenants: list[int], n: int) -> None:
    """N due jobs, the tenants interleaved (as timers of many tenants fall due together)."""
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from core.tenancy import set_db_context
    from workflows.models import Job

    start = timezone.now() - timedelta(minutes=1)
    with transaction.atomic():
        set_db_context(bypass=True)
        Job.objects.bulk_create(
            (
                Job(
                    tenant_id=tenants[i % len(tenants)],
                    kind=KIND,
                    payload={"task": i, "timer": "remind"},
                    due_at=start + timedelta(milliseconds=i),
                    key=f"task:{i}:remind",
                )
                for i in range(n)
            ),
            batch_size=2000,
        )
    with transaction.atomic():
        set_db_context(bypass=True)
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE workflows_job")


def drain(worker: str, limit: int) -> int:
    from workflows.engine import jobs

    total = 0
    while True:
        ran = jobs.run_due(limit=limit, worker=worker)
        if ran == 0:
            return total
        total += ran


def one_poller(n: int, limit: int) -> dict[str, Any]:
    from django.db import connection

    counter = StatementCounter()
    began = time.perf_counter()
    with connection.execute_wrapper(counter):
        ran = drain("bench-1", limit)
    seconds = time.perf_counter() - began
    assert ran == n, (ran, n)
    return {
        "jobs": n,
        "seconds": round(seconds, 3),
        "jobs_per_s": round(n / seconds, 1),
        "statements_per_job": round(counter.count / n, 3),
    }


def two_pollers(n: int, limit: int) -> dict[str, Any]:
    from django.db import connections

    from workflows.models import Job, JobStatus

    barrier = threading.Barrier(2)
    totals: dict[str, int] = {}
    errors: list[BaseException] = []

    def poller(name: str) -> None:
        try:
            barrier.wait()
            totals[name] = drain(name, limit)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    began = time.perf_counter()
    threads = [threading.Thread(target=poller, args=(f"bench-{i}",)) for i in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    if errors:
        raise errors[0]
    twice = sum(1 for count in FIRED.values() if count > 1)
    not_done = Job.objects.unscoped().exclude(status=JobStatus.DONE).count()
    return {
        "jobs": n,
        "seconds": round(seconds, 3),
        "jobs_per_s": round(n / seconds, 1),
        "per_poller": [totals.get("bench-1", 0), totals.get("bench-2", 0)],
        "fired_twice": twice,
        "not_done": not_done,
    }


FIRED: Counter[int] = Counter()
_FIRED_LOCK = threading.Lock()


def fire(job: Any) -> None:
    """A timer-like job that does nothing but be counted."""
    with _FIRED_LOCK:
        FIRED[job.pk] += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--limit", type=int, default=100, help="jobs claimed per poll")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    url = bench_database_url()
    ensure_database(url)
    setup_django(url)
    from workflows.engine import jobs

    jobs.register_job(KIND, fire)
    tenants = make_tenants(args.tenants)

    make_due_jobs(tenants, args.jobs)
    single = one_poller(args.jobs, args.limit)

    from django.db import transaction

    from core.tenancy import set_db_context
    from workflows.models import Job

    with transaction.atomic():
        set_db_context(bypass=True)
        Job.objects.unscoped().delete()
    FIRED.clear()
    make_due_jobs(tenants, args.jobs)
    double = two_pollers(args.jobs, args.limit)

    result = {"one_poller": single, "two_pollers": double, "tenants": args.tenants}
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"timers, one poller: {single['jobs']} due jobs of {args.tenants} tenants in "
            f"{single['seconds']} s: {single['jobs_per_s']} jobs/s, "
            f"{single['statements_per_job']} statements per job"
        )
        print(
            f"timers, two pollers: {double['jobs']} due jobs in {double['seconds']} s "
            f"({double['jobs_per_s']} jobs/s; {double['per_poller'][0]} + "
            f"{double['per_poller'][1]}), fired twice: {double['fired_twice']}, "
            f"not done: {double['not_done']}"
        )
    return 1 if double["fired_twice"] or double["not_done"] else 0


if __name__ == "__main__":
    sys.exit(main())
