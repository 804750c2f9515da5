"""The inbox reads only open work (issue 13 Part A item 6): a task that closes keeps no ballot
of those who never voted; the inbox pages and counts from open ballots and pending form tasks
in a constant number of queries whatever the history, and shows what it always showed."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Exists, OuterRef, Q
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from core.errors import Conflict
from tests.factories import StepFactory, WorkflowFactory
from tests.sqlite_process import run_on_fresh_sqlite
from workflows import selectors, services
from workflows.maintenance import delete_closed_ballots
from workflows.models import BallotDecision, HumanTask, TaskBallot, TaskStatus
from workflows.tests.engine_helpers import approval_workflow, open_task, start

pytestmark = pytest.mark.django_db


def decide(tenant, task, user, decision="approve", data=None):
    return services.task_decide(
        tenant=tenant,
        task_id=task.pk,
        decision=decision,
        comment="" if decision == "approve" else "no",
        data=data,
        actor=user,
    )


def undecided(task):
    return TaskBallot.objects.filter(task=task, decision__isnull=True).count()


def form_workflow(tenant, action="check_safety"):
    workflow = WorkflowFactory(tenant=tenant, name=f"Form {action}")
    StepFactory(workflow=workflow, order=0, action=action, name="Assess")
    return workflow


def old_inbox_ids(tenant, user):
    """What the inbox showed before (its query then), newest first: the reference."""
    open_ballot = TaskBallot.objects.filter(
        tenant_id=OuterRef("tenant_id"), task=OuterRef("pk"), user=user, decision__isnull=True
    )
    return list(
        HumanTask.objects.filter(tenant=tenant, status=TaskStatus.PENDING)
        .filter(Q(Exists(open_ballot)) | Q(open_to_roles__contains=f",{user.role},"))
        .order_by("-id")
        .values_list("pk", flat=True)
    )


# --- a closed task keeps no undecided ballot -------------------------------------------------


def test_any_rule_approval_deletes_the_ballots_of_those_who_did_not_vote(tenant, make_user):
    voter, other, third = (make_user(Role.SUPERVISOR) for _ in range(3))
    run = start(tenant, approval_workflow(tenant, {"approvers": {"role": "SUPERVISOR"}}))
    task = open_task(run)
    assert undecided(task) == 3
    decide(tenant, task, voter)
    task.refresh_from_db()
    assert task.status == TaskStatus.APPROVED
    assert task.eligible_count == 3  # who could have decided: still counted on the task
    assert list(TaskBallot.objects.filter(task=task).values_list("user_id", "decision")) == [
        (voter.pk, BallotDecision.APPROVE)
    ]
    assert {other.pk, third.pk}.isdisjoint(TaskBallot.objects.values_list("user_id", flat=True))


def test_any_rule_rejection_deletes_them_too(tenant, make_user):
    voter, _ = make_user(Role.SUPERVISOR), make_user(Role.SUPERVISOR)
    task = open_task(
        start(tenant, approval_workflow(tenant, {"approvers": {"role": "SUPERVISOR"}}))
    )
    decide(tenant, task, voter, "reject")
    assert undecided(task) == 0
    assert TaskBallot.objects.get(task=task).decision == BallotDecision.REJECT


def test_quorum_keeps_open_ballots_while_pending_and_deletes_them_when_it_closes(tenant, make_user):
    a, b, c, d = (make_user(Role.SUPERVISOR) for _ in range(4))
    config = {"approvers": {"role": "SUPERVISOR"}, "rule": "quorum", "quorum": 2}
    task = open_task(start(tenant, approval_workflow(tenant, config)))
    decide(tenant, task, a)
    task.refresh_from_db()
    assert task.status == TaskStatus.PENDING
    assert undecided(task) == 3  # the others may still vote
    decide(tenant, task, b)
    task.refresh_from_db()
    assert task.status == TaskStatus.APPROVED
    assert undecided(task) == 0
    assert set(TaskBallot.objects.filter(task=task).values_list("user_id", flat=True)) == {
        a.pk,
        b.pk,
    }
    with pytest.raises(Conflict):  # a latecomer: the task is decided, not "not eligible"
        decide(tenant, task, c)
    assert d.pk


def test_all_rule_rejection_by_one_closes_the_task_and_deletes_the_rest(tenant, make_user):
    a, b, c = (make_user(Role.SUPERVISOR) for _ in range(3))
    config = {"approvers": {"role": "SUPERVISOR"}, "rule": "all"}
    task = open_task(start(tenant, approval_workflow(tenant, config)))
    decide(tenant, task, a)
    decide(tenant, task, b, "reject")
    task.refresh_from_db()
    assert task.status == TaskStatus.REJECTED
    assert undecided(task) == 0
    assert TaskBallot.objects.filter(task=task).count() == 2
    assert c.pk


def test_form_task_completed_leaves_only_the_completion(tenant, make_user):
    agent = make_user(Role.AGENT)
    task = open_task(start(tenant, form_workflow(tenant)))
    decide(tenant, task, agent, "complete", data={"risk_level": "low"})
    task.refresh_from_db()
    assert task.status == TaskStatus.COMPLETED
    assert list(TaskBallot.objects.filter(task=task).values_list("user_id", "decision")) == [
        (agent.pk, BallotDecision.COMPLETE)
    ]


def test_cancel_deletes_undecided_ballots_and_keeps_the_votes(tenant, make_user):
    a, _, _ = (make_user(Role.SUPERVISOR) for _ in range(3))
    admin = make_user(Role.ADMIN)
    config = {"approvers": {"role": "SUPERVISOR"}, "rule": "quorum", "quorum": 2}
    run = start(tenant, approval_workflow(tenant, config))
    task = open_task(run)
    decide(tenant, task, a)
    services.run_cancel(tenant=tenant, run_id=run.pk, comment="stop", actor=admin)
    task.refresh_from_db()
    assert task.status == TaskStatus.CANCELLED
    assert undecided(task) == 0
    assert list(TaskBallot.objects.filter(task=task).values_list("user_id", flat=True)) == [a.pk]


def test_a_task_cancelled_as_it_opens_keeps_no_ballot(tenant, make_user):
    """Too few eligible for the quorum: the task is cancelled in the operation that opened it."""
    make_user(Role.SUPERVISOR)
    config = {"approvers": {"role": "SUPERVISOR"}, "rule": "quorum", "quorum": 2}
    run = start(tenant, approval_workflow(tenant, config))
    task = HumanTask.objects.get(run=run)
    assert task.status == TaskStatus.CANCELLED
    assert not TaskBallot.objects.filter(task=task).exists()


def test_closing_with_non_voters_costs_no_extra_statement(tenant, make_user):
    """The delete travels in the statement that writes the decision, not a round trip of its
    own: a decision costs the same with one eligible person as with five."""
    counts = []
    for eligible in (1, 5):
        users = [make_user(Role.SUPERVISOR) for _ in range(eligible)]
        config = {"approvers": {"users": [u.pk for u in users]}}
        task = open_task(start(tenant, approval_workflow(tenant, config), subject_id=eligible))
        with CaptureQueriesContext(connection) as queries:
            decide(tenant, task, users[0])
        assert undecided(task) == 0
        counts.append(len(queries))
    assert counts[0] == counts[1]


# --- the inbox ---------------------------------------------------------------------------------


def _history(tenant, workflow, voter, size, first_subject=1000):
    """`size` decided tasks, each with people who never voted on them."""
    for subject_id in range(first_subject, first_subject + size):
        decide(tenant, open_task(start(tenant, workflow, subject_id=subject_id)), voter)


@pytest.mark.parametrize("history", [0, 25])
def test_inbox_queries_are_constant_whatever_the_history(
    tenant, make_user, client_for, history, django_assert_num_queries
):
    supervisor, colleague = make_user(Role.SUPERVISOR), make_user(Role.SUPERVISOR)
    workflow = approval_workflow(tenant, {"approvers": {"role": "SUPERVISOR"}})
    _history(tenant, workflow, colleague, history)
    for subject_id in range(3):
        start(tenant, workflow, subject_id=subject_id)
    start(tenant, form_workflow(tenant), subject_id=99)
    client = client_for(supervisor)
    # user+tenant, savepoint, tenant context, count, page, release
    with django_assert_num_queries(6):
        body = client.get("/api/tasks/?page_size=2").json()
    assert body["count"] == 4
    assert len(body["results"]) == 2
    with django_assert_num_queries(6):
        second = client.get("/api/tasks/?page_size=2&page=2").json()
    ids = [t["id"] for t in body["results"] + second["results"]]
    assert ids == old_inbox_ids(tenant, supervisor)
    assert not TaskBallot.objects.filter(
        decision__isnull=True, task__status__in=[TaskStatus.APPROVED, TaskStatus.REJECTED]
    ).exists()


def test_inbox_shows_what_it_showed(tenant, other_tenant, make_user, client_for):
    """Open ballots, role-open form tasks, newest first; nothing decided, nothing of another
    tenant's; the filters and the count agree with the items."""
    supervisor, agent, viewer = (
        make_user(Role.SUPERVISOR),
        make_user(Role.AGENT),
        make_user(Role.VIEWER),
    )
    peer = make_user(Role.SUPERVISOR)
    by_role = approval_workflow(tenant, {"approvers": {"role": "SUPERVISOR"}}, name="Role")
    named = approval_workflow(tenant, {"approvers": {"users": [viewer.pk]}}, name="Named")
    quorum = approval_workflow(
        tenant, {"approvers": {"role": "SUPERVISOR"}, "rule": "quorum", "quorum": 2}, name="Q"
    )
    form = form_workflow(tenant)
    start(tenant, by_role, subject_id=1)
    decided = open_task(start(tenant, by_role, subject_id=2))
    decide(tenant, decided, peer)
    start(tenant, named, subject_id=3)
    voted = open_task(start(tenant, quorum, subject_id=4))
    decide(tenant, voted, supervisor)  # still pending, but no longer the supervisor's to do
    start(tenant, quorum, subject_id=5)
    start(tenant, form, subject_id=6)
    foreign = make_user(Role.SUPERVISOR, tenant=other_tenant)
    start(other_tenant, approval_workflow(other_tenant, {"approvers": {"role": "SUPERVISOR"}}))
    start(other_tenant, form_workflow(other_tenant), subject_id=7)
    for user in (supervisor, agent, viewer, peer, foreign):
        tenant_of_user = other_tenant if user is foreign else tenant
        body = client_for(user).get("/api/tasks/?page_size=100").json()
        ids = [t["id"] for t in body["results"]]
        expected = old_inbox_ids(tenant_of_user, user)
        assert ids == expected, user.role
        assert body["count"] == len(expected)
        assert all(t["status"] == "pending" for t in body["results"])
    supervisor_ids = [t["id"] for t in client_for(supervisor).get("/api/tasks/").json()["results"]]
    assert decided.pk not in supervisor_ids
    assert voted.pk not in supervisor_ids
    assert len(supervisor_ids) == 3  # subjects 1 and 5, and the form task
    assert supervisor_ids == sorted(supervisor_ids, reverse=True)  # newest first
    client = client_for(supervisor)
    for query, expected in (
        ("action=approval", 2),
        ("action=check_safety", 1),
        ("subject_type=test", 3),
        ("subject_type=case", 0),
        ("action=approval&subject_type=test", 2),
    ):
        body = client.get(f"/api/tasks/?{query}").json()
        assert body["count"] == expected == len(body["results"]), query
    assert client_for(viewer).get("/api/tasks/").json()["count"] == 1  # named, no form task
    assert client_for(agent).get("/api/tasks/").json()["count"] == 1  # the form task only


