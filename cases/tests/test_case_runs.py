"""Workflows on cases: start one over HTTP, take it through its human steps to the end, see the
case's runs in its detail and its tasks in the inbox."""

import pytest
from django.db import transaction

from accounts.models import Role
from cases.models import Case
from cases.tests.conftest import case_url, intake_workflow, runs_url
from tests.factories import CaseFactory, StepFactory, WorkflowFactory
from workflows.engine import runner
from workflows.engine.transitions import TransitionLog
from workflows.models import HumanTask, RunStatus, TaskStatus, WorkflowRun

pytestmark = pytest.mark.django_db

RUN_KEYS = {"id", "workflow", "status", "started_at", "finished_at", "steps"}
STEP_KEYS = {"id", "order", "name", "action", "status", "attempts", "started_at", "finished_at"}


def pending_task(run_id):
    return HumanTask.objects.get(run_id=run_id, status=TaskStatus.PENDING)


def test_start_answers_201_with_the_run_in_the_shape_of_get_run(agent_client, case, intake):
    response = agent_client.post(runs_url(case.pk), {"workflow": intake.pk}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= RUN_KEYS
    assert body["workflow"] == intake.pk
    assert body["status"] == "running"
    assert body["subject_type"] == "case"
    assert body["subject_id"] == case.pk
    assert body["started_at"] is not None
    assert body["finished_at"] is None
    assert [(s["order"], s["action"], s["status"]) for s in body["steps"]] == [
        (0, "check_safety", "waiting"),
        (1, "verify_contact", "pending"),
    ]
    assert all(set(step) >= STEP_KEYS for step in body["steps"])
    assert agent_client.get(f"/api/runs/{body['id']}/").json() == body


def test_run_on_a_case_from_start_to_finish(client_for, agent, supervisor, tenant, case, intake):
    run_id = client_for(agent).post(runs_url(case.pk), {"workflow": intake.pk}, format="json")
    run_id = run_id.json()["id"]
    task = pending_task(run_id)
    assert task.action == "check_safety"
    response = client_for(agent).post(
        f"/api/tasks/{task.pk}/complete/", {"data": {"risk_level": "low"}}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "completed"
    middle = client_for(agent).get(case_url(case.pk)).json()["runs"][0]
    assert middle["status"] == "running"
    assert [s["status"] for s in middle["steps"]] == ["completed", "waiting"]

    task = pending_task(run_id)
    assert task.action == "verify_contact"
    response = client_for(supervisor).post(
        f"/api/tasks/{task.pk}/complete/", {"data": {"contact_verified": True}}, format="json"
    )
    assert response.status_code == 200, response.content

    run = client_for(agent).get(f"/api/runs/{run_id}/").json()
    assert run["status"] == "completed"
    assert run["finished_at"] is not None
    assert [s["status"] for s in run["steps"]] == ["completed", "completed"]
    detail = client_for(agent).get(case_url(case.pk)).json()
    assert [(r["id"], r["status"]) for r in detail["runs"]] == [(run_id, "completed")]
    assert not HumanTask.objects.filter(run_id=run_id, status=TaskStatus.PENDING).exists()


def test_bad_form_data_keeps_the_step_waiting(agent_client, case, intake):
    run_id = agent_client.post(runs_url(case.pk), {"workflow": intake.pk}, format="json")
    task = pending_task(run_id.json()["id"])
    response = agent_client.post(
        f"/api/tasks/{task.pk}/complete/", {"data": {"risk_level": "extreme"}}, format="json"
    )
    assert response.status_code == 400
    assert "data" in response.json()
    task.refresh_from_db()
    assert task.status == TaskStatus.PENDING


def case_runs(tenant, case, workflows):
    """Runs on `case` numbered 1..n the way the engine numbers a chain; the first started."""
    with transaction.atomic():
        log = TransitionLog(tenant.pk, None)
        runs = runner.runs_create(
            tenant_id=tenant.pk,
            subject_type="case",
            subject_id=case.pk,
            workflows=workflows,
            submitted_by=None,
            start=(None, log),
        )
        log.flush()
    return runs


def test_detail_lists_the_cases_runs_in_start_order(agent_client, tenant, case, intake):
    first, second = case_runs(tenant, case, [intake, intake_workflow(tenant)])
    elsewhere = CaseFactory(tenant=tenant)
    agent_client.post(runs_url(elsewhere.pk), {"workflow": intake.pk}, format="json")
    runs = agent_client.get(case_url(case.pk)).json()["runs"]
    assert [r["id"] for r in runs] == [first.pk, second.pk]
    assert [(r["sequence"], r["status"]) for r in runs] == [(1, "running"), (2, "not_started")]
    assert all(set(r) >= RUN_KEYS and len(r["steps"]) == 2 for r in runs)
    full = agent_client.get(f"/api/runs/{first.pk}/").json()
    full.pop("history")
    assert runs[0] == full


def test_a_second_workflow_can_run_on_the_same_case(agent_client, tenant, case, intake):
    agent_client.post(runs_url(case.pk), {"workflow": intake.pk}, format="json")
    response = agent_client.post(runs_url(case.pk), {"workflow": intake.pk}, format="json")
    assert response.status_code == 201
    assert response.json()["sequence"] == 2


def test_inbox_item_of_a_case_task_carries_the_case(client_for, agent, tenant, intake):
    case = CaseFactory(tenant=tenant, reference="CASE-INBOX-7", title="Needs a callback")
    client = client_for(agent)
    run_id = client.post(runs_url(case.pk), {"workflow": intake.pk}, format="json").json()["id"]
    items = client.get("/api/tasks/", {"subject_type": "case"}).json()["results"]
    assert len(items) == 1
    item = items[0]
    assert (item["run"], item["action"], item["status"]) == (run_id, "check_safety", "pending")
    assert item["subject"] == {
        "type": "case",
        "id": case.pk,
        "reference": "CASE-INBOX-7",
        "title": "Needs a callback",
        "status": "open",
        "priority": "normal",
    }
    task_detail = client.get(f"/api/tasks/{item['id']}/").json()
    assert task_detail["subject"]["reference"] == "CASE-INBOX-7"


def test_workflow_with_no_steps_completes_at_once(agent_client, tenant, case):
    empty = WorkflowFactory(tenant=tenant)
    body = agent_client.post(runs_url(case.pk), {"workflow": empty.pk}, format="json").json()
    assert body["status"] == "completed"
    assert body["steps"] == []


@pytest.mark.parametrize(
    "payload", [{}, {"workflow": None}, {"workflow": "one"}, {"workflow": 2**63}, []]
)
def test_bad_workflow_field_is_400(agent_client, case, payload):
    response = agent_client.post(runs_url(case.pk), payload, format="json")
    assert response.status_code == 400
    assert not WorkflowRun.objects.exists()


def test_missing_workflow_is_400_with_drf_wording(agent_client, case):
    response = agent_client.post(runs_url(case.pk), {"workflow": 987654321}, format="json")
    assert response.status_code == 400
    assert response.json() == {"workflow": ['Invalid pk "987654321" - object does not exist.']}


def test_inactive_workflow_is_400(agent_client, tenant, case):
    inactive = intake_workflow(tenant, is_active=False)
    response = agent_client.post(runs_url(case.pk), {"workflow": inactive.pk}, format="json")
    assert response.status_code == 400
    assert response.json() == {"workflow": ["This workflow is not active."]}
    assert not WorkflowRun.objects.exists()


def test_closed_case_refuses_a_new_run_with_409(agent_client, tenant, intake):
    closed = CaseFactory(tenant=tenant, status="closed")
    response = agent_client.post(runs_url(closed.pk), {"workflow": intake.pk}, format="json")
    assert response.status_code == 409
    assert "closed" in response.json()["detail"]
    assert not WorkflowRun.objects.exists()


def test_idempotency_key_replays_the_first_run(agent_client, case, intake):
    headers = {"HTTP_IDEMPOTENCY_KEY": "start-1"}
    first = agent_client.post(runs_url(case.pk), {"workflow": intake.pk}, format="json", **headers)
    again = agent_client.post(runs_url(case.pk), {"workflow": intake.pk}, format="json", **headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert WorkflowRun.objects.filter(subject_type="case", subject_id=case.pk).count() == 1
    other = agent_client.post(runs_url(case.pk), {"workflow": 0}, format="json", **headers)
    assert other.status_code == 422


def test_failed_start_does_not_burn_the_idempotency_key(agent_client, case, intake):
    headers = {"HTTP_IDEMPOTENCY_KEY": "start-2"}
    bad = agent_client.post(runs_url(case.pk), {"workflow": 987654321}, format="json", **headers)
    assert bad.status_code == 400
    good = agent_client.post(runs_url(case.pk), {"workflow": intake.pk}, format="json", **headers)
    assert good.status_code == 201


def test_deleting_a_case_cancels_its_running_runs(client_for, agent, supervisor, case, intake):
    run_id = client_for(agent).post(runs_url(case.pk), {"workflow": intake.pk}, format="json")
    run_id = run_id.json()["id"]
    assert client_for(supervisor).delete(case_url(case.pk)).status_code == 204
    assert WorkflowRun.objects.get(pk=run_id).status == RunStatus.CANCELLED
    assert not HumanTask.objects.filter(run_id=run_id, status=TaskStatus.PENDING).exists()
    assert client_for(agent).get("/api/tasks/").json()["count"] == 0
    assert not Case.objects.filter(pk=case.pk).exists()


def test_steps_are_pinned_when_the_run_starts(agent_client, tenant, case, intake):
    run_id = agent_client.post(runs_url(case.pk), {"workflow": intake.pk}, format="json")
    StepFactory(workflow=intake, order=2, name="Added later", action="check_safety")
    body = agent_client.get(f"/api/runs/{run_id.json()['id']}/").json()
    assert [s["name"] for s in body["steps"]] == ["Check safety", "Verify contact"]


def test_viewer_cannot_start_a_run(client_for, make_user, case, intake):
    viewer = make_user(Role.VIEWER)
    response = client_for(viewer).post(runs_url(case.pk), {"workflow": intake.pk}, format="json")
    assert response.status_code == 403
    assert not WorkflowRun.objects.exists()
