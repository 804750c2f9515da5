"""The transfer list, detail, inbox and duplicate references over HTTP on the embedded default
(`make run`: SQLite), where the hand-written reads take their SQLite form (no LATERAL) and a
unique constraint's error names columns, not the constraint (a duplicate was a 500 there)."""

from __future__ import annotations

from pathlib import Path

from tests.sqlite_process import run_on_fresh_sqlite

SCRIPT = r"""
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
call_command("seed_demo", verbosity=0)

from rest_framework.test import APIClient
from accounts.models import User
from approvals.models import SecurityGroup

def client(email):
    c = APIClient(SERVER_NAME="127.0.0.1")
    c.force_authenticate(User.objects.get(email=email))
    return c

agent, approver = client("agent@demo.example"), client("approver1@demo.example")
group = SecurityGroup.objects.get(name="Finance Team")
body = {"security_group": group.pk, "transfer_type": "FAR", "amount": "10.00", "currency": "EUR"}
ids = []
for n in range(3):
    r = agent.post("/api/approvals/transfers/", {**body, "reference": f"R-{n}"}, format="json")
    assert r.status_code == 201, r.content
    ids.append(r.json()["transfer"]["id"])
decided = approver.post(f"/api/approvals/transfers/{ids[0]}/approve/", {}, format="json")
assert decided.status_code == 200, decided.content
answer = decided.json()["transfer"]
assert answer["chain"][0]["decisions"][0]["decision"] == "approve"
# Timestamps read from SQLite, written as DRF writes them (ISO 8601, UTC as Z).
import re
stamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
first = answer["chain"][0]
written = [answer["created_at"], first["started_at"], first["finished_at"],
           first["decisions"][0]["decided_at"]]
assert all(stamp.match(value) for value in written), written

listed = approver.get("/api/approvals/transfers/?page_size=2").json()
assert listed["count"] == 3 and listed["next"], listed
assert [t["id"] for t in listed["transfers"]] == [ids[2], ids[1]], listed
rest = approver.get("/api/approvals/transfers/?page_size=2&page=2").json()["transfers"]
assert [t["id"] for t in rest] == [ids[0]] and rest[0] == answer, rest
assert approver.get(f"/api/approvals/transfers/{ids[0]}/").json()["transfer"] == answer
mine = agent.get("/api/approvals/transfers/?mine=true&status=pending").json()
assert mine["count"] == 3, mine
assert approver.get("/api/approvals/transfers/999999/").status_code == 404

inbox = approver.get("/api/tasks/?subject_type=transfer&action=approval").json()
tasks = inbox["results"]
assert inbox["count"] == len(tasks) and {ids[1], ids[2]} <= {t["subject"]["id"] for t in tasks}
assert [t["id"] for t in tasks] == sorted((t["id"] for t in tasks), reverse=True)
assert all(t["workflow"]["name"] for t in tasks), tasks
assert approver.get("/api/tasks/?action=no-such-action").json()["count"] == 0

again = agent.post("/api/approvals/transfers/", {**body, "reference": "R-1"}, format="json")
assert again.status_code == 400, again.content
assert "reference" in again.json()["errors"], again.content
admin = client("admin@demo.example")
case = {"reference": "C-1", "title": "t"}
assert admin.post("/api/cases/", case, format="json").status_code == 201
dup = admin.post("/api/cases/", case, format="json")
assert dup.status_code == 400 and "reference" in dup.json(), dup.content
# The notification mails' reads (task with run, who is mailed: an IN list here, not an array).
from workflows.engine.jobs import run_due
from workflows.models import NotificationSent
while run_due():  # the events' jobs, as make run's in-process poller runs them
    pass
mailed = set(NotificationSent.objects.filter(kind="task_opened").values_list("task_id", flat=True))
assert {t["id"] for t in tasks} <= mailed, (mailed, tasks)
# The default group (the submitter's only active one), read by hand-written SQL too.
plain = {k: v for k, v in body.items() if k != "security_group"}
made = agent.post("/api/approvals/transfers/", {**plain, "reference": "R-9"}, format="json")
assert made.status_code == 201, made.content
assert made.json()["transfer"]["security_group"] == group.pk, made.content
print("SQLITE READS OK")
"""


def test_the_reads_and_duplicates_on_the_embedded_sqlite_default(tmp_path: Path) -> None:
    run_on_fresh_sqlite(SCRIPT, tmp_path, done="SQLITE READS OK")
