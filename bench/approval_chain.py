"""Approval-chain benchmark: N transfers, each a chain of 3 workflows with one approval step.

Everything goes through the service layer on PostgreSQL, in-process: create the transfer
(which starts workflow 1), then three approvals, each completing a run and starting the next.
The same work is done in raw SQL (lock the row, insert the decision, advance the state) as a
ceiling, in the same run, on the same server, alternating with the engine (see `measure`).

    make bench                 # 300 transfers
    make bench ARGS="--transfers 1000 --json"
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import sys
import time
from functools import partial
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def bench_database_url() -> str:
    base = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/workflows"
    parts = urlparse(base)
    # Its own database next to DATABASE_URL's (workflows -> workflows_bench): dropped each run.
    name = (parts.path.strip("/") or "workflows") + "_bench"
    return urlunparse(parts._replace(path=f"/{name}"))


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlparse(url)
    admin = urlunparse(parts._replace(path="/postgres"))
    name = parts.path.strip("/")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    # The bench creates its database, so its login is the owner (a superuser on the loopback
    # server): said explicitly. Its connections still work as the application role, with
    # row-level security, as the API's do (core.db_roles).
    os.environ["DB_ALLOW_SUPERUSER"] = "1"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class QueryCounter:
    """Counts SQL statements with a connection wrapper (no debug cursor overhead). Savepoints
    are not counted, like BEGIN/COMMIT: each decision runs inside its request's transaction,
    as in the API, and the figure is the decision's own statements."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):  # noqa: ANN001
        if not sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT")):
            self.count += 1
        return execute(sql, params, many, context)


def fixture():
    from django.db import transaction

    from core.tenancy import set_db_context

    with transaction.atomic():
        set_db_context(bypass=True)  # platform code: builds a whole tenant
        return _fixture()


_requests = itertools.count(1)


def in_tenant(tenant, actor, operation):  # noqa: ANN001, ANN201
    """One request's transaction: the tenant, actor and request id set as the API sets them
    (a request id of 32 hex digits, the shape of the middleware's uuid4().hex, which every
    audit event of the request carries)."""
    from django.db import transaction

    from core.tenancy import set_db_context

    with transaction.atomic():
        set_db_context(tenant_id=tenant.pk, actor_id=actor.pk, request_id=f"{next(_requests):032x}")
        return operation()


def _fixture():
    from accounts.models import Role
    from accounts.services import user_create
    from approvals.models import SecurityGroup, SecurityGroupMember, WorkflowAssignment
    from tenants.models import Tenant
    from workflows import services as wf

    tenant = Tenant.objects.create(name="Bench", slug="bench")
    password = "Bench-Pass-2026!"
    submitter = user_create(
        tenant=tenant, email="submitter@bench.test", password=password, role=Role.AGENT
    )
    approver = user_create(
        tenant=tenant, email="approver@bench.test", password=password, role=Role.SUPERVISOR
    )
    group = SecurityGroup.objects.create(tenant=tenant, name="Finance Team")
    for user in (submitter, approver):
        SecurityGroupMember.objects.create(tenant=tenant, security_group=group, user=user)
    for order in (1, 2, 3):
        workflow = wf.workflow_create(
            tenant=tenant,
            name=f"FAR {order}",
            code=f"FAR_{order}",
            transfer_type="FAR",
            actor=approver,
        )
        wf.step_create(
            tenant=tenant,
            workflow=workflow,
            name="Approve",
            order=0,
            action="approval",
            config={"approvers": {"security_group": group.pk}},
            actor=approver,
        )
        WorkflowAssignment.objects.create(
            tenant=tenant, security_group=group, workflow_template=workflow, execution_order=order
        )
    return tenant, submitter, approver, group


