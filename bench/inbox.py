"""Read benchmark: the inbox (`GET /api/tasks/`) and the transfer list (`GET
/api/approvals/transfers/`) for an approver as a tenant's history grows.

A tenant with one security group (the submitter and `--approvers` SUPERVISORs) and a chain of
3 FAR workflows (one approval step each, rule "any", approvers: the group). A few transfers go
through the engine (service layer): one approved through the whole chain, one rejected at its
first workflow, three pending (at workflows 1, 2 and 3). Those are the templates: the tenant
then grows to each size by copying their rows in bulk (transfers, runs, step runs, tasks,
ballots: exactly the rows the engine of this checkout left, undecided ballots of decided tasks
included if it leaves them), one copy in 20 pending, one in 10 rejected, the rest approved.
Not copied: the transition log and the audit trail (the inbox reads neither; the copies are
written with triggers off).

At each size the bench runs VACUUM ANALYZE, then measures each read (`--reads`; the first page,
50 items) for the first approver, who has open work (a ballot on every pending task), through
Django's test client in-process (the whole stack: JWT authentication, middleware, the view, the
serializer; no socket): 20 warm-up requests, then `--requests` timed ones; p50 and p95.
`--explain` prints EXPLAIN (ANALYZE, BUFFERS) of each read's SQL at each size.

    make bench-inbox                                   # 1,000 then 100,000 transfers
    make bench-inbox ARGS="--sizes 1000,10000 --json --reads transfers"
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGE_SIZE = 50
PENDING_EVERY = 20  # 5 % pending
REJECTED_EVERY = 10  # of the rest, about one in ten rejected at its first workflow


def bench_database_url() -> str:
    """A database of its own, beside the one in DATABASE_URL (`make bench` uses
    `workflows_bench`; both may run at once)."""
    base = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/workflows"
    parts = urlparse(base)
    name = (parts.path.lstrip("/") or "workflows") + "_inbox_bench"
    return urlunparse(parts._replace(path=f"/{name}"))


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
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    # As `make bench`: the bench creates its database, so its login is the owner; the
    # requests still work as the application role, with row-level security (core.db_roles).
    os.environ["DB_ALLOW_SUPERUSER"] = "1"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


# --- the tenant and its templates, through the engine ----------------------------------------


def build_templates(approvers: int) -> dict:
    """The tenant, its users, group and chain; the template transfers, through the services."""

    from django.db import transaction

    from accounts.models import Role
    from accounts.services import user_create
    from approvals.models import SecurityGroup, SecurityGroupMember, WorkflowAssignment
    from core.tenancy import set_db_context
    from tenants.models import Tenant
    from workflows import services as wf

    password = "Bench-Pass-2026!"
    with transaction.atomic():
        set_db_context(bypass=True)  # platform code: builds a whole tenant
        tenant = Tenant.objects.create(name="Inbox bench", slug="inbox-bench")
        submitter = user_create(
            tenant=tenant, email="submitter@bench.test", password=password, role=Role.AGENT
        )
        deciders = [
            user_create(
                tenant=tenant,
                email=f"approver{n}@bench.test",
                password=password,
                role=Role.SUPERVISOR,
            )
            for n in range(1, approvers + 1)
        ]
        group = SecurityGroup.objects.create(tenant=tenant, name="Finance Team")
        for user in (submitter, *deciders):
            SecurityGroupMember.objects.create(tenant=tenant, security_group=group, user=user)
        for order in (1, 2, 3):
            workflow = wf.workflow_create(
                tenant=tenant,
                name=f"FAR {order}",
                code=f"FAR_{order}",
                transfer_type="FAR",
                actor=deciders[0],
            )
            wf.step_create(
                tenant=tenant,
                workflow=workflow,
                name="Approve",
                order=0,
                action="approval",
                config={"approvers": {"security_group": group.pk}},
                actor=deciders[0],
            )
            WorkflowAssignment.objects.create(
                tenant=tenant,
                security_group=group,
                workflow_template=workflow,
                execution_order=order,
            )

    ids = seed_template_transfers(tenant, submitter, deciders, group)
    return {
        "tenant": tenant,
        "approver": deciders[0],
        "password": password,
        **ids,
    }


def seed_template_transfers(tenant, submitter, deciders: list, group) -> dict:  # noqa: ANN001
    """One approved, one rejected and one pending at each of the three workflows, through the
    services, as their people would (the templates that `grow` copies)."""
    from decimal import Decimal

    from django.db import transaction

    from approvals.services.transfers import transfer_create, transfer_decide
    from core.tenancy import set_db_context

    def in_tenant(actor, operation):  # noqa: ANN001, ANN202
        with transaction.atomic():
            set_db_context(tenant_id=tenant.pk, actor_id=actor.pk)
            return operation()

    def create(reference: str) -> int:
        return in_tenant(
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
        ).pk

    def decide(transfer_id: int, decision: str, times: int) -> None:
        # Each decision by another approver, as a desk would share the work.
        for n in range(times):
            actor = deciders[n % len(deciders)]
            in_tenant(
                actor,
                lambda actor=actor: transfer_decide(
                    tenant=tenant,
                    transfer_id=transfer_id,
                    decision=decision,
                    comment="" if decision == "approve" else "No.",
                    actor=actor,
                ),
            )

    approved = create("TPL-approved")
    decide(approved, "approve", 3)
    rejected = create("TPL-rejected")
    decide(rejected, "reject", 1)
    pending = []
    for at in (1, 2, 3):
        transfer_id = create(f"TPL-pending-{at}")
        decide(transfer_id, "approve", at - 1)
        pending.append(transfer_id)
    return {"approved": approved, "rejected": rejected, "pending": pending}


# --- copies in bulk --------------------------------------------------------------------------


def _copy_statements() -> list[str]:
    """INSERT ... SELECT per table, copying each template's rows for every row of `clones`
    (i, tpl, shift): new ids are base + (i - 1) * stride + the row's rank within its template,
    so that references between the copies follow without a lookup per row."""
    from django.db import models

    from approvals.models import Transfer
    from workflows.models import HumanTask, StepRun, TaskBallot, WorkflowRun

    def columns(model, overrides: dict[str, str]) -> tuple[str, str]:  # noqa: ANN001
        names, values = [], []
        for field in model._meta.concrete_fields:
            column = field.column
            names.append(f'"{column}"')
            if column in overrides:
                values.append(overrides[column])
            elif isinstance(field, models.DateTimeField):
                values.append(f'x."{column}" + c.shift')
            else:
                values.append(f'x."{column}"')
        return ", ".join(names), ", ".join(values)

    def new_id(kind: str, rank: str) -> str:
        return (
            f"(SELECT base FROM bases WHERE kind = '{kind}') + (c.i - 1) * "
            f"(SELECT stride FROM bases WHERE kind = '{kind}') + {rank}"
        )

    transfer = new_id("transfer", "1")
    statements = []
    names, values = columns(Transfer, {"id": transfer, "reference": "'B-' || c.i"})
    statements.append(
        f'INSERT INTO "{Transfer._meta.db_table}" ({names}) SELECT {values} '
        f'FROM clones c JOIN "{Transfer._meta.db_table}" x ON x.id = c.tpl'
    )
    names, values = columns(WorkflowRun, {"id": new_id("run", "r.rk"), "subject_id": transfer})
    statements.append(
        f'INSERT INTO "{WorkflowRun._meta.db_table}" ({names}) SELECT {values} '
        "FROM clones c JOIN tpl_run r ON r.tpl = c.tpl "
        f'JOIN "{WorkflowRun._meta.db_table}" x ON x.id = r.id'
    )
    names, values = columns(
        StepRun,
        {
            "id": new_id("step", "s.rk"),
            "run_id": new_id("run", "r.rk"),
            "idempotency_key": "gen_random_uuid()",
        },
    )
    statements.append(
        f'INSERT INTO "{StepRun._meta.db_table}" ({names}) SELECT {values} '
        "FROM clones c JOIN tpl_step s ON s.tpl = c.tpl "
        f'JOIN "{StepRun._meta.db_table}" x ON x.id = s.id '
        "JOIN tpl_run r ON r.id = x.run_id"
    )
    names, values = columns(
        HumanTask,
        {
            "id": new_id("task", "k.rk"),
            "step_run_id": new_id("step", "s.rk"),
            "run_id": new_id("run", "r.rk"),
            "subject_id": transfer,
        },
    )
    statements.append(
        f'INSERT INTO "{HumanTask._meta.db_table}" ({names}) SELECT {values} '
        "FROM clones c JOIN tpl_task k ON k.tpl = c.tpl "
        f'JOIN "{HumanTask._meta.db_table}" x ON x.id = k.id '
        "JOIN tpl_step s ON s.id = x.step_run_id JOIN tpl_run r ON r.id = x.run_id"
    )
    names, values = columns(
        TaskBallot, {"id": new_id("ballot", "b.rk"), "task_id": new_id("task", "k.rk")}
    )
    statements.append(
        f'INSERT INTO "{TaskBallot._meta.db_table}" ({names}) SELECT {values} '
        "FROM clones c JOIN tpl_ballot b ON b.tpl = c.tpl "
        f'JOIN "{TaskBallot._meta.db_table}" x ON x.id = b.id '
        "JOIN tpl_task k ON k.id = x.task_id"
    )
    return statements


def prepare_copies(conn, templates: dict) -> None:  # noqa: ANN001
    """Temporary tables: each template's rows with their rank (per table)."""
    from approvals.models import Transfer
    from workflows.models import HumanTask, StepRun, TaskBallot, WorkflowRun

    ids = [templates["approved"], templates["rejected"], *templates["pending"]]
    run_t, step_t = WorkflowRun._meta.db_table, StepRun._meta.db_table
    task_t, ballot_t = HumanTask._meta.db_table, TaskBallot._meta.db_table
    conn.execute(
        "CREATE TEMP TABLE tpl_run AS SELECT subject_id AS tpl, id, "
        "row_number() OVER (PARTITION BY subject_id ORDER BY id) AS rk "
        f"FROM \"{run_t}\" WHERE subject_type = 'transfer' AND subject_id = ANY(%s)",
        (ids,),
    )
    conn.execute(
        "CREATE TEMP TABLE tpl_step AS SELECT r.tpl, s.id, "
        "row_number() OVER (PARTITION BY r.tpl ORDER BY s.id) AS rk "
        f'FROM "{step_t}" s JOIN tpl_run r ON r.id = s.run_id'
    )
    conn.execute(
        "CREATE TEMP TABLE tpl_task AS SELECT r.tpl, k.id, "
        "row_number() OVER (PARTITION BY r.tpl ORDER BY k.id) AS rk "
        f'FROM "{task_t}" k JOIN tpl_run r ON r.id = k.run_id'
    )
    conn.execute(
        "CREATE TEMP TABLE tpl_ballot AS SELECT k.tpl, b.id, "
        "row_number() OVER (PARTITION BY k.tpl ORDER BY b.id) AS rk "
        f'FROM "{ballot_t}" b JOIN tpl_task k ON k.id = b.task_id'
    )
    conn.execute("CREATE TEMP TABLE bases (kind text, tbl text, base bigint, stride bigint)")
    for kind, table, ranks in (
        ("transfer", Transfer._meta.db_table, None),
        ("run", run_t, "tpl_run"),
        ("step", step_t, "tpl_step"),
        ("task", task_t, "tpl_task"),
        ("ballot", ballot_t, "tpl_ballot"),
    ):
        stride = f"(SELECT coalesce(max(rk), 1) FROM {ranks})" if ranks else "1"
        conn.execute(f"INSERT INTO bases VALUES (%s, %s, 0, {stride})", (kind, table))
    conn.execute("CREATE TEMP TABLE clones (i bigint PRIMARY KEY, tpl bigint, shift interval)")