def test_inbox_selector_pages_are_disjoint_and_complete(tenant, make_user):
    supervisor = make_user(Role.SUPERVISOR)
    workflow = approval_workflow(tenant, {"approvers": {"role": "SUPERVISOR"}})
    form = form_workflow(tenant)
    for subject_id in range(7):
        start(tenant, form if subject_id % 3 == 0 else workflow, subject_id=subject_id)
    inbox = selectors.task_inbox(tenant=tenant, user=supervisor)
    assert inbox.count() == 7
    pages = [inbox[start : start + 3] for start in (0, 3, 6)]
    ids = [task.pk for page in pages for task in page]
    assert ids == old_inbox_ids(tenant, supervisor)
    assert inbox[5:5] == []


# --- the migration's clean-up --------------------------------------------------------------------


def test_delete_closed_ballots_removes_the_pile_and_nothing_else(tenant, other_tenant, make_user):
    """What the engine left before: undecided ballots on decided tasks (written here as it
    wrote them). Open work, votes and other tenants' rows are kept as they are."""
    a, b = make_user(Role.SUPERVISOR), make_user(Role.SUPERVISOR)
    workflow = approval_workflow(tenant, {"approvers": {"role": "SUPERVISOR"}})
    closed = []
    for subject_id in range(5):
        task = open_task(start(tenant, workflow, subject_id=subject_id))
        decide(tenant, task, a)
        TaskBallot.objects.create(tenant=tenant, task=task, user=b)  # the pile, as of old
        closed.append(task)
    pending = open_task(start(tenant, workflow, subject_id=10))
    stranger = make_user(Role.SUPERVISOR, tenant=other_tenant)
    foreign_task = open_task(
        start(other_tenant, approval_workflow(other_tenant, {"approvers": {"role": "SUPERVISOR"}}))
    )
    foreign_task.status = TaskStatus.CANCELLED
    foreign_task.save(update_fields=["status"])
    assert TaskBallot.objects.filter(task=foreign_task, user=stranger, decision=None).exists()
    pile = set(
        TaskBallot.objects.filter(
            task__in=[*closed, foreign_task], decision__isnull=True
        ).values_list("pk", flat=True)
    )
    everything = set(TaskBallot.objects.values_list("pk", flat=True))
    deleted = delete_closed_ballots(connection, batch=2)  # several batches
    assert deleted == len(pile) == 5 + 1  # the pile, and the cancelled task's open ballot
    assert set(TaskBallot.objects.values_list("pk", flat=True)) == everything - pile
    assert undecided(pending) == 2  # open work untouched
    assert TaskBallot.objects.filter(task__in=closed, decision=BallotDecision.APPROVE).count() == 5
    assert delete_closed_ballots(connection) == 0  # a rerun finds nothing left


