"""`make load`: the `make up` topology driven over HTTP by locust, from a separate process.

1. Starts `make up` on a database, port, var directory, queue and logins of its own (unless
   something already answers on LOAD_PORT: then that server is used and left running), with
   the framework ceiling mounted (WORKFLOWS_BENCH_CEILING=1) and throttles out of the way.
2. Seeds a tenant through the services: a submitter, `--approvers` SUPERVISORs in Finance Team,
   a chain of three FAR workflows (one approval step each; the second excludes the previous
   deciders, as the demo's review does).
3. Runs locust headless (bench/load/locustfile.py) for LOAD_SECONDS against the API, then the
   same scenario against the ceiling (bench/load/ceiling.py), and prints the table. With
   `--rounds N` the two alternate N times (pooled in the table, a ratio per round and their
   median printed): on a shared machine one 30-second run of each can differ by half.
4. With `--transfers N`: grows two more tenants to 1,000 transfers, then to N, by SQL copies
   (bench/inbox.py; 5 % pending), and measures the inbox and transfer-list p50 at both sizes.
5. `make down` if it started `make up`.

    make load                                  # 8 users, 30 s per target
    make load ARGS="--transfers 100000"
    make load ARGS="--rounds 3"                # the figures the README quotes
    LOAD_SECONDS=10 make load ARGS="--users 4"
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
PASSWORD = "Load-Pass-2026!"
# Settings of the caller (a test run, `make run`) that `make up` must not inherit.
SCRUBBED = (
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_SECRET_KEY",
    "DJANGO_DEBUG",
    "DJANGO_ALLOWED_HOSTS",
    "DB_ALLOW_SUPERUSER",
    "PORT",
)


def say(*args: object) -> None:
    print(*args, flush=True)


def load_database_url() -> str:
    if os.environ.get("LOAD_DATABASE_URL"):
        return os.environ["LOAD_DATABASE_URL"]
    base = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/workflows"
    if not base.startswith(("postgres://", "postgresql://")):
        base = "postgres://postgres@127.0.0.1:5432/workflows"
    return urlunsplit(urlsplit(base)._replace(path="/workflows_load"))


def up_env(url: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env.update(
        DATABASE_URL=url,
        PORT=str(port),
        WORKFLOWS_BENCH_CEILING="1",
        # A load test is many requests from few identities: limits that would only measure 429s.
        THROTTLE_USER_RATE="100000000/minute",
        THROTTLE_LOGIN_RATE="100000/minute",
        JWT_ACCESS_MINUTES="600",
    )
    env.setdefault("WORKFLOWS_VAR_DIR", str(ROOT / "var" / "load"))
    env.setdefault("CELERY_QUEUE", "workflows-load")
    env.setdefault("UP_WEB_LOGIN", "workflows_load_web")
    env.setdefault("UP_WORKER_LOGIN", "workflows_load_worker")
    return env


def ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def recreate_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def start_up(env: dict[str, str], base: str, log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        up = subprocess.Popen(  # noqa: S603
            ["make", "-s", "up"],  # noqa: S607
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 180
    while not ready(base):
        if up.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace").splitlines()[-40:]
            stop_up(env, up)
            sys.exit("make up did not become ready:\n" + "\n".join(tail))
        time.sleep(0.5)
    return up


def stop_up(env: dict[str, str], up: subprocess.Popen) -> None:
    subprocess.run(["make", "-s", "down"], cwd=ROOT, env=env, timeout=90, check=False)  # noqa: S607
    try:
        up.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(up.pid, 9)
        up.wait()


# --- seeding ---------------------------------------------------------------------------------


def setup_django(url: str) -> None:
    """In this process, as the owner (the seeding builds tenants; make up migrated already)."""
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    os.environ["DB_ALLOW_SUPERUSER"] = "1"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def build_tenant(slug: str, approvers: int) -> dict:
    """A tenant as the demo's Finance Team, with a third workflow; through the services."""
    from django.db import transaction

    from accounts.models import Role
    from accounts.services import user_create
    from approvals.models import SecurityGroup, SecurityGroupMember, WorkflowAssignment
    from core.tenancy import set_db_context
    from tenants.models import Tenant
    from workflows import services as wf

    with transaction.atomic():
        set_db_context(bypass=True)  # platform code: builds a whole tenant
        tenant = Tenant.objects.create(name=slug, slug=slug)
        submitter = user_create(
            tenant=tenant, email=f"submitter@{slug}.test", password=PASSWORD, role=Role.AGENT
        )
        deciders = [
            user_create(
                tenant=tenant,
                email=f"approver{n}@{slug}.test",
                password=PASSWORD,
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
            config: dict = {"approvers": {"security_group": group.pk}}
            if order == 2:
                config["exclude_previous_deciders"] = True
            wf.step_create(
                tenant=tenant,
                workflow=workflow,
                name="Approve",
                order=0,
                action="approval",
                config=config,
                actor=deciders[0],
            )
            WorkflowAssignment.objects.create(
                tenant=tenant,
                security_group=group,
                workflow_template=workflow,
                execution_order=order,
            )
    return {"tenant": tenant, "submitter": submitter, "approvers": deciders, "group": group}


def build_templates(built: dict) -> dict:
    """bench/inbox.py's templates: one approved, one rejected, one pending at each workflow."""
    from bench.inbox import seed_template_transfers

    return seed_template_transfers(
        built["tenant"], built["submitter"], built["approvers"], built["group"]
    )


def create_ceiling_tables(url: str) -> None:
    import psycopg
    from django.conf import settings

    from bench.load.ceiling import SCHEMA, grants

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SCHEMA)
        conn.execute(grants(settings.DB_APP_ROLE))


def sign_in(base: str, email: str) -> str:
    response = httpx.post(
        f"{base}/api/auth/token/", json={"email": email, "password": PASSWORD}, timeout=30
    )
    response.raise_for_status()
    return response.json()["access"]


# --- locust ----------------------------------------------------------------------------------


# --- where the CPU goes -------------------------------------------------------------------------

ROLES = (("web", "gunicorn"), ("relay", "relay_outbox"), ("worker", "celery"))


def _processes() -> dict[int, tuple[int, float, str]]:
    """pid -> (parent pid, CPU seconds so far, command line), from /proc (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        found[int(entry.name)] = (
            int(fields[1]),
            (int(fields[11]) + int(fields[12])) / ticks,
            cmdline,
        )
    return found


def cpu_by_role(up_pid: int | None, url: str) -> dict[str, dict[int, float]] | None:
    """CPU seconds so far of `make up`'s processes by role and of the load database's
    PostgreSQL backends, per process; None where /proc is not there."""
    if not Path("/proc/self/stat").exists() or up_pid is None:
        return None
    import psycopg

    processes = _processes()
    mine, frontier = set(), {up_pid}
    while frontier:  # make up's descendants
        mine |= frontier
        frontier = {pid for pid, (ppid, _, _) in processes.items() if ppid in frontier} - mine
    totals: dict[str, dict[int, float]] = {role: {} for role, _ in ROLES}
    for pid in mine:
        for role, marker in ROLES:
            if marker in processes[pid][2]:
                totals[role][pid] = processes[pid][1]
                break
    with psycopg.connect(url) as conn:
        backends = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        ).fetchall()
    totals["database"] = {pid: processes[pid][1] for (pid,) in backends if pid in processes}
    return totals


def cpu_spent(start: dict[str, dict[int, float]], end: dict[str, dict[int, float]]) -> dict:
    """CPU seconds by role between two `cpu_by_role` readings, process by process: one that
    started in between counts whole, one that ended in between (a connection past
    CONN_MAX_AGE, a recycled worker) is missing its share rather than subtracting its total."""
    return {
        role: sum(spent - start.get(role, {}).get(pid, 0.0) for pid, spent in pids.items())
        for role, pids in end.items()
    }


def analyze(url: str) -> None:
    """What autovacuum does within a minute of a table's growth, and a 30-second run from empty
    tables never sees: without statistics the planner picks tenant-only index scans that filter
    every row (a chain read cost 2.3 ms instead of 0.3)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")


def run_locust(
    base: str,
    target: str,
    identities: dict,
    users: int,
    seconds: int,
    cpu: Any = None,
    at_warmup_end: Any = None,
) -> dict:
    """`seconds` measured, after a warm-up (each web worker's first requests) left out;
    `at_warmup_end()` runs then (the statistics), and `cpu()` (cpu_by_role) is read when the
    measured seconds start and when they end."""
    warmup = max(2, min(10, seconds // 5))
    cpu_at_start: dict[str, Any] = {}

    def warmed_up() -> None:
        if at_warmup_end:
            at_warmup_end()
        cpu_at_start.update(figures=cpu and cpu())

    timer = threading.Timer(warmup, warmed_up)
    timer.start()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        env = {
            **os.environ,
            "LOAD_TARGET": target,
            "LOAD_IDENTITIES": json.dumps(identities),
            "LOAD_OUT": str(out),
            "LOAD_PREFIX": f"{target[0].upper()}{uuid.uuid4().hex[:6]}",
            "LOAD_WARMUP": str(warmup),
        }
        locust = Path(sys.executable).parent / "locust"
        done = subprocess.run(  # noqa: S603
            [
                str(locust),
                "-f",
                str(ROOT / "bench" / "load" / "locustfile.py"),
                "--headless",
                "--users",
                str(users),
                "--spawn-rate",
                str(users),
                "--run-time",
                f"{seconds + warmup}s",
                "--host",
                base,
                "--only-summary",
                "--loglevel",
                "WARNING",
                "--stop-timeout",
                "10",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=seconds + 120,
            check=False,
        )
        timer.cancel()
        if not out.exists():
            sys.exit(f"locust wrote no result ({done.returncode}):\n{done.stderr[-3000:]}")
        result = json.loads(out.read_text())
        start, end = cpu_at_start.get("figures"), cpu and cpu()
        if start and end:
            result["cpu"] = cpu_spent(start, end)
        return result


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def pooled(results: list[dict]) -> dict:
    """The rounds of one target as one run: their samples, counts, seconds and CPU added up."""
    samples: dict[str, list] = {}
    counts: dict[str, int] = {}
    cpu: dict[str, float] = {}
    seconds = 0.0
    for result in results:
        for name, rows in result["samples"].items():
            samples.setdefault(name, []).extend(rows)
        for key, value in result["counts"].items():
            counts[key] = counts.get(key, 0) + value
        seconds += result["clock"]["stop"] - result["clock"]["start"]
        for role, spent in (result.get("cpu") or {}).items():
            cpu[role] = cpu.get(role, 0.0) + spent
    out = {"samples": samples, "counts": counts, "clock": {"start": 0.0, "stop": seconds}}
    if all(result.get("cpu") for result in results):
        out["cpu"] = cpu
    return out


def summarize(result: dict) -> dict:
    seconds = max(result["clock"]["stop"] - result["clock"]["start"], 1e-9)
    endpoints, statuses = {}, {}
    for name, rows in result["samples"].items():
        times = [ms for _, ms in rows]
        endpoints[name] = {
            "n": len(rows),
            "p50": percentile(times, 0.5),
            "p95": percentile(times, 0.95),
            "p99": percentile(times, 0.99),
        }
        for status, _ in rows:
            statuses[status] = statuses.get(status, 0) + 1
    counts = result["counts"]
    return {
        "seconds": seconds,
        "completed_per_s": counts["completed"] / seconds,
        "decisions_per_s": counts["decisions"] / seconds,
        "lost_races": counts["lost_races"],
        "stuck": counts["stuck"],
        "endpoints": endpoints,
        "statuses": {str(k): v for k, v in sorted(statuses.items(), key=lambda kv: int(kv[0]))},
        "errors": {
            k: v for k, v in statuses.items() if int(k) >= 400 and int(k) != 409 or int(k) == 0
        },
        "cpu_ms_per_decision": (
            {role: 1000 * spent / counts["decisions"] for role, spent in result["cpu"].items()}
            if result.get("cpu") and counts["decisions"]
            else None
        ),
    }


# --- sizes -----------------------------------------------------------------------------------


def measure_reads(base: str, token: str, requests: int) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {token}"}
    p50 = {}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        for name, url in (("inbox", "/api/tasks/"), ("list", "/api/approvals/transfers/")):
            timings = []
            for n in range(20 + requests):
                started = time.perf_counter()
                response = client.get(url)
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    sys.exit(f"GET {url}: {response.status_code} {response.text[:300]}")
                if n >= 20:
                    timings.append(elapsed)
            p50[name] = statistics.median(timings)
    return p50


def sizes_phase(base: str, url: str, final: int, approvers: int, requests: int) -> dict:
    import psycopg

    from bench.inbox import grow, prepare_copies

    tag = uuid.uuid4().hex[:6]
    measured = build_tenant(f"load-size-{tag}", approvers)
    other = build_tenant(f"load-other-{tag}", approvers)
    tenants = []
    for built in (measured, other):
        conn = psycopg.connect(url)
        templates = build_templates(built)
        prepare_copies(conn, templates)
        conn.commit()
        tenants.append([conn, templates, 5])  # the templates are transfers of the tenant too
    token = sign_in(base, measured["approvers"][0].email)
    results = {}
    try:
        for size in sorted({1000, final}):
            started = time.perf_counter()
            for entry in tenants:
                conn, templates, done = entry
                if size > done:
                    grow(conn, templates, done + 1, size + 1, final + 1)
                    entry[2] = size
            say(
                f"  seeded {size:,} transfers in each of 2 tenants "
                f"in {time.perf_counter() - started:.1f} s"
            )
            results[size] = measure_reads(base, token, requests)
    finally:
        for conn, _, _ in tenants:
            conn.close()
    return results


# --- the table -------------------------------------------------------------------------------


def print_table(engine: dict, ceiling: dict | None) -> None:
    sides = [("engine", engine), ("ceiling", ceiling)]

    def row(label: str, key: str, fmt: str = "{:.1f}") -> None:
        cells = ["n/a" if side is None else fmt.format(side[key]) for _, side in sides]
        say(f"{label:40}" + "".join(f"{c:>12}" for c in cells))

    say("")
    say(f"{'':40}{'engine':>12}{'ceiling':>12}")
    row("completed transfers/s", "completed_per_s")
    row("decisions/s", "decisions_per_s")
    row("lost races (409)", "lost_races", "{}")
    row("transfers left pending", "stuck", "{}")
    say("")
    say(f"{'endpoint (ms)':40}{'n':>8}{'p50':>8}{'p95':>8}{'p99':>8}")
    labels = {
        "create": "POST transfers/",
        "approve": "POST transfers/{id}/approve/",
        "inbox": "GET tasks/ (inbox)",
        "list": "GET transfers/ (list)",
    }
    for side_name, side in sides:
        for key, label in labels.items():
            e = side["endpoints"].get(key) if side else None
            if e:
                figures = "".join(f"{e[q]:>8.0f}" for q in ("p50", "p95", "p99"))
                say(f"{side_name + ' ' + label:40}{e['n']:>8}{figures}")
    say("")
    for side_name, side in sides:
        if side is None:
            continue
        fives = sum(v for k, v in side["statuses"].items() if int(k) >= 500)
        errors = ", ".join(f"{k}: {v}" for k, v in sorted(side["errors"].items())) or "none"
        say(f"{side_name} responses by status: {side['statuses']}")
        say(f"{side_name} errors (not 409): {errors}; 5xx responses: {fives} (target 0)")
    if engine.get("cpu_ms_per_decision"):
        say("")
        say("CPU ms per decision (make up's processes and the database's backends, measured s):")
        for role in [*engine["cpu_ms_per_decision"], "total"]:
            cells = []
            for _, side in sides:
                spent = side and side.get("cpu_ms_per_decision")
                if not spent:
                    cells.append("n/a")
                else:
                    cells.append(f"{sum(spent.values()) if role == 'total' else spent[role]:.1f}")
            say(f"{'  ' + role:40}" + "".join(f"{c:>12}" for c in cells))
    if ceiling is not None and ceiling["decisions_per_s"]:
        ratio = engine["decisions_per_s"] / ceiling["decisions_per_s"]
        say(f"decisions/ceiling: {ratio:.2f} (target >= 0.5)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=8, help="concurrent locust users (desks)")
    parser.add_argument(
        "--seconds", type=int, default=int(os.environ.get("LOAD_SECONDS", "30")), help="per target"
    )
    parser.add_argument("--approvers", type=int, default=3, help="SUPERVISORs racing (>= 2)")
    parser.add_argument("--transfers", type=int, default=0, help="then the 1,000 vs N read test")
    parser.add_argument("--requests", type=int, default=100, help="timed reads at each size")
    parser.add_argument("--no-ceiling", action="store_true")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="engine and ceiling runs, alternating; the table pools them (median ratio printed)",
    )
    args = parser.parse_args()
    if args.approvers < 2:
        parser.error("--approvers: at least 2 (the review excludes the first decider)")
    if args.rounds < 1:
        parser.error("--rounds: at least 1")
    port = int(os.environ.get("LOAD_PORT", "8077"))
    base = f"http://127.0.0.1:{port}"
    url = load_database_url()
    env = up_env(url, port)
    up = None
    if ready(base):
        say(
            f"load: using the server already answering on {base} "
            f"(database {urlsplit(url).path[1:]})"
        )
    else:
        recreate_database(url)
        log = Path(env["WORKFLOWS_VAR_DIR"]) / "load-up.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        say(f"load: make up on {base}, database {urlsplit(url).path[1:]} (log: {log})")
        up = start_up(env, base, log)
    try:
        setup_django(url)
        built = build_tenant(f"load-{uuid.uuid4().hex[:6]}", args.approvers)
        identities = {
            "submitter": {
                "id": built["submitter"].pk,
                "token": sign_in(base, built["submitter"].email),
            },
            "approvers": [
                {"id": a.pk, "token": sign_in(base, a.email)} for a in built["approvers"]
            ],
        }
        ceiling_mounted = (
            not args.no_ceiling
            and httpx.get(f"{base}/bench/ceiling/tasks/", timeout=10).status_code == 401
        )
        if ceiling_mounted:
            create_ceiling_tables(url)
        cores = os.cpu_count()
        say(
            f"load: {args.users} users x {args.seconds} s per target, {args.approvers} approvers "
            f"racing, 3-workflow FAR chain; {cores} cores (server, database and locust share them)"
        )

        def cpu() -> dict[str, float] | None:
            return cpu_by_role(up.pid if up is not None else None, url)

        def stats() -> None:
            analyze(url)

        targets = ["engine", "ceiling"] if ceiling_mounted else ["engine"]
        runs: dict[str, list[dict]] = {target: [] for target in targets}
        for round_number in range(args.rounds):
            # Alternating which goes first: a machine that slows down (another tenant of the
            # host, a checkpoint) weighs on both sides alike.
            for target in targets if round_number % 2 == 0 else targets[::-1]:
                if args.rounds > 1:
                    say(f"  round {round_number + 1}/{args.rounds}: {target}")
                runs[target].append(
                    run_locust(base, target, identities, args.users, args.seconds, cpu, stats)
                )
        if not ceiling_mounted:
            say("load: no ceiling (the server was not started with WORKFLOWS_BENCH_CEILING=1)")
        engine = summarize(pooled(runs["engine"]))
        ceiling = summarize(pooled(runs["ceiling"])) if ceiling_mounted else None
        print_table(engine, ceiling)
        if ceiling_mounted and args.rounds > 1:
            ratios = [
                summarize(e)["decisions_per_s"] / max(summarize(c)["decisions_per_s"], 1e-9)
                for e, c in zip(runs["engine"], runs["ceiling"], strict=True)
            ]
            say(
                "decisions/ceiling per round: "
                + ", ".join(f"{r:.2f}" for r in ratios)
                + f"; median {statistics.median(ratios):.2f}"
            )
        if args.transfers:
            say("")
            say(
                f"reads at 1,000 and {args.transfers:,} transfers (plus as many in another tenant):"
            )
            sizes = sizes_phase(base, url, args.transfers, args.approvers, args.requests)
            small, large = sizes[min(sizes)], sizes[max(sizes)]
            for name, label in (
                ("inbox", "GET /api/tasks/"),
                ("list", "GET /api/approvals/transfers/"),
            ):
                say(
                    f"  {label:30} p50 {small[name]:7.1f} ms at 1,000, {large[name]:7.1f} ms at "
                    f"{args.transfers:,}: ratio {large[name] / small[name]:.2f} (target <= 1.5)"
                )
    finally:
        if up is not None:
            stop_up(env, up)
    return 0


if __name__ == "__main__":
    sys.exit(main())