def grow(conn, templates: dict, start: int, stop: int, newest: int) -> None:  # noqa: ANN001
    """Copies start..stop-1 (global numbers: the template of each follows from it; the newest
    copy, number `newest - 1`, is dated as the templates are, every copy 30 s before the next).
    """
    approved, rejected, pending = templates["approved"], templates["rejected"], templates["pending"]
    statements = _copy_statements()
    chunk = 20_000
    with conn.transaction():
        # A bulk load: no audit rows, no foreign-key triggers (the copies refer to what exists).
        conn.execute("SET LOCAL session_replication_role = replica")
        for low in range(start, stop, chunk):
            high = min(stop, low + chunk)
            conn.execute("TRUNCATE clones")
            conn.execute(
                "INSERT INTO clones SELECT g, CASE "
                f"WHEN g %% {PENDING_EVERY} = 0 "
                f"THEN (%s::bigint[])[1 + (g / {PENDING_EVERY}) %% 3] "
                f"WHEN g %% {REJECTED_EVERY} = 5 THEN %s ELSE %s END, "
                "make_interval(secs => (g - %s::bigint) * 30) "
                "FROM generate_series(%s::bigint, %s::bigint) g",
                (pending, rejected, approved, newest - 1, low, high - 1),
            )
            for kind in ("transfer", "run", "step", "task", "ballot"):
                # The copies' ids start after every id so far (clone numbers start at `low`).
                conn.execute(
                    "UPDATE bases SET base = (SELECT max(id) FROM "
                    f'"{_table(kind)}") - (%s - 1) * stride WHERE kind = %s',
                    (low, kind),
                )
            for sql in statements:
                conn.execute(sql)
        for kind in ("transfer", "run", "step", "task", "ballot"):
            table = _table(kind)
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                f'(SELECT max(id) FROM "{table}"))'
            )
    conn.commit()
    # As autovacuum would have by then: statistics, and the visibility map that lets the
    # planner read an index without the table.
    conn.autocommit = True
    conn.execute("VACUUM ANALYZE")
    conn.autocommit = False


