"""Reports and calendars on the embedded default (SQLite, no `percentile_cont`): the same
shapes, the figures computed in Python (workflows/reports.py), in a fresh process."""

from __future__ import annotations

from pathlib import Path

from tests.sqlite_process import run_on_fresh_sqlite

SCRIPT = r"""
import django
django.setup()
from decimal import Decimal
from django.core.management import call_command
from django.db import connection

call_command("migrate", verbosity=0)
call_command("seed_demo", verbosity=0)
assert connection.vendor == "sqlite"

from rest_framework.test import APIClient
from accounts.models import User
from approvals.services.transfers import transfer_create, transfer_decide
from workflows.models import HumanTask

admin = User.objects.get(email="admin@demo.example")
submitter = User.objects.get(email="approver1@demo.example")
approver = User.objects.get(email="approver2@demo.example")
tenant = admin.tenant
transfer = transfer_create(
    tenant=tenant, transfer_type="FAR", reference="SQLITE-R1", amount=Decimal("5"),
    currency="eur", actor=submitter,
)
transfer_decide(tenant=tenant, transfer_id=transfer.pk, decision="approve", actor=approver)
task = HumanTask.objects.get(subject_id=transfer.pk, decided_at__isnull=False)
seconds = (task.decided_at - task.created_at).total_seconds()

client = APIClient(SERVER_NAME="localhost")
client.force_authenticate(admin)
body = client.get("/api/reports/cycle-times/", {"workflow": task.run.workflow_id}).json()
(workflow,) = body["workflows"]
assert workflow["count"] == 1, body
assert workflow["median_seconds"] == workflow["p90_seconds"] == seconds, body
assert workflow["steps"][0]["count"] == 1, body
people = client.get("/api/reports/approvers/").json()
assert people["count"] == 1, people
assert people["results"][0]["email"] == approver.email, people
assert people["results"][0]["approved"] == 1, people
assert people["results"][0]["median_seconds"] == seconds, people
assert client.get("/api/reports/overdue/").json()["count"] == 0
assert client.get("/api/reports/cycle-times/", {"from": "2026-13-01"}).status_code == 400
created = client.post(
    "/api/calendars/",
    {"name": "Paris", "time_zone": "Europe/Paris", "is_default": True},
    format="json",
)
assert created.status_code == 201, created.content
print("SQLITE REPORTS OK")
"""


def test_reports_and_calendars_on_the_embedded_sqlite_default(tmp_path: Path) -> None:
    run_on_fresh_sqlite(SCRIPT, tmp_path, done="SQLITE REPORTS OK")