def engine_side():  # noqa: ANN201
    """The fixture, then (one, approved): `one(reference)` runs one transfer through the service
    layer (create, then 3 approvals) and returns the SQL statements its decisions issued;
    `approved()` counts the approved transfers."""
    from decimal import Decimal

    from django.db import connection

    from approvals.services.transfers import transfer_create, transfer_decide

    tenant, submitter, approver, group = fixture()
    counter = QueryCounter()

    def one(reference: str) -> int:
        transfer = in_tenant(
            tenant,
            submitter,
            lambda: transfer_create(
                tenant=tenant,
                transfer_type="FAR",
                reference=reference,
                amount=Decimal("100.00"),
                currency="EUR",
                security_group_id=group.pk,
                actor=submitter,
            ),
        )
        decide = partial(
            transfer_decide,
            tenant=tenant,
            transfer_id=transfer.pk,
            decision="approve",
            actor=approver,
        )
        statements = 0
        for _ in range(3):
            # Counted inside the transaction, after the context: the decision's own statements.
            def counted() -> None:
                nonlocal statements
                before = counter.count
                with connection.execute_wrapper(counter):
                    decide()
                statements += counter.count - before

            in_tenant(tenant, approver, counted)
        return statements

    def approved() -> int:
        from approvals.models import Transfer

        return in_tenant(
            tenant,
            approver,
            lambda: Transfer.objects.for_tenant(tenant).filter(status="approved").count(),
        )

    return one, approved


CEILING_SCHEMA = """
DROP TABLE IF EXISTS raw_decision, raw_task, raw_run, raw_transfer;
CREATE TABLE raw_transfer (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL,
    status text NOT NULL, reference text NOT NULL);
CREATE TABLE raw_run (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL,
    transfer_id bigint NOT NULL REFERENCES raw_transfer, seq int NOT NULL, status text NOT NULL,
    UNIQUE (tenant_id, transfer_id, seq));
CREATE TABLE raw_task (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL,
    run_id bigint NOT NULL REFERENCES raw_run, status text NOT NULL);
CREATE TABLE raw_decision (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL,
    task_id bigint NOT NULL REFERENCES raw_task, user_id bigint NOT NULL, decision text NOT NULL,
    decided_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX ON raw_task (tenant_id, run_id, status);
"""


def ceiling_transfer(conn, reference: str) -> None:  # noqa: ANN001
    """The same work in hand-written SQL over psycopg: the most a Python process can do."""
    with conn.transaction():
        tid = conn.execute(
            "INSERT INTO raw_transfer (tenant_id, status, reference) "
            "VALUES (1, 'pending', %s) RETURNING id",
            (reference,),
        ).fetchone()[0]
        run_ids = [
            r[0]
            for r in conn.execute(
                "INSERT INTO raw_run (tenant_id, transfer_id, seq, status) "
                "SELECT 1, %s, s, CASE WHEN s = 1 THEN 'running' ELSE 'not_started' END "
                "FROM generate_series(1, 3) s RETURNING id",
                (tid,),
            ).fetchall()
        ]
        conn.execute(
            "INSERT INTO raw_task (tenant_id, run_id, status) VALUES (1, %s, 'pending')",
            (run_ids[0],),
        )
    for seq in range(3):
        with conn.transaction():
            task_id, run_id = conn.execute(
                "SELECT t.id, t.run_id FROM raw_task t JOIN raw_run r "
                "ON r.tenant_id = t.tenant_id AND r.id = t.run_id "
                "WHERE t.tenant_id = 1 AND r.transfer_id = %s AND t.status = 'pending' "
                "FOR UPDATE OF t",
                (tid,),
            ).fetchone()
            conn.execute(
                "INSERT INTO raw_decision (tenant_id, task_id, user_id, "
                "decision) VALUES (1, %s, 2, 'approve')",
                (task_id,),
            )
            conn.execute("UPDATE raw_task SET status = 'approved' WHERE id = %s", (task_id,))
            conn.execute("UPDATE raw_run SET status = 'completed' WHERE id = %s", (run_id,))
            if seq < 2:
                conn.execute(
                    "UPDATE raw_run SET status = 'running' WHERE id = %s", (run_ids[seq + 1],)
                )
                conn.execute(
                    "INSERT INTO raw_task (tenant_id, run_id, status) VALUES (1, %s, 'pending')",
                    (run_ids[seq + 1],),
                )
            else:
                conn.execute("UPDATE raw_transfer SET status = 'approved' WHERE id = %s", (tid,))


