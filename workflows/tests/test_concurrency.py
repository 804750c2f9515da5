"""Real threads on PostgreSQL: many people acting on one task at once."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import Role
from conftest import obtain_token
from tests.factories import StepFactory, WorkflowFactory
from workflows.models import (
    RunStatus,
    StateTransition,
    StepRun,
    StepRunStatus,
    TaskBallot,
)
from workflows.tests.engine_helpers import approval_workflow, open_task, start

pytestmark = pytest.mark.django_db(transaction=True)


def race(requests):
    """Run callables at the same moment, each on its own thread and connection."""
    barrier = threading.Barrier(len(requests))
    results = [None] * len(requests)

    def worker(index, fn):
        try:
            barrier.wait()
            results[index] = fn()
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, fn)) for i, fn in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def post_as(token, url, body, **headers):
    def call():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        response = client.post(url, body, format="json", **headers)
        return response.status_code, response.json()

    return call


def test_twenty_approvers_at_once_make_one_decision_and_one_next_step(tenant, make_user):
    approvers = [make_user(Role.SUPERVISOR) for _ in range(20)]
    workflow = approval_workflow(
        tenant, {"approvers": {"role": "SUPERVISOR"}}, {"approvers": {"role": "SUPERVISOR"}}
    )
    run = start(tenant, workflow)
    task = open_task(run)
    tokens = [obtain_token(user) for user in approvers]
    url = f"/api/tasks/{task.pk}/approve/"
    results = race([post_as(token, url, {"comment": "go"}) for token in tokens])
    statuses = sorted(status for status, _ in results)
    assert statuses.count(200) == 1, results
    assert statuses.count(409) == 19, results
    assert TaskBallot.objects.filter(task=task, decision__isnull=False).count() == 1
    steps = list(StepRun.objects.filter(run=run).order_by("position"))
    assert [s.status for s in steps] == [StepRunStatus.COMPLETED, StepRunStatus.WAITING]
    assert (
        StateTransition.objects.filter(
            object_type="step_run", object_id=steps[1].pk, to_status="waiting"
        ).count()
        == 1
    )
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING


def test_twenty_concurrent_replays_of_one_key_act_once(tenant, make_user):
    approver = make_user(Role.SUPERVISOR)
    run = start(tenant, approval_workflow(tenant, {"approvers": {"role": "SUPERVISOR"}}))
    task = open_task(run)
    token = obtain_token(approver)
    url = f"/api/tasks/{task.pk}/approve/"
    call = post_as(token, url, {"comment": "once"}, HTTP_IDEMPOTENCY_KEY="same-key")
    results = race([call for _ in range(20)])
    ok = [body for status, body in results if status == 200]
    assert ok, results
    assert all(body == ok[0] for body in ok)
    # Every other answer is "still in progress", never a second decision.
    assert all(status in (200, 409) for status, _ in results), results
    assert TaskBallot.objects.filter(task=task, decision__isnull=False).count() == 1
    replay_status, replay_body = call()
    assert (replay_status, replay_body) == (200, ok[0])


@pytest.mark.parametrize(
    ("config", "decisions"),
    [
        ({"rule": "all"}, ["approve"] * 12),
        ({"rule": "quorum", "quorum": 2}, ["approve"] * 12),
        ({"rule": "quorum", "quorum": 2}, ["approve", "reject"] * 6),
    ],
    ids=["all", "quorum", "quorum-approve-and-reject"],
)
def test_one_user_deciding_a_task_twelve_times_at_once_votes_once(
    tenant, make_user, config, decisions
):
    """Requests that waited for the task's lock re-read the voter's ballot: one 200, the
    rest 409 'already voted', one decided ballot, the task counting one vote."""
    voter, *_ = [make_user(Role.SUPERVISOR) for _ in range(4)]
    run = start(
        tenant,
        approval_workflow(
            tenant,
            {"approvers": {"role": "SUPERVISOR"}, **config},
            {"approvers": {"role": "SUPERVISOR"}},
        ),
    )
    task = open_task(run)
    token = obtain_token(voter)
    results = race(
        [
            post_as(token, f"/api/tasks/{task.pk}/{decision}/", {"comment": "mine"})
            for decision in decisions
        ]
    )
    statuses = [status for status, _ in results]
    assert statuses.count(200) == 1, results
    assert statuses.count(409) == len(decisions) - 1, results
    assert TaskBallot.objects.filter(task=task, decision__isnull=False).count() == 1
    task.refresh_from_db()
    assert task.status == "pending"
    assert task.approvals_count + task.rejections_count == 1
    assert [s.status for s in StepRun.objects.filter(run=run).order_by("position")] == [
        StepRunStatus.WAITING,
        StepRunStatus.PENDING,
    ]


def test_one_user_completing_a_form_task_eight_times_at_once_completes_it_once(tenant, make_user):
    agent = make_user(Role.AGENT)
    workflow = WorkflowFactory(tenant=tenant)
    StepFactory(workflow=workflow, order=0, action="check_safety", config={})
    run = start(tenant, workflow)
    task = open_task(run)
    token = obtain_token(agent)
    body = {"data": {"risk_level": "low"}}
    results = race([post_as(token, f"/api/tasks/{task.pk}/complete/", body) for _ in range(8)])
    statuses = [status for status, _ in results]
    assert statuses.count(200) == 1, results
    assert statuses.count(409) == 7, results
    assert TaskBallot.objects.filter(task=task).count() == 1
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED


def test_cancelling_a_run_while_its_task_is_approved_never_answers_500(tenant, make_user):
    """The decision that finishes a run and the cancel of that run take their locks in one
    order (task, step run, run): one of the two wins (200), the other gets 409, over and
    over, and the run ends as the winner left it."""
    supervisor, approver = make_user(Role.SUPERVISOR), make_user(Role.SUPERVISOR)
    workflow = approval_workflow(tenant, {"approvers": {"users": [approver.pk]}})
    cancel_token, approve_token = obtain_token(supervisor), obtain_token(approver)
    for round_ in range(15):
        run = start(tenant, workflow, subject_id=round_ + 1)
        task = open_task(run)
        (cancel, cancel_body), (approve, approve_body) = race(
            [
                post_as(cancel_token, f"/api/runs/{run.pk}/cancel/", {"comment": "stop"}),
                post_as(approve_token, f"/api/tasks/{task.pk}/approve/", {"comment": "go"}),
            ]
        )
        assert sorted([cancel, approve]) == [200, 409], (round_, cancel_body, approve_body)
        run.refresh_from_db()
        task.refresh_from_db()
        (step,) = StepRun.objects.filter(run=run)
        if cancel == 200:
            assert (run.status, task.status, step.status) == ("cancelled",) * 3, round_
        else:
            assert (run.status, task.status, step.status) == (
                "completed",
                "approved",
                "completed",
            ), round_