def _table(kind: str) -> str:
    from approvals.models import Transfer
    from workflows.models import HumanTask, StepRun, TaskBallot, WorkflowRun

    model = {
        "transfer": Transfer,
        "run": WorkflowRun,
        "step": StepRun,
        "task": HumanTask,
        "ballot": TaskBallot,
    }[kind]
    return model._meta.db_table


# --- measuring -------------------------------------------------------------------------------


def shape(conn, tenant_id: int, approver_id: int) -> dict[str, int]:  # noqa: ANN001
    from approvals.models import Transfer
    from workflows.models import HumanTask, TaskBallot

    def one(sql: str, *params) -> int:  # noqa: ANN002
        return conn.execute(sql, params).fetchone()[0]

    transfers, tasks, ballots = (
        f'"{Transfer._meta.db_table}"',
        f'"{HumanTask._meta.db_table}"',
        f'"{TaskBallot._meta.db_table}"',
    )
    return {
        "transfers": one(f"SELECT count(*) FROM {transfers} WHERE tenant_id = %s", tenant_id),
        "pending_transfers": one(
            f"SELECT count(*) FROM {transfers} WHERE tenant_id = %s AND status = 'pending'",
            tenant_id,
        ),
        "tasks": one(f"SELECT count(*) FROM {tasks} WHERE tenant_id = %s", tenant_id),
        "ballots": one(f"SELECT count(*) FROM {ballots} WHERE tenant_id = %s", tenant_id),
        # The pile: ballots of people who never voted on tasks that are decided.
        "undecided_ballots_of_decided_tasks": one(
            f"SELECT count(*) FROM {ballots} b JOIN {tasks} t ON t.id = b.task_id "
            "WHERE b.tenant_id = %s AND b.decision IS NULL AND t.status <> 'pending'",
            tenant_id,
        ),
        "approver_open_tasks": one(
            f"SELECT count(*) FROM {ballots} b JOIN {tasks} t ON t.id = b.task_id "
            "WHERE b.tenant_id = %s AND b.user_id = %s AND b.decision IS NULL "
            "AND t.status = 'pending'",
            tenant_id,
            approver_id,
        ),
    }


