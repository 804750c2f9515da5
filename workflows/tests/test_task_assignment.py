"""Claim, release and reassign a pending task (`/api/tasks/{id}/claim|release|reassign/`):
who sees it, who may decide it, and the run's history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import Role
from approvals.tests.test_separation_of_duties import pending_task, sod_chain
from approvals.tests.test_transfers import Chain
from conftest import obtain_token
from workflows.engine import jobs
from workflows.models import HumanTask, StateTransition, Step, TaskBallot, TaskStatus
from workflows.tests.test_concurrency import post_as, race
from workflows.tests.test_delegation import inbox_ids

pytestmark = pytest.mark.django_db


def post(client, task, verb, body=None):
    return client.post(f"/api/tasks/{task.pk}/{verb}/", body or {}, format="json")


def history(client, task) -> list[tuple[str, str, str]]:
    rows = client.get(f"/api/runs/{task.run_id}/").json()["history"]
    return [
        (h["to_status"], h["comment"], h["actor"])
        for h in rows
        if h["object_type"] == "task_assignment"
    ]


@pytest.fixture
def group_task(tenant, make_user, client_for):
    """An `any` approval over Finance Team's two approvers."""
    chain = Chain(tenant, make_user, client_for, workflows=1)
    transfer_id = chain.create().json()["transfer"]["id"]
    return chain, pending_task(transfer_id)


def test_a_claim_hides_the_task_from_the_others_until_released(group_task, make_user, client_for):
    chain, task = group_task
    mine, theirs = chain.approver_clients
    chain.approvers[1].role = Role.AGENT  # not a SUPERVISOR: may not release others' claims
    chain.approvers[1].save(update_fields=["role"])
    assert inbox_ids(theirs) == [task.pk]

    response = post(mine, task, "claim")
    assert response.status_code == 200, response.json()
    assert response.json()["claimed_by"] == chain.approvers[0].pk
    assert post(mine, task, "claim").status_code == 200  # again: nothing changes
    assert inbox_ids(mine) == [task.pk]
    assert inbox_ids(theirs) == []
    assert theirs.get("/api/tasks/").json()["count"] == 0
    refused = post(theirs, task, "approve")
    assert refused.status_code == 409, refused.json()
    assert post(theirs, task, "claim").status_code == 409
    assert post(theirs, task, "release").status_code == 403  # not theirs to release

    assert post(mine, task, "release", {"comment": "out sick"}).status_code == 200
    assert inbox_ids(theirs) == [task.pk]
    assert post(theirs, task, "approve").status_code == 200
    task.refresh_from_db()
    assert (task.status, task.decided_by_id) == (TaskStatus.APPROVED, chain.approvers[1].pk)
    me = chain.approvers[0].pk
    assert history(mine, task) == [
        ("claimed", "", me),
        ("released", f"Claimed by user {me}: out sick", me),
    ]


def test_a_supervisor_releases_someone_elses_claim(group_task, make_user, client_for):
    chain, task = group_task
    assert post(chain.approver_clients[0], task, "claim").status_code == 200
    supervisor = client_for(make_user(Role.SUPERVISOR))
    assert post(supervisor, task, "release").status_code == 200
    task.refresh_from_db()
    assert task.claimed_by_id is None


def test_who_may_not_claim(group_task, make_user, client_for, tenant):
    chain, task = group_task
    outsider = client_for(make_user(Role.AGENT))  # no ballot on it
    assert post(outsider, task, "claim").status_code == 403
    assert post(client_for(make_user(Role.VIEWER)), task, "claim").status_code == 403
    other_tenant_task = HumanTask.objects.exclude(tenant=tenant).first()
    assert other_tenant_task is None  # nothing else exists: the 404 is about ids
    assert chain.approver_clients[0].post("/api/tasks/999999/claim/").status_code == 404
    task.refresh_from_db()
    assert task.claimed_by_id is None


def test_a_task_needing_several_approvals_cannot_be_claimed(tenant, make_user, client_for):
    chain = Chain(
        tenant,
        make_user,
        client_for,
        workflows=1,
        rule_config=None,
    )
    Step.objects.filter(workflow__in=chain.templates).update(
        config={"approvers": {"security_group": chain.group.pk}, "rule": "all"}
    )
    task = pending_task(chain.create().json()["transfer"]["id"])
    response = post(chain.approver_clients[0], task, "claim")
    assert response.status_code == 409, response.json()
    assert "2 approvals" in response.json()["detail"]


def test_claim_on_a_decided_task_is_a_conflict(group_task):
    chain, task = group_task
    assert post(chain.approver_clients[0], task, "approve").status_code == 200
    assert post(chain.approver_clients[1], task, "claim").status_code == 409


@pytest.mark.django_db(transaction=True)
def test_two_people_claiming_at_once_one_wins(group_task):
    chain, task = group_task
    url = f"/api/tasks/{task.pk}/claim/"
    tokens = [obtain_token(user) for user in chain.approvers] * 3
    results = race([post_as(token, url, {}) for token in tokens])
    task.refresh_from_db()
    winners = [body for status, body in results if status == 200]
    assert all(body["claimed_by"] == task.claimed_by_id for body in winners)
    assert sorted(s for s, _ in results).count(409) == 6 - len(winners)
    assert StateTransition.objects.filter(object_type="task_assignment").count() == 1