# --- the embedded default (SQLite) -------------------------------------------------------------


SQLITE_SCRIPT = r"""
import django
django.setup()
from django.core.management import call_command
from django.db import connection
from django.db.models import Exists, OuterRef, Q

call_command("migrate", verbosity=0)
call_command("seed_demo", verbosity=0)

from accounts.models import User
from approvals.services.transfers import transfer_create, transfer_decide
from decimal import Decimal
from workflows import selectors
from workflows.maintenance import delete_closed_ballots
from workflows.models import HumanTask, TaskBallot

submitter = User.objects.get(email="approver1@demo.example")
approver = User.objects.get(email="approver2@demo.example")
tenant = submitter.tenant
for n in range(3):
    transfer_create(
        tenant=tenant, transfer_type="FAR", reference=f"INBOX-{n}", amount=Decimal("1.00"),
        currency="eur", actor=submitter,
    )
done = transfer_create(
    tenant=tenant, transfer_type="FAR", reference="INBOX-X", amount=Decimal("1.00"),
    currency="eur", actor=submitter,
)
transfer_decide(tenant=tenant, transfer_id=done.pk, decision="reject", comment="no",
                actor=approver)
assert not TaskBallot.objects.filter(decision__isnull=True).exclude(
    task__status="pending").exists()
for user in User.objects.filter(tenant=tenant):
    ballot = TaskBallot.objects.filter(task=OuterRef("pk"), user=user, decision__isnull=True)
    expected = list(
        HumanTask.objects.filter(tenant=tenant, status="pending")
        .filter(Q(Exists(ballot)) | Q(open_to_roles__contains=f",{user.role},"))
        .order_by("-id").values_list("pk", flat=True)
    )
    inbox = selectors.task_inbox(tenant=tenant, user=user)
    assert inbox.count() == len(expected), (user.email, inbox.count(), expected)
    got = [t.pk for t in inbox[0:2]] + [t.pk for t in inbox[2:100]]
    assert got == expected, (user.email, got, expected)
assert delete_closed_ballots(connection, batch=3) == 0
print("EMBEDDED INBOX OK")
"""


def test_inbox_and_cleanup_on_the_embedded_sqlite_default(tmp_path: Path) -> None:
    run_on_fresh_sqlite(SQLITE_SCRIPT, tmp_path, done="EMBEDDED INBOX OK")
