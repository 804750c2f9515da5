"""`seed_demo` opens one demo case with "Survivor Intake" running, and only once."""

from io import StringIO

import pytest
from django.core.management import call_command

from cases.models import Case
from workflows.models import HumanTask, StepRun, WorkflowRun

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def demo_case_state():
    case = Case.objects.unscoped().get(reference="CASE-DEMO-1")
    runs = WorkflowRun.objects.unscoped().filter(subject_type="case", subject_id=case.pk)
    return case, list(runs.values_list("id", "workflow_code", "status", "sequence"))


def test_seed_demo_opens_the_demo_case_with_survivor_intake_running():
    output = seed()
    assert "opened case CASE-DEMO-1" in output
    case, runs = demo_case_state()
    assert case.tenant.slug == "demo"
    assert case.title == "Caller needs a safe place tonight"
    assert case.status == "open"
    assert case.assignee.email == "agent@demo.example"
    assert case.created_by.email == "agent@demo.example"
    [(run_id, code, status, sequence)] = runs
    assert (code, status, sequence) == ("SURVIVOR_INTAKE", "running", 1)
    steps = StepRun.objects.unscoped().filter(run_id=run_id).order_by("position")
    assert [(s.action, s.status) for s in steps] == [
        ("verify_contact", "waiting"),
        ("check_safety", "pending"),
        ("send_email", "pending"),
    ]
    task = HumanTask.objects.unscoped().get(run_id=run_id)
    assert (task.subject_type, task.subject_id, task.status) == ("case", case.pk, "pending")


def test_seed_demo_twice_keeps_one_demo_case_and_one_run():
    seed()
    first = demo_case_state()
    counts = (Case.objects.unscoped().count(), WorkflowRun.objects.unscoped().count())
    output = seed()
    assert "opened case" not in output
    assert demo_case_state() == first
    assert (Case.objects.unscoped().count(), WorkflowRun.objects.unscoped().count()) == counts


def test_seed_demo_leaves_a_demo_case_someone_has_worked_on_alone():
    seed()
    Case.objects.unscoped().filter(reference="CASE-DEMO-1").update(status="closed", title="Done")
    seed()
    case, runs = demo_case_state()
    assert (case.status, case.title, len(runs)) == ("closed", "Done", 1)


def test_demo_agent_sees_the_demo_case_task_in_the_inbox(client):
    seed()
    token = client.post(
        "/api/auth/token/",
        {"email": "agent@demo.example", "password": "Demo-Pass-2026!"},
        content_type="application/json",
    ).json()["access"]
    items = client.get("/api/tasks/", HTTP_AUTHORIZATION=f"Bearer {token}").json()["results"]
    case_items = [item for item in items if item["subject"]["type"] == "case"]
    assert [(i["action"], i["subject"]["reference"]) for i in case_items] == [
        ("verify_contact", "CASE-DEMO-1")
    ]


def test_demo_case_runs_survivor_intake_to_the_end_with_the_cases_fields_in_the_email(
    client, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.CELERY_BROKER_URL = ""  # the embedded default: automated steps run in-process
    seed()
    token = client.post(
        "/api/auth/token/",
        {"email": "agent@demo.example", "password": "Demo-Pass-2026!"},
        content_type="application/json",
    ).json()["access"]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    case, [(run_id, *_)] = demo_case_state()
    for form in ({"contact_verified": True}, {"risk_level": "medium"}):
        task = HumanTask.objects.unscoped().get(run_id=run_id, status="pending")
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/api/tasks/{task.pk}/complete/",
                {"data": form},
                content_type="application/json",
                **auth,
            )
        assert response.status_code == 200, response.content
    run = client.get(f"/api/runs/{run_id}/", **auth).json()
    assert run["status"] == "completed", run
    assert [s["status"] for s in run["steps"]] == ["completed"] * 3
    [email] = mailoutbox
    assert email.subject == "New case CASE-DEMO-1"
    assert email.body == "A case was opened: Caller needs a safe place tonight"
    assert sorted(email.to) == ["approver1@demo.example", "approver2@demo.example"]
