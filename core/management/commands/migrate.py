"""`manage.py migrate` as the database owner: Django's command, without the switch to the
application role that every other connection makes (see `core.db_roles`)."""

from __future__ import annotations

from typing import Any

from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import connections

from core.db_roles import owner_mode


class Command(DjangoMigrate):
    def handle(self, *args: Any, **options: Any) -> None:
        with owner_mode():
            # Connections opened before (and switched) are closed: the next ones are the owner.
            for conn in connections.all(initialized_only=True):
                conn.close()
            try:
                super().handle(*args, **options)
            finally:
                for conn in connections.all(initialized_only=True):
                    conn.close()