def measure(n: int, url: str, rounds: int = 5) -> dict[str, float]:
    """Both sides first process n warm-up transfers, then the database is ANALYZEd: the measured
    transfers run against tables with history and statistics, as in production (on fresh,
    never-analysed tables the planner cannot tell a key lookup from a scan). The measured n
    transfers then run in `rounds` alternating slices, ceiling then engine, so that a machine
    whose speed drifts during the run slows both sides alike."""
    import psycopg

    engine_one, engine_approved = engine_side()
    with psycopg.connect(url) as conn:
        conn.execute(CEILING_SCHEMA)
        conn.commit()
        for i in range(n):
            ceiling_transfer(conn, f"W-{i}")
            engine_one(f"W-{i}")
        conn.execute("ANALYZE")  # as the owner: the application role may not analyse
        conn.commit()
        seconds = {"engine": 0.0, "ceiling": 0.0}
        decide_queries = 0
        done = 0
        for r in range(rounds):
            size = n // rounds + (1 if r < n % rounds else 0)
            started = time.perf_counter()
            for i in range(done, done + size):
                ceiling_transfer(conn, f"R-{i}")
            seconds["ceiling"] += time.perf_counter() - started
            started = time.perf_counter()
            for i in range(done, done + size):
                decide_queries += engine_one(f"B-{i}")
            seconds["engine"] += time.perf_counter() - started
            done += size
        conn.execute("DROP TABLE raw_decision, raw_task, raw_run, raw_transfer")
        conn.commit()
        # Table, indexes and TOAST, summed over the partitions if partitioned, over all 2n
        # engine transfers (the fixture's few rows are noise).
        audit_bytes = conn.execute(
            "SELECT COALESCE((SELECT sum(pg_total_relation_size(relid)) FROM "
            "pg_partition_tree('core_auditevent')), pg_total_relation_size('core_auditevent'))"
        ).fetchone()[0]
    approved = engine_approved()
    assert approved == 2 * n, f"only {approved} of {2 * n} transfers approved"
    return {
        "transfers_per_s": n / seconds["engine"],
        "queries_per_decision": decide_queries / (3 * n),
        "seconds": seconds["engine"],
        "ceiling_transfers_per_s": n / seconds["ceiling"],
        "ceiling_seconds": seconds["ceiling"],
        "audit_bytes_per_transfer": int(audit_bytes) / (2 * n),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transfers", type=int, default=300)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    url = bench_database_url()
    ensure_database(url)
    setup_django(url)
    if not args.json:
        print(
            f"approval-chain benchmark: {args.transfers} transfers x 3 approvals, "
            f"PostgreSQL {urlparse(url).hostname}:{urlparse(url).port or 5432}",
            flush=True,
        )
    result = measure(args.transfers, url)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = {
        "transfers": args.transfers,
        "transfers_per_s": round(result["transfers_per_s"], 1),
        "queries_per_decision": round(result["queries_per_decision"], 2),
        "peak_rss_mb": round(peak_rss_mb, 1),
        "ceiling_transfers_per_s": round(result["ceiling_transfers_per_s"], 1),
        "ratio_to_ceiling": round(result["transfers_per_s"] / result["ceiling_transfers_per_s"], 3),
        "audit_bytes_per_transfer": round(result["audit_bytes_per_transfer"]),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        print(
            f"  engine:   {figures['transfers_per_s']:>8} transfers/s ({result['seconds']:.2f} s)"
        )
        print(
            f"  ceiling:  {figures['ceiling_transfers_per_s']:>8} transfers/s raw SQL "
            f"({result['ceiling_seconds']:.2f} s)"
        )
        print(f"  ratio to ceiling:     {figures['ratio_to_ceiling']}")
        print(f"  SQL queries/decision: {figures['queries_per_decision']} (target <= 10)")
        print(f"  peak RSS:             {figures['peak_rss_mb']} MB")
        print(
            f"  audit bytes/transfer: {figures['audit_bytes_per_transfer']} "
            "(core_auditevent with indexes; target <= 10240)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
