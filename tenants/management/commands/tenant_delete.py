"""`manage.py tenant_delete SLUG --confirm`: remove a tenant and every row it owns."""

from __future__ import annotations

import getpass
import json
import logging
import socket
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from core.models import AuditEvent, AuditTable
from core.tenancy import set_db_context
from tenants.models import Tenant
from tenants.offboarding import dependent_querysets, exported_columns, tenant_models

logger = logging.getLogger("tenants.offboarding")

REFUSED = 2  # exit code without --confirm: nothing was deleted


def _who() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name (a container's numeric uid)
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


class Command(BaseCommand):
    help = (
        "Delete a tenant: every row of every table with a tenant_id column, the rows hanging "
        "off its users (JWT refresh tokens, admin log, group memberships), then the tenant, in "
        "one transaction as the platform role. Without --confirm it only prints the counts and "
        f"exits with code {REFUSED}. The audit trail (core_auditevent) is append-only and is "
        "kept: each deleted row leaves a DELETE event, and a last event on tenants_tenant names "
        "who ran it and the counts. An unknown slug exits with code 1."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the tenant's slug")
        parser.add_argument("--confirm", action="store_true", help="really delete")
        parser.add_argument("--by", default=None, help="who asked (default: OS user@host)")

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["slug"]
        by = (options["by"] or _who())[:200]
        request_id = f"tenant_delete:{slug}"[:64]  # every audit row of this deletion carries it
        try:
            with transaction.atomic():
                set_db_context(bypass=True, request_id=request_id)  # platform command
                tenant = Tenant.objects.select_for_update().filter(slug=slug).first()
                if tenant is None:
                    raise CommandError(f"No tenant with slug '{slug}'")
                if not options["confirm"]:
                    counts = self._counts(tenant.pk)
                    self._show(counts, "would delete")
                    raise CommandError(
                        f"Nothing deleted: add --confirm to delete tenant '{slug}' "
                        f"and these {sum(counts.values())} rows",
                        returncode=REFUSED,
                    )
                counts = self._delete(tenant)
                AuditEvent.objects.create(
                    tenant_id=tenant.pk,
                    table=AuditTable.objects.get_or_create(name=Tenant._meta.db_table)[0],
                    object_id=tenant.pk,
                    operation=AuditEvent.DELETE,
                    old_data=json.loads(
                        json.dumps(
                            {c: getattr(tenant, a) for a, c in exported_columns(Tenant)},
                            cls=DjangoJSONEncoder,
                        )
                    ),
                    new_data={"deleted_by": by, "deleted_rows": counts},
                    request_label=request_id,
                    created_at=timezone.now(),
                )
        except DatabaseError as exc:  # e.g. another tenant's row pointing at one of these
            raise CommandError(f"Nothing deleted: {exc}") from exc
        self._show(counts, "deleted")
        total = sum(counts.values())
        logger.warning(
            "tenant %s (id %s) deleted by %s: %s rows %s", slug, tenant.pk, by, total, counts
        )
        self.stdout.write(
            self.style.SUCCESS(f"Tenant '{slug}' (id {tenant.pk}) and {total} rows deleted")
        )

    def _counts(self, tenant_id: int) -> dict[str, int]:
        counts = {
            model._meta.db_table: queryset.count()
            for model, queryset in dependent_querysets(tenant_id)
        }
        for model in tenant_models():
            counts[model._meta.db_table] = model._base_manager.filter(tenant_id=tenant_id).count()
        counts[Tenant._meta.db_table] = 1
        return counts

    def _delete(self, tenant: Tenant) -> dict[str, int]:
        counts: dict[str, int] = {}
        # Rows without tenant_id first, through the ORM: it follows their own cascades.
        for _model, queryset in dependent_querysets(tenant.pk):
            _, per_label = queryset.delete()
            for label, number in per_label.items():
                table = self._table(label)
                counts[table] = counts.get(table, 0) + number
        # Then the tenant tables, referencing rows before the rows they reference. Plain SQL:
        # one statement a table, nothing loaded into memory; the audit triggers still fire.
        with connection.cursor() as cursor:
            for model in reversed(tenant_models()):
                table = connection.ops.quote_name(model._meta.db_table)
                cursor.execute(f"DELETE FROM {table} WHERE tenant_id = %s", [tenant.pk])  # noqa: S608
                counts[model._meta.db_table] = cursor.rowcount
                self.stderr.write(f"{model._meta.db_table}: {cursor.rowcount} rows deleted")
            table = connection.ops.quote_name(Tenant._meta.db_table)
            cursor.execute(f"DELETE FROM {table} WHERE id = %s", [tenant.pk])  # noqa: S608
            counts[Tenant._meta.db_table] = cursor.rowcount
            # Deferred foreign keys are checked here, not at a commit after the audit row.
            if connection.vendor == "postgresql":
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        return {table: number for table, number in counts.items() if number}

    @staticmethod
    def _table(label: str) -> str:
        return apps.get_model(label)._meta.db_table

    def _show(self, counts: dict[str, int], verb: str) -> None:
        for table, number in counts.items():
            if number:
                self.stdout.write(f"  {table}: {number}")
        self.stdout.write(f"{verb}: {sum(counts.values())} rows")
