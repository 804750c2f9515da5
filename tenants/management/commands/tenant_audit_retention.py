"""Show or set a tenant's audit retention (README "Monthly partitions")."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from core.errors import ApplicationError
from core.tenancy import set_db_context
from tenants.models import Tenant
from tenants.services import tenant_update


class Command(BaseCommand):
    help = (
        "Show a tenant's audit retention, or set it: a number of days (30 to 36500) or "
        "'forever'. Older audit events are removed by the job poller within the hour."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the tenant's slug")
        parser.add_argument("days", nargs="?", help="days to keep, or 'forever'")

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            set_db_context(bypass=True, request_id="tenant_audit_retention")  # platform command
            tenant = Tenant.objects.filter(slug=options["slug"]).first()
            if tenant is None:
                raise CommandError(f"No tenant with slug '{options['slug']}'")
            if options["days"] is not None:
                days = options["days"]
                try:
                    value = None if days == "forever" else int(days)
                except ValueError as exc:
                    raise CommandError("days: a whole number, or 'forever'") from exc
                try:
                    tenant = tenant_update(tenant=tenant, data={"audit_retention_days": value})
                except ApplicationError as exc:
                    raise CommandError(exc.message) from exc
        kept = tenant.audit_retention_days
        self.stdout.write(f"{tenant.slug}: {'forever' if kept is None else f'{kept} days'}")
