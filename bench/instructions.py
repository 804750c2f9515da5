"""Python instructions per transfer, engine and raw-SQL ceiling, counted by callgrind.

Wall-clock figures on a shared machine swing by several times within a day; instruction
counts do not (same code, same inputs, same count), so this is how to tell whether a change to
the hot path made the Python side cheaper. It counts the benchmark process only, not
PostgreSQL. Needs valgrind (Debian package `valgrind`).

    .venv/bin/python bench/instructions.py                 # 40 transfers per side
    .venv/bin/python bench/instructions.py --transfers 100
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import approval_chain as bench  # noqa: E402

WARM_UP = 20


def measured(run_one, n: int) -> None:  # noqa: ANN001
    """Warm up, then run `n` transfers with callgrind's instrumentation on."""
    for i in range(WARM_UP):
        run_one(f"W-{i}")
    toggle = ["callgrind_control", "-i"]
    subprocess.run([*toggle, "on", str(os.getpid())], check=True, capture_output=True)
    for i in range(n):
        run_one(f"M-{i}")
    subprocess.run([*toggle, "off", str(os.getpid())], check=True, capture_output=True)


def side(name: str, n: int, url: str) -> None:
    """Runs inside valgrind: one side of the benchmark on the prepared database."""
    if name == "engine":
        os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
        os.environ.setdefault("LOG_LEVEL", "WARNING")
        import django

        django.setup()
        one, _ = bench.engine_side()
        measured(one, n)
        return
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute(bench.CEILING_SCHEMA)
        conn.commit()
        measured(lambda reference: bench.ceiling_transfer(conn, reference), n)


def count(name: str, n: int, url: str) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={out}",
                sys.executable,
                __file__,
                "--side",
                name,
                "--transfers",
                str(n),
            ],
            check=True,
            env={**os.environ, "DATABASE_URL": url},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for line in out.read_text().splitlines():
            if line.startswith("totals:"):
                return int(line.split()[1])
    raise RuntimeError("callgrind wrote no totals")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transfers", type=int, default=40)
    parser.add_argument("--side", choices=["engine", "ceiling"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    url = bench.bench_database_url()
    if args.side:
        side(args.side, args.transfers, os.environ["DATABASE_URL"])
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    bench.ensure_database(url)
    bench.setup_django(url)  # migrated outside valgrind: the counted runs only do transfers
    print(f"Python instructions per transfer (callgrind, {args.transfers} transfers per side):")
    figures = {
        name: count(name, args.transfers, url) / args.transfers for name in ("engine", "ceiling")
    }
    for name, value in figures.items():
        print(f"  {name:8s} {value / 1e6:6.2f} M")
    print(f"  ceiling / engine: {figures['ceiling'] / figures['engine']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
