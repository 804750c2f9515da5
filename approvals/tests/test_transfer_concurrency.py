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


@pytest.fixture
def one_step_group(tenant, make_user):
    """A group of a submitter and three approvers; `make(config)` files a transfer whose chain
    is one workflow per config, each a single approval step with that config."""
    group = SecurityGroupFactory(tenant=tenant, name="Finance Team")
    submitter = make_user(Role.AGENT)
    approvers = [make_user(Role.SUPERVISOR) for _ in range(3)]
    for user in [submitter, *approvers]:
        SecurityGroupMemberFactory(security_group=group, user=user)

    def make(*configs):
        from decimal import Decimal

        from approvals.services.transfers import transfer_create

        for order, config in enumerate(configs, start=1):
            template = WorkflowTemplateFactory(tenant=tenant, transfer_type="FAR")
            StepFactory(
                workflow=template,
                order=0,
                action="approval",
                config={"approvers": {"security_group": group.pk}, **config},
            )
            WorkflowAssignmentFactory(
                security_group=group, workflow_template=template, execution_order=order
            )
        transfer = transfer_create(
            tenant=tenant,
            transfer_type="FAR",
            reference="R-1",
            amount=Decimal("5.00"),
            currency="EUR",
            security_group_id=group.pk,
            actor=submitter,
        )
        return transfer.pk

    return make, approvers


@pytest.mark.parametrize(
    "config", [{"rule": "all"}, {"rule": "quorum", "quorum": 2}], ids=["all", "quorum"]
)
def test_one_approver_posting_twelve_times_at_once_casts_one_vote(one_step_group, config):
    """The requests that waited for the task lock must see the ballot the first one decided:
    one 200, eleven 409 'already voted', one counted ballot, the task still waiting for others."""
    from workflows.models import HumanTask, TaskStatus

    make, approvers = one_step_group
    transfer_id = make(config)
    token = obtain_token(approvers[0])
    results = race([post_as(token, f"{URL}{transfer_id}/approve/", {}) for _ in range(12)])
    statuses = [status for status, _ in results]
    assert statuses.count(200) == 1, results
    assert statuses.count(409) == 11, results
    task = HumanTask.objects.get(subject_type="transfer", subject_id=transfer_id)
    assert task.status == TaskStatus.PENDING
    assert task.approvals_count == 1
    assert TaskBallot.objects.filter(task=task, decision__isnull=False).count() == 1
    (run,) = WorkflowRun.objects.filter(subject_id=transfer_id)
    assert run.status == RunStatus.RUNNING
    from approvals.models import Transfer

    assert Transfer.objects.get(pk=transfer_id).status == "pending"


def test_cancelling_a_chain_run_cancels_the_transfer_and_its_later_runs(
    one_step_group, make_user, client_for
):
    from approvals.models import Transfer

    make, approvers = one_step_group
    transfer_id = make({}, {}, {})
    first, *later = WorkflowRun.objects.filter(subject_id=transfer_id).order_by("sequence")
    supervisor = client_for(make_user(Role.SUPERVISOR))
    response = supervisor.post(
        f"/api/runs/{first.pk}/cancel/", {"comment": "wrong payee"}, format="json"
    )
    assert response.status_code == 200, response.json()
    transfer = Transfer.objects.get(pk=transfer_id)
    assert transfer.status == "cancelled"
    assert transfer.finished_at is not None
    statuses = WorkflowRun.objects.filter(subject_id=transfer_id).order_by("sequence")
    assert [r.status for r in statuses] == [RunStatus.CANCELLED] * 3
    for run in later:  # audited in the run's history like any other change
        (change,) = StateTransition.objects.filter(object_type="run", object_id=run.pk)
        assert (change.from_status, change.to_status) == ("not_started", "cancelled")
        assert change.comment == "wrong payee"
    (change,) = StateTransition.objects.filter(object_type="transfer", to_status="cancelled")
    assert change.object_id == transfer_id
    history = supervisor.get(f"/api/runs/{later[0].pk}/").json()["history"]
    assert [(h["from_status"], h["to_status"]) for h in history] == [("not_started", "cancelled")]
    answer = client_for(approvers[0]).post(f"{URL}{transfer_id}/approve/", {}, format="json")
    assert answer.status_code == 409
    assert answer.json()["errors"]["detail"] == "This transfer is already cancelled."


def test_cancelling_a_chain_run_while_it_is_approved_never_answers_500(
    one_step_group, make_user, tenant
):
    """Fifteen rounds of a run cancel racing the approval that finishes that run and starts
    the next: 200 for one, 409 for the other, and a transfer in a state the winner leaves."""
    from decimal import Decimal

    from approvals.models import Transfer
    from approvals.services.transfers import transfer_create

    make, approvers = one_step_group
    first_id = make({}, {})
    submitter = Transfer.objects.get(pk=first_id).created_by
    group_id = Transfer.objects.get(pk=first_id).security_group_id
    cancel_token = obtain_token(make_user(Role.SUPERVISOR))
    approve_token = obtain_token(approvers[0])
    for round_ in range(15):
        transfer = transfer_create(
            tenant=tenant,
            transfer_type="FAR",
            reference=f"RACE-{round_}",
            amount=Decimal("1.00"),
            currency="EUR",
            security_group_id=group_id,
            actor=submitter,
        )
        run = WorkflowRun.objects.get(subject_id=transfer.pk, sequence=1)
        (cancel, cancel_body), (approve, approve_body) = race(
            [
                post_as(cancel_token, f"/api/runs/{run.pk}/cancel/", {"comment": "stop"}),
                post_as(approve_token, f"{URL}{transfer.pk}/approve/", {"comment": "go"}),
            ]
        )
        assert sorted([cancel, approve]) == [200, 409], (round_, cancel_body, approve_body)
        transfer.refresh_from_db()
        runs = [r.status for r in WorkflowRun.objects.filter(subject_id=transfer.pk)]
        if cancel == 200:
            assert transfer.status == "cancelled", round_
            assert sorted(runs) == ["cancelled", "cancelled"], round_
        else:
            assert transfer.status == "pending", round_
            assert sorted(runs) == ["completed", "running"], round_
