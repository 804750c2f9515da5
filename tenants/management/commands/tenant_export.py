"""`manage.py tenant_export SLUG [--output FILE]`: a tenant's rows as JSON lines."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction

from core.tenancy import set_db_context
from tenants.models import Tenant
from tenants.offboarding import SECRET_COLUMNS, rows_of, tenant_models

PROGRESS_EVERY = 10_000


def _secrets_help() -> str:
    return ", ".join(
        f"{table}.{column}" for table, cols in sorted(SECRET_COLUMNS.items()) for column in cols
    )


class Command(BaseCommand):
    help = (
        'Write a tenant\'s data as JSON lines, one {"table": ..., "row": {...}} per row: the '
        "tenant, then every table with a tenant_id column, referenced rows first. Left out: "
        f"{_secrets_help()}; the audit trail (core_auditevent, kept after tenant_delete; read it "
        "with GET /api/audit-log/); JWT refresh tokens. Runs as the platform role (every "
        "tenant's rows are visible to it; only this tenant's are written). Progress on stderr."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", nargs="?", help="the tenant's slug")
        parser.add_argument(
            "--tenant-id",
            type=int,
            help="instead of a slug: the rows carrying this tenant id, even if the tenant is gone",
        )
        parser.add_argument("--output", help="file to write (default: stdout)")
        parser.add_argument("--chunk-size", type=int, default=2000)

    def handle(self, *args: Any, **options: Any) -> None:
        if (options["slug"] is None) == (options["tenant_id"] is None):
            raise CommandError("Give a tenant slug or --tenant-id, not both")
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1")
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8") as out:
                total = self._export(lambda line: out.write(line + "\n"), options)
        else:
            total = self._export(self.stdout.write, options)  # OutputWrapper adds the newline
        self.stderr.write(f"{total} rows written")

    def _export(self, write: Callable[[str], Any], options: dict[str, Any]) -> int:
        # One snapshot for the whole export when we own the transaction.
        fresh = not connection.in_atomic_block
        with transaction.atomic():
            if fresh and connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            set_db_context(bypass=True)  # platform command: reads one tenant, as the platform
            tenant_id = self._tenant_id(options)
            total = 0
            chunk = options["chunk_size"]
            for model, lookup in [(Tenant, {"pk": tenant_id})] + [
                (m, {"tenant_id": tenant_id}) for m in tenant_models()
            ]:
                table = model._meta.db_table
                count = 0
                for row in rows_of(model, lookup, chunk):
                    write(json.dumps({"table": table, "row": row}, cls=DjangoJSONEncoder))
                    count += 1
                    if count % PROGRESS_EVERY == 0:
                        self.stderr.write(f"{table}: {count} rows...")
                if count:
                    self.stderr.write(f"{table}: {count} rows")
                total += count
        return total

    def _tenant_id(self, options: dict[str, Any]) -> int:
        if options["tenant_id"] is not None:
            return int(options["tenant_id"])
        tenant_id = Tenant.objects.filter(slug=options["slug"]).values_list("pk", flat=True).first()
        if tenant_id is None:
            raise CommandError(f"No tenant with slug '{options['slug']}'")
        return tenant_id
