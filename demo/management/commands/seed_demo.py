"""`manage.py seed_demo`: the demo tenant, its users and workflows. Safe to run again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from core.tenancy import set_db_context
from demo.data import DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = "Create (or refresh) the 'Demo Helpline' tenant with users and workflows; print logins."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            set_db_context(bypass=True)  # platform command: builds a whole tenant
            summary = seed_demo(log=lambda msg: self.stdout.write(f"  {msg}"))
        tenant = summary["tenant"]
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo tenant '{tenant.name}' (id {tenant.pk}, slug '{tenant.slug}') is ready."
            )
        )
        self.stdout.write('Logins (POST /api/auth/token/ with {"email", "password"}):')
        for user in summary["users"]:
            self.stdout.write(f"  {user.role:<10} {user.email:<32} password: {DEMO_PASSWORD}")
