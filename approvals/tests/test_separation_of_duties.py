"""Separation of duties: an approval step with `exclude_previous_deciders` is decided by someone
who decided no earlier step of the same transfer's chain."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from approvals.services.transfers import transfer_create, transfer_decide
from approvals.tests.test_transfers import URL, Chain
from tests.factories import SecurityGroupMemberFactory, StepFactory, WorkflowFactory
from workflows.models import HumanTask, RunStatus, Step, TaskBallot, TaskStatus, WorkflowRun

pytestmark = pytest.mark.django_db


def sod_chain(tenant, make_user, client_for, *, workflows=2, exclude=True):
    """Finance Team (a submitter, two approvers), FAR chain; every step after the first
    excludes previous deciders if `exclude`."""
    chain = Chain(tenant, make_user, client_for, workflows=workflows)
    for template in chain.templates[1:]:
        Step.objects.filter(workflow=template).update(
            config={
                "approvers": {"security_group": chain.group.pk},
                "exclude_previous_deciders": exclude,
            }
        )
    return chain


def pending_task(transfer_id):
    return HumanTask.objects.get(subject_id=transfer_id, status=TaskStatus.PENDING)


def ballot_holders(task):
    return set(TaskBallot.objects.filter(task=task).values_list("user_id", flat=True))


def test_who_approved_the_first_workflow_gets_no_ballot_on_the_second(
    tenant, make_user, client_for
):
    chain = sod_chain(tenant, make_user, client_for)
    transfer_id = chain.create().json()["transfer"]["id"]
    assert chain.approve(transfer_id, approver=0).status_code == 200
    second = pending_task(transfer_id)
    assert ballot_holders(second) == {chain.approvers[1].pk}
    assert second.eligible_count == 1

    response = chain.approve(transfer_id, approver=0)
    assert response.status_code == 403, response.json()
    assert response.json()["success"] is False
    assert pending_task(transfer_id).pk == second.pk  # nothing changed
    assert not TaskBallot.objects.filter(task=second, decision__isnull=False).exists()

    response = chain.approve(transfer_id, approver=1)
    assert response.status_code == 200, response.json()
    assert response.json()["transfer"]["status"] == "approved"


def test_a_rejection_counts_as_a_decision_too(tenant, make_user, client_for):
    chain = sod_chain(tenant, make_user, client_for, workflows=3)
    # 1: approver 0; 2: approver 1; 3: nobody is left (the submitter never approves).
    transfer_id = chain.create().json()["transfer"]["id"]
    assert chain.approve(transfer_id, approver=0).status_code == 200
    assert ballot_holders(pending_task(transfer_id)) == {chain.approvers[1].pk}
    response = chain.approve(transfer_id, approver=1)
    assert response.status_code == 200, response.json()
    third = WorkflowRun.objects.get(subject_id=transfer_id, sequence=3)
    assert third.status == RunStatus.FAILED
    assert "Not enough eligible approvers: 0" in (third.step_runs.get().last_error or "")


def test_earlier_runs_of_the_chain_count_as_previous_deciders(tenant, make_user, client_for):
    """A decision in an earlier run of the same subject excludes, even when that run's step
    was not the one just before."""
    chain = sod_chain(tenant, make_user, client_for, workflows=3)
    third = chain.approvers[1]
    # A third approver, so that the third workflow has someone left.
    extra = make_user(Role.SUPERVISOR, tenant=tenant)
    SecurityGroupMemberFactory(security_group=chain.group, user=extra)
    transfer_id = chain.create().json()["transfer"]["id"]
    assert chain.approve(transfer_id, approver=0).status_code == 200
    assert ballot_holders(pending_task(transfer_id)) == {third.pk, extra.pk}
    assert chain.approve(transfer_id, approver=1).status_code == 200
    assert ballot_holders(pending_task(transfer_id)) == {extra.pk}
    response = client_for(extra).post(f"{URL}{transfer_id}/approve/", {}, format="json")
    assert response.json()["transfer"]["status"] == "approved"


def test_a_previous_decider_holding_a_ballot_is_refused(tenant, make_user, client_for):
    chain = sod_chain(tenant, make_user, client_for)
    transfer_id = chain.create().json()["transfer"]["id"]
    assert chain.approve(transfer_id, approver=0).status_code == 200
    second = pending_task(transfer_id)
    # A ballot given some other way (a delegation, a hand-made row): the step still refuses.
    TaskBallot.objects.create(tenant=tenant, task=second, user=chain.approvers[0])
    for verb in ("approve", "reject"):
        response = chain.approver_clients[0].post(
            f"{URL}{transfer_id}/{verb}/", {"comment": "again"}, format="json"
        )
        assert response.status_code == 403, response.json()
        # (the envelope carries the message; `previous_decider` is the error's code)
        assert "earlier step" in response.json()["errors"]["detail"]
    second.refresh_from_db()
    assert (second.status, second.approvals_count, second.rejections_count) == ("pending", 0, 0)


def test_with_the_flag_off_the_same_person_approves_every_workflow(tenant, make_user, client_for):
    chain = sod_chain(tenant, make_user, client_for, exclude=False)
    transfer_id = chain.create().json()["transfer"]["id"]
    assert chain.approve(transfer_id, approver=0).status_code == 200
    assert ballot_holders(pending_task(transfer_id)) == {p.pk for p in chain.approvers}
    response = chain.approve(transfer_id, approver=0)
    assert response.status_code == 200, response.json()
    assert response.json()["transfer"]["status"] == "approved"


def test_the_flag_keeps_the_statement_budget(tenant, make_user, client_for):
    """As `test_engine_statement_budget_per_transfer`: the exclusion is part of the statement
    that opens the task, the check part of the lock."""
    chain = sod_chain(tenant, make_user, client_for)
    transfer = transfer_create(
        tenant=tenant,
        transfer_type="FAR",
        reference="SOD-1",
        amount=Decimal("10.00"),
        currency="EUR",
        security_group_id=chain.group.pk,
        actor=chain.submitter,
    )
    for approver in chain.approvers:
        with CaptureQueriesContext(connection) as decide:
            transfer_decide(
                tenant=tenant, transfer_id=transfer.pk, decision="approve", actor=approver
            )
        work = [q for q in decide.captured_queries if "SAVEPOINT" not in q["sql"]]
        assert len(work) == 2, [q["sql"][:80] for q in work]
    transfer.refresh_from_db()
    assert transfer.status == "approved"


def test_a_form_completed_earlier_excludes_its_decider(tenant, make_user, client_for):
    """`decided_by` of a task without ballots (here: set on the first task) counts too."""
    chain = sod_chain(tenant, make_user, client_for)
    transfer_id = chain.create().json()["transfer"]["id"]
    first = pending_task(transfer_id)
    # The first task's decision as a form's would be recorded: no ballot, only decided_by.
    assert chain.approve(transfer_id, approver=1).status_code == 200
    TaskBallot.objects.filter(task=first).delete()
    HumanTask.objects.filter(pk=first.pk).update(decided_by=chain.approvers[0])
    second = pending_task(transfer_id)
    TaskBallot.objects.get_or_create(tenant=tenant, task=second, user=chain.approvers[0])
    response = chain.approve(transfer_id, approver=0)
    assert response.status_code == 403
    assert "earlier step" in response.json()["errors"]["detail"]


@pytest.mark.parametrize("value", ["maybe", 3, [], {}])
def test_the_flag_must_be_a_boolean(admin_client, tenant, value):
    workflow = WorkflowFactory(tenant=tenant)
    response = admin_client.post(
        f"/api/workflows/{workflow.pk}/steps/",
        {
            "name": "Review",
            "order": 0,
            "action": "approval",
            "config": {"exclude_previous_deciders": value},
        },
        format="json",
    )
    assert response.status_code == 400, response.json()
    assert "exclude_previous_deciders" in response.json()["config"]
    assert not Step.objects.filter(workflow=workflow).exists()


def test_the_flag_is_stored_when_given(admin_client, tenant):
    workflow = WorkflowFactory(tenant=tenant)
    StepFactory(workflow=workflow, order=5)
    response = admin_client.post(
        f"/api/workflows/{workflow.pk}/steps/",
        {
            "name": "Review",
            "order": 0,
            "action": "approval",
            "config": {"exclude_previous_deciders": True},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert Step.objects.get(pk=response.json()["id"]).config["exclude_previous_deciders"] is True