READS = {"inbox": "/api/tasks/", "transfers": "/api/approvals/transfers/"}
# The table whose statements --explain shows, per read.
EXPLAINED = {"inbox": "workflows_humantask", "transfers": "approvals_transfer"}


def measure_read(templates: dict, read: str, requests: int, explain: bool) -> dict:
    from django.db import connection
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    token = client.post(
        "/api/auth/token/",
        {"email": templates["approver"].email, "password": templates["password"]},
        content_type="application/json",
    ).json()["access"]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    url = f"{READS[read]}?page_size={PAGE_SIZE}"
    count = None
    for _ in range(20):  # warm-up: caches, prepared statements, the server's buffers
        response = client.get(url, **auth)
        assert response.status_code == 200, response.content
        count = response.json()["count"]
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url, **auth)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    queries: list[tuple[str, tuple]] = []

    def capture(execute, sql, params, many, context):  # noqa: ANN001, ANN202
        queries.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        client.get(url, **auth)
    plans = explain_queries(templates, queries, EXPLAINED[read]) if explain else []
    timings.sort()
    return {
        "count": count,
        "p50_ms": round(statistics.median(timings), 2),
        "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 2),
        "queries_per_request": len(queries),
        "plans": plans,
    }


def explain_queries(templates: dict, queries: list[tuple[str, tuple]], table: str) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the request's reads of `table`, as the request runs them
    (the application role, the tenant set)."""
    from django.db import connection, transaction

    from core.tenancy import set_db_context

    plans = []
    tenant, approver = templates["tenant"], templates["approver"]
    for sql, params in queries:
        if table not in sql or not sql.lstrip().startswith("SELECT"):
            continue
        with transaction.atomic():
            set_db_context(tenant_id=tenant.pk, actor_id=approver.pk)
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
        plans.append(f"-- {sql}\n{plan}")
    return plans


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000", help="transfers, comma-separated")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--approvers", type=int, default=2, help="SUPERVISORs in the group")
    parser.add_argument("--explain", action="store_true", help="print the query plans")
    parser.add_argument(
        "--reads",
        type=lambda value: [read for read in value.split(",") if read],
        default=list(READS),
        help=f"comma-separated, of: {', '.join(READS)}",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    url = bench_database_url()
    ensure_database(url)
    setup_django(url)
    import psycopg

    say = (lambda *a, **k: None) if args.json else print
    say(
        f"read benchmark: {', '.join(READS[r] for r in args.reads)} (page of {PAGE_SIZE}) over "
        f"{args.requests} requests "
        f"(Django test client, in-process), PostgreSQL {urlparse(url).hostname}:"
        f"{urlparse(url).port or 5432}",
        flush=True,
    )
    templates = build_templates(args.approvers)
    done = 5  # the templates are transfers of the tenant too
    results = []
    with psycopg.connect(url) as conn:
        prepare_copies(conn, templates)
        conn.commit()
        for size in sizes:
            started = time.perf_counter()
            if size > done:
                grow(conn, templates, done + 1, size + 1, sizes[-1] + 1)
                done = size
            built = time.perf_counter() - started
            figures = shape(conn, templates["tenant"].pk, templates["approver"].pk)
            conn.commit()
            result = {"size": size, **figures, "build_s": round(built, 1)}
            say(
                f"  {size:>7} transfers ({figures['tasks']} tasks, {figures['ballots']} ballots, "
                f"{figures['undecided_ballots_of_decided_tasks']} undecided on decided tasks; "
                f"built in {built:.1f} s)",
                flush=True,
            )
            for read in args.reads:
                figures_of_read = measure_read(templates, read, args.requests, args.explain)
                plans = figures_of_read.pop("plans")
                result[read] = figures_of_read
                say(
                    f"    {READS[read]:<28} p50 {figures_of_read['p50_ms']:>7} ms, "
                    f"p95 {figures_of_read['p95_ms']:>7} ms (count {figures_of_read['count']}, "
                    f"{figures_of_read['queries_per_request']} queries)",
                    flush=True,
                )
                for plan in plans:
                    say(plan, flush=True)
            results.append(result)
    ratios = {
        read: round(results[-1][read]["p50_ms"] / results[0][read]["p50_ms"], 2)
        for read in args.reads
    }
    if args.json:
        print(json.dumps({"results": results, "p50_ratio": ratios}))
    else:
        for read, ratio in ratios.items():
            print(
                f"  {READS[read]} p50 ratio {results[-1]['size']:,} / {results[0]['size']:,}"
                f" transfers: {ratio} (target <= 1.5)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
