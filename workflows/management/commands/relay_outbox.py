"""`manage.py relay_outbox`: publish outbox events to the broker, forever or `--once`.

Forever: a lost database connection is retried with back-off (logged), never the end of the
relay; a sweep re-enqueues step runs left running with nothing to move them.

With no broker (the embedded default, where requests run their events themselves) `--once`
does what a stopped process left undone: it sweeps and runs the due events here; `make run`
calls it at start."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from workflows.engine.outbox import relay, run_left_over, run_relay, sweep


class Command(BaseCommand):
    help = "Relay outbox events to the Celery broker (CELERY_BROKER_URL)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one pass, then exit")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between passes")
        parser.add_argument(
            "--sweep-every", type=float, default=30.0, help="seconds between sweeps"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.CELERY_BROKER_URL:
            if not options["once"]:
                raise CommandError(
                    "CELERY_BROKER_URL is not set: events run in-process; --once runs what a "
                    "stopped process left behind."
                )
            swept, executed = run_left_over()
            self.stdout.write(
                f"no broker: re-enqueued {swept} step run(s), ran {executed} event(s) here"
            )
            return
        if options["once"]:
            swept = sweep()
            count = relay()
            self.stdout.write(f"re-enqueued {swept} step run(s), published {count} event(s)")
            return
        run_relay(interval=options["interval"], sweep_every=options["sweep_every"])
