"""The inbox and task decisions over HTTP, idempotency keys, and query budgets."""

import pytest

from accounts.models import Role
from workflows.models import RunStatus, TaskBallot, TaskStatus
from workflows.tests.engine_helpers import approval_workflow, open_task, start

pytestmark = pytest.mark.django_db


def test_inbox_lists_only_tasks_the_caller_may_act_on(tenant, other_tenant, make_user, client_for):
    supervisor, agent = make_user(Role.SUPERVISOR), make_user(Role.AGENT)
    named = make_user(Role.VIEWER)
    run_a = start(
        tenant, approval_workflow(tenant, {"approvers": {"role": "SUPERVISOR"}}), subject_id=1
    )
    run_b = start(
        tenant, approval_workflow(tenant, {"approvers": {"users": [named.pk]}}), subject_id=2
    )
    stranger = make_user(Role.SUPERVISOR, tenant=other_tenant)
    start(other_tenant, approval_workflow(other_tenant, {"approvers": {"role": "SUPERVISOR"}}))
    assert stranger.pk
    body = client_for(supervisor).get("/api/tasks/").json()
    assert [t["id"] for t in body["results"]] == [open_task(run_a).pk]
    item = body["results"][0]
    assert {"run", "step_run", "action", "status", "subject"} <= set(item)
    assert item["subject"] == {"type": "test", "id": 1}
    workflow = run_a.workflow
    assert item["workflow"] == {"id": workflow.pk, "code": workflow.code, "name": workflow.name}
    assert client_for(agent).get("/api/tasks/").json()["count"] == 0
    assert [t["id"] for t in client_for(named).get("/api/tasks/").json()["results"]] == [
        open_task(run_b).pk
    ]


def test_approve_reject_complete_over_http(tenant, make_user, client_for):
    supervisor = make_user(Role.SUPERVISOR)
    run = start(tenant, approval_workflow(tenant, {"approvers": {"role": "SUPERVISOR"}}))
    task = open_task(run)
    client = client_for(supervisor)
    response = client.post(f"/api/tasks/{task.pk}/reject/", {}, format="json")
    assert response.status_code == 400
    assert "comment" in response.json()
    response = client.post(f"/api/tasks/{task.pk}/complete/", {"data": {}}, format="json")
    assert response.status_code == 400
    response = client.post(f"/api/tasks/{task.pk}/approve/", {"comment": "ok"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "approved"
    again = client.post(f"/api/tasks/{task.pk}/approve/", {"comment": "ok"}, format="json")
    assert again.status_code == 409
    run_body = client.get(f"/api/runs/{run.pk}/").json()
    assert run_body["status"] == "completed"
    assert set(run_body["steps"][0]) >= {
        "id",
        "order",
        "name",
        "action",
        "status",
        "attempts",
        "started_at",
        "finished_at",
    }
    assert any(h["to_status"] == "completed" for h in run_body["history"])


def test_viewer_and_ineligible_user_get_403(tenant, make_user, client_for):
    make_user(Role.SUPERVISOR)
    viewer, agent = make_user(Role.VIEWER), make_user(Role.AGENT)
    task = open_task(
        start(tenant, approval_workflow(tenant, {"approvers": {"role": "SUPERVISOR"}}))
    )
    for user in (viewer, agent):
        response = client_for(user).post(f"/api/tasks/{task.pk}/approve/", {}, format="json")
        assert response.status_code == 403
    task.refresh_from_db()
    assert task.status == TaskStatus.PENDING


def test_other_tenants_task_and_run_are_404(tenant, other_tenant, make_user, client_for):
    make_user(Role.SUPERVISOR, tenant=other_tenant)
    run = start(
        other_tenant, approval_workflow(other_tenant, {"approvers": {"role": "SUPERVISOR"}})
    )
    task = open_task(run)
    client = client_for(make_user(Role.ADMIN))
    for url in (f"/api/tasks/{task.pk}/", f"/api/runs/{run.pk}/"):
        assert client.get(url).status_code == 404
    assert client.post(f"/api/tasks/{task.pk}/approve/", {}, format="json").status_code == 404
    assert client.post(f"/api/runs/{run.pk}/cancel/", {}, format="json").status_code == 404
    task.refresh_from_db()
    assert task.status == TaskStatus.PENDING


def test_supervisor_cancels_a_run(tenant, make_user, client_for):
    make_user(Role.ADMIN)
    run = start(tenant, approval_workflow(tenant, {"approvers": {"role": "ADMIN"}}))
    task = open_task(run)
    agent_response = client_for(make_user(Role.AGENT)).post(
        f"/api/runs/{run.pk}/cancel/", {}, format="json"
    )
    assert agent_response.status_code == 403
    response = client_for(make_user(Role.SUPERVISOR)).post(
        f"/api/runs/{run.pk}/cancel/", {"comment": "dup"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    task.refresh_from_db()
    assert task.status == TaskStatus.CANCELLED


def test_idempotency_key_replays_and_guards(tenant, make_user, client_for):
    approvers = [make_user(Role.SUPERVISOR) for _ in range(2)]
    run = start(
        tenant, approval_workflow(tenant, {"approvers": {"role": "SUPERVISOR"}, "rule": "all"})
    )
    task = open_task(run)
    client = client_for(approvers[0])
    url = f"/api/tasks/{task.pk}/approve/"
    first = client.post(url, {"comment": "a"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 200
    for _ in range(20):
        replay = client.post(url, {"comment": "a"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
        assert replay.status_code == 200
        assert replay.json() == first.json()
        assert replay["Idempotent-Replayed"] == "true"
    assert TaskBallot.objects.filter(task=task, decision__isnull=False).count() == 1
    other_body = client.post(url, {"comment": "b"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert other_body.status_code == 422
    # Without a key, a second approval by the same person is a plain conflict.
    assert client.post(url, {"comment": "a"}, format="json").status_code == 409
    # Keys are per user: the same key from another approver acts.
    second = client_for(approvers[1]).post(
        url, {"comment": "a"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert second.status_code == 200
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED


def test_failed_request_does_not_burn_the_key(tenant, make_user, client_for):
    approver = make_user(Role.SUPERVISOR)
    task = open_task(
        start(tenant, approval_workflow(tenant, {"approvers": {"role": "SUPERVISOR"}}))
    )
    client = client_for(approver)
    url = f"/api/tasks/{task.pk}/reject/"
    assert client.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 400
    assert client.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 400


@pytest.mark.parametrize("count", [1, 30])
def test_inbox_query_count_is_constant(
    tenant, make_user, client_for, count, django_assert_num_queries
):
    supervisor = make_user(Role.SUPERVISOR)
    workflow = approval_workflow(tenant, {"approvers": {"role": "SUPERVISOR"}})
    for subject_id in range(count):
        start(tenant, workflow, subject_id=subject_id)
    client = client_for(supervisor)
    # user+tenant, savepoint, tenant context, count, page, release
    with django_assert_num_queries(6):
        body = client.get("/api/tasks/?page_size=100").json()
    assert body["count"] == count
