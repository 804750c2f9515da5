"""Jobs on the embedded default (`make run`: SQLite, no broker), in a fresh process on a fresh
SQLite file: schedule, keys, cancel and due times; and a failing automated step whose request
(here: its transaction) does not wait, and whose retry `run_jobs --once` runs."""

from __future__ import annotations

from tests.sqlite_process import run_on_fresh_sqlite

SCRIPT = r"""
import time
import django
django.setup()
from datetime import timedelta
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

call_command("migrate", verbosity=0)

slept = []
time.sleep = lambda seconds: slept.append(seconds)

from accounts.models import Role, User
from cases.models import Case
from cases.services import case_start_run
from tenants.models import Tenant
from workflows.engine import automation, jobs
from workflows.models import Job, Step, StepRun, Workflow

tenant = Tenant.objects.create(name="Embedded", slug="embedded")
ran = []
jobs.register_job("embedded.timer", lambda job: ran.append(job.payload["n"]))
now = timezone.now()
with transaction.atomic():
    first = jobs.schedule(tenant_id=tenant.pk, kind="embedded.timer", payload={"n": 1},
                          key="task:1:remind")
    same = jobs.schedule(tenant_id=tenant.pk, kind="embedded.timer", payload={"n": 9},
                         key="task:1:remind")
    assert same.pk == first.pk
    jobs.schedule(tenant_id=tenant.pk, kind="embedded.timer", payload={"n": 2},
                  due_at=now + timedelta(hours=1))
    jobs.schedule(tenant_id=tenant.pk, kind="embedded.timer", payload={"n": 3},
                  key="task:3:remind")
with transaction.atomic():
    assert jobs.cancel(tenant_id=tenant.pk, key_prefix="task:3:") == 1
assert jobs.run_due(now=now + timedelta(seconds=1)) == 1, ran
assert ran == [1], ran
assert jobs.run_due(now=now + timedelta(hours=2)) == 1
assert ran == [1, 2], ran

# A webhook to a closed port: attempt 1 runs after commit, its retry is a job.
admin = User.objects.create_user(email="a@embedded.test", password="x-Long-Pass-1!",
                                 tenant=tenant, role=Role.ADMIN)
workflow = Workflow.objects.create(tenant=tenant, name="Hook")
Step.objects.create(tenant=tenant, workflow=workflow, order=0, name="Hook", action="webhook",
                    config={"url": "http://127.0.0.1:9/", "timeout_s": 1, "max_attempts": 2})
case = Case.objects.create(tenant=tenant, reference="EMB-1", title="Embedded")
run = case_start_run(tenant=tenant, case_id=case.pk, workflow_id=workflow.pk, actor=admin)
step = StepRun.objects.get(run=run)
assert (step.status, step.attempts) == ("running", 1), (step.status, step.attempts)
retry = Job.objects.get(kind=automation.RETRY_KIND)
assert retry.status == "scheduled"
assert slept == [], slept
call_command("run_jobs", "--once")
step.refresh_from_db()
assert (step.status, step.attempts) == ("failed", 2), (step.status, step.attempts)
assert step.last_error.startswith("Gave up after 2 attempts"), step.last_error
retry.refresh_from_db()
assert retry.status == "done"
assert slept == [], slept
print("EMBEDDED-JOBS-OK")
"""


def test_jobs_and_step_retries_on_the_embedded_sqlite_default(tmp_path):
    run_on_fresh_sqlite(
        SCRIPT,
        tmp_path,
        done="EMBEDDED-JOBS-OK",
        WEBHOOK_ALLOW_PRIVATE="1",
        WORKFLOWS_RETRY_BASE_SECONDS="0",
        LOG_LEVEL="WARNING",
    )
