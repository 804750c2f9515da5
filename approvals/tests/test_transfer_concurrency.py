"""Real threads on PostgreSQL: a crowd approving one transfer, and replays of one key."""

import pytest

from accounts.models import Role
from conftest import obtain_token
from tests.factories import (
    SecurityGroupFactory,
    SecurityGroupMemberFactory,
    StepFactory,
    WorkflowAssignmentFactory,
    WorkflowTemplateFactory,
)
from workflows.models import RunStatus, StateTransition, TaskBallot, WorkflowRun
from workflows.tests.test_concurrency import post_as, race

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/api/approvals/transfers/"


@pytest.fixture
def crowd(tenant, make_user, client_for):
    group = SecurityGroupFactory(tenant=tenant, name="Finance Team")
    submitter = make_user(Role.AGENT)
    approvers = [make_user(Role.SUPERVISOR) for _ in range(20)]
    for user in [submitter, *approvers]:
        SecurityGroupMemberFactory(security_group=group, user=user)
    for order in (1, 2):
        template = WorkflowTemplateFactory(tenant=tenant, transfer_type="FAR")
        StepFactory(
            workflow=template,
            order=0,
            action="approval",
            config={"approvers": {"security_group": group.pk}},
        )
        WorkflowAssignmentFactory(
            security_group=group, workflow_template=template, execution_order=order
        )
    response = client_for(submitter).post(
        URL,
        {"transfer_type": "FAR", "reference": "R-1", "amount": "5.00", "currency": "EUR"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()["transfer"]["id"], [obtain_token(u) for u in approvers]


def test_twenty_threads_approving_one_transfer_start_the_next_run_once(crowd):
    """Each step is decided once and each run starts once. A thread that arrives after the
    first decision committed finds the *next* step pending and may legitimately decide it, so
    one or two of the twenty succeed (the chain has two steps); all others get 409."""
    transfer_id, tokens = crowd
    results = race([post_as(t, f"{URL}{transfer_id}/approve/", {"comment": "go"}) for t in tokens])
    statuses = [status for status, _ in results]
    successes = statuses.count(200)
    assert successes in (1, 2), results
    assert statuses.count(409) == 20 - successes, results
    assert all(body["success"] is False for status, body in results if status == 409)
    runs = list(WorkflowRun.objects.filter(subject_id=transfer_id).order_by("sequence"))
    expected = [RunStatus.COMPLETED, RunStatus.RUNNING if successes == 1 else RunStatus.COMPLETED]
    assert [r.status for r in runs] == expected
    assert (
        StateTransition.objects.filter(
            object_type="run", object_id=runs[1].pk, to_status="running"
        ).count()
        == 1
    )
    for run in runs[:successes]:
        assert TaskBallot.objects.filter(task__run=run, decision__isnull=False).count() == 1


def test_twenty_concurrent_and_twenty_sequential_replays_decide_once(crowd):
    transfer_id, tokens = crowd
    call = post_as(
        tokens[0],
        f"{URL}{transfer_id}/approve/",
        {"comment": "once"},
        HTTP_IDEMPOTENCY_KEY="approve-R-1",
    )
    results = race([call for _ in range(20)])
    ok = [body for status, body in results if status == 200]
    assert ok, results
    assert all(body == ok[0] for body in ok), results
    assert all(status in (200, 409) for status, _ in results), results
    sequential = [call() for _ in range(20)]
    assert all(result == (200, ok[0]) for result in sequential)
    assert (
        TaskBallot.objects.filter(task__run__subject_id=transfer_id, decision__isnull=False).count()
        == 1
    )
