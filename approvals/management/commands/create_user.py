from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.models import Role
from accounts.services import user_create
from core.errors import ApplicationError
from core.tenancy import set_db_context
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Create a user in a tenant and print the user's id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--full-name", default="")
        parser.add_argument(
            "--group",
            action="append",
            default=[],
            help="security group name (created if missing); repeatable",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            tenant = Tenant.objects.get(slug=options["tenant"])
        except Tenant.DoesNotExist as exc:
            raise CommandError(f"No tenant with slug '{options['tenant']}'") from exc
        if options["group"] and not apps.is_installed("approvals"):
            raise CommandError("--group needs the approvals app installed")
        try:
            with transaction.atomic():
                set_db_context(bypass=True)  # platform command
                user = user_create(
                    tenant=tenant,
                    email=options["email"],
                    password=options["password"],
                    role=options["role"],
                    full_name=options["full_name"],
                )
                if options["group"]:
                    from approvals.services import group_add_member_by_name

                    for name in options["group"]:
                        group_add_member_by_name(tenant=tenant, group_name=name, user=user)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(str(user.pk))