def test_reassign_moves_a_ballot_with_a_reason_and_tells_the_new_person(
    group_task, make_user, client_for, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    chain, task = group_task
    supervisor = client_for(make_user(Role.SUPERVISOR))
    newcomer = make_user(Role.AGENT, email="newcomer@example.com")
    old = chain.approvers[0]
    body = {"to_user": newcomer.pk, "from_user": old.pk, "reason": "Alice is on leave"}
    mail.outbox.clear()
    response = post(supervisor, task, "reassign", body)
    assert response.status_code == 200, response.json()
    holders = set(TaskBallot.objects.filter(task=task).values_list("user_id", flat=True))
    assert holders == {newcomer.pk, chain.approvers[1].pk}
    assert inbox_ids(client_for(newcomer)) == [task.pk]
    assert inbox_ids(chain.approver_clients[0]) == []
    assert post(chain.approver_clients[0], task, "approve").status_code == 403
    assert history(supervisor, task)[0][:2] == (
        "reassigned",
        f"From user {old.pk} to user {newcomer.pk}: Alice is on leave",
    )
    assert mail.outbox == []  # after the commit, by a job
    jobs.run_due(now=timezone.now() + timedelta(seconds=1))
    kind = "X-Workflows-Notification"
    told = [m for m in mail.outbox if m.extra_headers[kind] == "task_reassigned"]
    assert [m.to for m in told] == [["newcomer@example.com"]]
    assert f"/inbox?task={task.pk}" in told[0].body
    assert post(client_for(newcomer), task, "approve").status_code == 200


def test_reassign_refuses_bad_requests_and_changes_nothing(
    group_task, make_user, client_for, other_tenant
):
    chain, task = group_task
    supervisor = client_for(make_user(Role.SUPERVISOR))
    newcomer = make_user(Role.AGENT)
    stranger = make_user(Role.AGENT, tenant=other_tenant)
    viewer = make_user(Role.VIEWER)
    old, other = chain.approvers
    cases = [
        ({"to_user": newcomer.pk, "from_user": old.pk}, "reason"),
        ({"to_user": newcomer.pk, "reason": "x"}, "from_user"),  # two hold open ballots
        ({"to_user": stranger.pk, "from_user": old.pk, "reason": "x"}, "to_user"),
        ({"to_user": viewer.pk, "from_user": old.pk, "reason": "x"}, "to_user"),
        ({"to_user": other.pk, "from_user": old.pk, "reason": "x"}, "to_user"),  # has one
        ({"to_user": newcomer.pk, "from_user": newcomer.pk, "reason": "x"}, "from_user"),
        ({"to_user": chain.submitter.pk, "from_user": old.pk, "reason": "x"}, "to_user"),
        ({"to_user": "١", "from_user": old.pk, "reason": "x"}, "to_user"),
    ]
    for body, field in cases:
        response = post(supervisor, task, "reassign", body)
        assert response.status_code == 400, (body, response.json())
        assert field in str(response.json()), (body, response.json())
    agent = post(client_for(newcomer), task, "reassign", {"to_user": newcomer.pk, "reason": "x"})
    assert agent.status_code == 403
    holders = set(TaskBallot.objects.filter(task=task).values_list("user_id", flat=True))
    assert holders == {old.pk, other.pk}
    assert not StateTransition.objects.filter(object_type="task_assignment").exists()


def test_reassign_keeps_separation_of_duties(tenant, make_user, client_for):
    chain = sod_chain(tenant, make_user, client_for)
    transfer_id = chain.create().json()["transfer"]["id"]
    assert chain.approve(transfer_id, approver=0).status_code == 200
    second = pending_task(transfer_id)
    supervisor = client_for(make_user(Role.SUPERVISOR))
    body = {"to_user": chain.approvers[0].pk, "reason": "only one left"}
    response = post(supervisor, second, "reassign", body)
    assert response.status_code == 400, response.json()
    assert "earlier step" in str(response.json())


def test_reassigning_a_form_task_makes_it_the_new_persons(tenant, make_user, client_for):
    from tests.factories import StepFactory, WorkflowFactory
    from workflows.tests.engine_helpers import open_task, start

    workflow = WorkflowFactory(tenant=tenant)
    StepFactory(workflow=workflow, order=0, action="check_safety", name="Safety", config={})
    task = open_task(start(tenant, workflow))
    agents = [make_user(Role.AGENT) for _ in range(2)]
    supervisor = client_for(make_user(Role.SUPERVISOR))
    response = post(supervisor, task, "reassign", {"to_user": agents[0].pk, "reason": "knows them"})
    assert response.status_code == 200, response.json()
    assert response.json()["claimed_by"] == agents[0].pk
    assert inbox_ids(client_for(agents[1])) == []
    assert inbox_ids(client_for(agents[0])) == [task.pk]
    viewer = make_user(Role.VIEWER)
    refused = post(supervisor, task, "reassign", {"to_user": viewer.pk, "reason": "x"})
    assert refused.status_code == 400
