"""`manage.py run_jobs`: run due jobs (retries, timers), forever or `--once`.

Forever: a poll every `--interval` seconds while nothing is due (at once while there is), a
line logged (logger `workflows.jobs`) for each poll that ran jobs; a lost database is retried
with back-off (logged), never the end of the poller. `--once`: polls until nothing is due,
then exits. Any number may run beside the relay and the workers: one of them claims a job."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from workflows.engine.jobs import default_worker, run_poller


class Command(BaseCommand):
    help = "Run due jobs (automated-step retries, timers): the poller that needs no broker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="run what is due, then exit")
        parser.add_argument(
            "--interval", type=float, default=1.0, help="seconds between polls while idle"
        )
        parser.add_argument("--limit", type=int, default=100, help="jobs claimed per poll")
        parser.add_argument("--worker", default="", help="name shown in locked_by")

    def handle(self, *args: Any, **options: Any) -> None:
        worker = options["worker"] or f"run_jobs@{default_worker()}"
        if not options["once"]:
            self.stdout.write(f"run_jobs: polling every {options['interval']}s as {worker}")
            self.stdout.flush()
        total = run_poller(
            interval=options["interval"],
            limit=max(1, options["limit"]),
            worker=worker,
            once=options["once"],
        )
        self.stdout.write(f"ran {total} job(s)")
