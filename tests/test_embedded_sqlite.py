"""The engine on the embedded default (`make run`: SQLite, in-process tasks).

The suite runs on PostgreSQL, where the engine sends its writes together as one statement;
on SQLite the same statements run one after another (workflows/engine/store.py). This runs
a whole chain there, in a fresh process on a fresh SQLite file, as `make run` would.
"""

from __future__ import annotations

from pathlib import Path

from tests.sqlite_process import run_on_fresh_sqlite

SCRIPT = r"""
import django
django.setup()
from decimal import Decimal
from django.core.management import call_command
from django.db import transaction

call_command("migrate", verbosity=0)
call_command("seed_demo", verbosity=0)

from accounts.models import User
from approvals.models import Transfer
from approvals.services.transfers import transfer_cancel, transfer_create, transfer_decide
from cases.models import Case
from core.errors import Conflict, Forbidden
from workflows.models import HumanTask, StateTransition, StepRun, TaskBallot, WorkflowRun
from workflows.services import task_decide

submitter = User.objects.get(email="approver1@demo.example")
approver = User.objects.get(email="approver2@demo.example")
agent = User.objects.get(email="agent@demo.example")
tenant = submitter.tenant

def create(reference):
    return transfer_create(
        tenant=tenant, transfer_type="FAR", reference=reference, amount=Decimal("12.50"),
        currency="eur", actor=submitter,
    )

def runs(transfer):
    return list(
        WorkflowRun.objects.filter(subject_type="transfer", subject_id=transfer.pk)
        .order_by("sequence").values_list("status", flat=True)
    )

# A whole chain: every run approved in order, the transfer approved.
t = create("SQLITE-1")
assert runs(t) == ["running", "not_started"], runs(t)
try:
    transfer_decide(tenant=tenant, transfer_id=t.pk, decision="approve", actor=submitter)
    raise AssertionError("self-approval went through")
except Forbidden:
    pass
transfer_decide(tenant=tenant, transfer_id=t.pk, decision="approve", actor=approver)
# The review (FAR_WF_REVIEW) excludes whoever decided an earlier step: someone else decides.
assert not TaskBallot.objects.filter(
    task__subject_id=t.pk, task__status="pending", user=approver
).exists()
try:
    transfer_decide(tenant=tenant, transfer_id=t.pk, decision="approve", actor=approver)
    raise AssertionError("a previous decider decided the review")
except Forbidden:
    pass
transfer_decide(tenant=tenant, transfer_id=t.pk, decision="approve", actor=agent)
assert Transfer.objects.get(pk=t.pk).status == "approved"
assert runs(t) == ["completed", "completed"], runs(t)
assert TaskBallot.objects.filter(task__subject_id=t.pk, decision="approve").count() == 2
history = list(
    StateTransition.objects.filter(object_type="transfer", object_id=t.pk)
    .values_list("from_status", "to_status")
)
assert history == [("", "pending"), ("pending", "approved")], history
try:
    transfer_decide(tenant=tenant, transfer_id=t.pk, decision="approve", actor=approver)
    raise AssertionError("a decided transfer was decided again")
except Conflict:
    pass

# A rejection ends the chain; the next run never starts.
t = create("SQLITE-2")
transfer_decide(tenant=tenant, transfer_id=t.pk, decision="reject", comment="no", actor=approver)
assert Transfer.objects.get(pk=t.pk).status == "rejected"
assert runs(t) == ["rejected", "not_started"], runs(t)

# Cancel.
t = create("SQLITE-3")
transfer_cancel(tenant=tenant, transfer_id=t.pk, actor=submitter)
assert Transfer.objects.get(pk=t.pk).status == "cancelled"

# The demo case's intake: two form steps, then an automated one, in-process.
case = Case.objects.get(tenant=tenant)
for data in ({"contact_verified": True}, {"risk_level": "high"}):
    task = HumanTask.objects.get(subject_type="case", subject_id=case.pk, status="pending")
    with transaction.atomic():
        task_decide(tenant=tenant, task_id=task.pk, decision="complete", data=data, actor=agent)
run = WorkflowRun.objects.get(subject_type="case", subject_id=case.pk)
steps = list(StepRun.objects.filter(run=run).order_by("position").values_list("status", flat=True))
assert steps[:2] == ["completed", "completed"], steps
assert run.status in ("running", "completed"), run.status
print("EMBEDDED ENGINE OK")
"""


def test_engine_runs_on_the_embedded_sqlite_default(tmp_path: Path) -> None:
    run_on_fresh_sqlite(SCRIPT, tmp_path, done="EMBEDDED ENGINE OK")
