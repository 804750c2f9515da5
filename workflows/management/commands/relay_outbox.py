"""`manage.py relay_outbox`: publish outbox events to the broker, forever or `--once`."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from workflows.engine.outbox import relay


class Command(BaseCommand):
    help = "Relay outbox events to the Celery broker (CELERY_BROKER_URL)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one pass, then exit")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between passes")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.CELERY_BROKER_URL:
            raise CommandError("CELERY_BROKER_URL is not set: events already run in-process.")
        while True:
            count = relay()
            if options["once"]:
                self.stdout.write(f"published {count} event(s)")
                return
            if count == 0:
                time.sleep(options["interval"])
