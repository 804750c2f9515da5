"""Out-of-office delegation in the engine: the delegate is offered the delegator's pending
tasks while the window is open, decides them "on behalf of", once, and cannot use it to get
round separation of duties."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import Delegation, Role
from approvals.tests.test_separation_of_duties import pending_task, sod_chain
from approvals.tests.test_transfers import URL, Chain
from conftest import obtain_token
from workflows.engine import jobs
from workflows.models import StateTransition, Step, TaskBallot, TaskStatus
from workflows.tests.test_concurrency import post_as, race

pytestmark = pytest.mark.django_db


def delegate(tenant, user, to, *, starts=None, ends=None):
    now = timezone.now()
    return Delegation.objects.create(
        tenant=tenant,
        user=user,
        delegate=to,
        starts_at=starts or now - timedelta(hours=1),
        ends_at=ends or now + timedelta(days=7),
        reason="Holiday",
    )


def inbox_ids(client) -> list[int]:
    response = client.get("/api/tasks/")
    assert response.status_code == 200, response.json()
    return [task["id"] for task in response.json()["results"]]


def one_approver_chain(tenant, make_user, client_for, **options):
    """A chain whose only approver is approvers[0] (an `all` rule over one user)."""
    chain = Chain(tenant, make_user, client_for, workflows=options.pop("workflows", 1))
    Step.objects.filter(workflow__in=chain.templates).update(
        config={"approvers": {"users": [chain.approvers[0].pk]}, **options}
    )
    return chain


def test_the_delegate_is_offered_the_task_and_decides_it_on_behalf(tenant, make_user, client_for):
    chain = one_approver_chain(tenant, make_user, client_for)
    away, stand_in = chain.approvers[0], make_user(Role.SUPERVISOR)
    stand_in_client = client_for(stand_in)
    transfer_id = chain.create().json()["transfer"]["id"]
    task = pending_task(transfer_id)
    assert task.pk not in inbox_ids(stand_in_client)

    delegate(tenant, away, stand_in)
    assert inbox_ids(stand_in_client) == [task.pk]
    assert stand_in_client.get("/api/tasks/").json()["count"] == 1

    response = stand_in_client.post(
        f"/api/tasks/{task.pk}/approve/", {"comment": "covering"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == TaskStatus.APPROVED
    ballot = TaskBallot.objects.get(task=task)
    assert (ballot.user_id, ballot.acted_by_id, ballot.decision) == (
        away.pk,
        stand_in.pk,
        "approve",
    )
    task.refresh_from_db()
    assert task.decided_by_id == stand_in.pk

    detail = chain.submitter_client.get(f"{URL}{transfer_id}/").json()
    decision = detail["transfer"]["chain"][0]["decisions"][0]
    assert (decision["decided_by"], decision["on_behalf_of"]) == (stand_in.pk, away.pk)
    history = client_for(away).get(f"/api/runs/{task.run_id}/").json()["history"]
    delegated = [h for h in history if h["object_type"] == "task_delegate"]
    assert len(delegated) == 1
    assert delegated[0]["actor"] == stand_in.pk
    assert f"On behalf of user {away.pk}: covering" == delegated[0]["comment"]
    assert inbox_ids(stand_in_client) == []


def test_window_start_is_inclusive_and_end_exclusive(tenant, make_user, client_for):
    chain = one_approver_chain(tenant, make_user, client_for)
    away, stand_in = chain.approvers[0], make_user(Role.SUPERVISOR)
    stand_in_client = client_for(stand_in)
    task = pending_task(chain.create().json()["transfer"]["id"])
    start = timezone.now().replace(microsecond=0) + timedelta(hours=1)
    delegation = delegate(tenant, away, stand_in, starts=start, ends=start + timedelta(days=1))
    url = f"/api/tasks/{task.pk}/approve/"

    @contextlib.contextmanager
    def at(moment):
        # The clock of the inbox (Django's) and of the engine's lock (`sql.now`).
        with (
            mock.patch("django.utils.timezone.now", return_value=moment),
            mock.patch("workflows.engine.store.now", return_value=moment),
        ):
            yield

    with at(start - timedelta(microseconds=1)):
        assert inbox_ids(stand_in_client) == []
        assert stand_in_client.post(url, {}, format="json").status_code == 403
    end = delegation.ends_at
    with at(end):
        assert inbox_ids(stand_in_client) == []
        assert stand_in_client.post(url, {}, format="json").status_code == 403
    with at(end - timedelta(microseconds=1)):
        assert inbox_ids(stand_in_client) == [task.pk]
    with at(start):
        assert inbox_ids(stand_in_client) == [task.pk]
        response = stand_in_client.post(url, {}, format="json")
        assert response.status_code == 200, response.json()
    assert TaskBallot.objects.get(task=task).acted_by_id == stand_in.pk


def test_delegation_is_not_transitive(tenant, make_user, client_for):
    chain = one_approver_chain(tenant, make_user, client_for)
    away, second, third = chain.approvers[0], make_user(Role.SUPERVISOR), make_user(Role.AGENT)
    delegate(tenant, away, second)
    delegate(tenant, second, third)  # the delegate is away too
    task = pending_task(chain.create().json()["transfer"]["id"])
    third_client = client_for(third)
    assert inbox_ids(third_client) == []
    assert third_client.post(f"/api/tasks/{task.pk}/approve/", {}, format="json").status_code == 403
    assert inbox_ids(client_for(second)) == [task.pk]


def test_a_delegate_holding_a_ballot_of_their_own_decides_once(tenant, make_user, client_for):
    """Quorum of two in a group of three: the delegate of one member is another member. One
    person, one ballot: their own, never a second one for the person they stand in for."""
    chain = Chain(tenant, make_user, client_for, workflows=1)
    extra = make_user(Role.SUPERVISOR)
    from tests.factories import SecurityGroupMemberFactory

    SecurityGroupMemberFactory(security_group=chain.group, user=extra)
    Step.objects.filter(workflow__in=chain.templates).update(
        config={"approvers": {"security_group": chain.group.pk}, "rule": "quorum", "quorum": 2}
    )
    away, both = chain.approvers
    delegate(tenant, away, both)
    transfer_id = chain.create().json()["transfer"]["id"]
    task = pending_task(transfer_id)
    assert inbox_ids(chain.approver_clients[1]) == [task.pk]  # once, though reached twice
    assert chain.approver_clients[1].get("/api/tasks/").json()["count"] == 1

    assert chain.approve(transfer_id, approver=1).status_code == 200
    again = chain.approver_clients[1].post(f"/api/tasks/{task.pk}/approve/", {}, format="json")
    assert again.status_code == 409, again.json()
    ballots = TaskBallot.objects.filter(task=task, decision__isnull=False)
    assert [(b.user_id, b.acted_by_id) for b in ballots] == [(both.pk, None)]
    task.refresh_from_db()
    assert (task.status, task.approvals_count) == (TaskStatus.PENDING, 1)


def test_a_delegate_who_decided_an_earlier_step_cannot_decide_a_step_excluding_them(
    tenant, make_user, client_for
):
    """Step 2 excludes previous deciders. approvers[0] decided step 1 and is the delegate of
    someone who holds a ballot on step 2: refused, and the ballot stays open for its holder."""
    chain = sod_chain(tenant, make_user, client_for)
    decider, holder = chain.approvers
    transfer_id = chain.create().json()["transfer"]["id"]
    assert chain.approve(transfer_id, approver=0).status_code == 200
    second = pending_task(transfer_id)
    delegate(tenant, holder, decider)
    response = chain.approver_clients[0].post(f"/api/tasks/{second.pk}/approve/", {}, format="json")
    assert response.status_code == 403, response.json()
    assert "earlier step" in response.json()["detail"]
    assert not TaskBallot.objects.filter(task=second, decision__isnull=False).exists()
    assert chain.approve(transfer_id, approver=1).status_code == 200


def test_deciding_on_behalf_excludes_both_the_delegate_and_the_delegator_later(
    tenant, make_user, client_for
):
    """approvers[0]'s stand-in (outside the group) decides step 1 for them. Step 2: the holder
    gets no ballot, and the stand-in, delegate of approvers[1] too, cannot decide it."""
    chain = sod_chain(tenant, make_user, client_for)
    first, second_approver = chain.approvers
    stand_in = make_user(Role.SUPERVISOR)
    stand_in_client = client_for(stand_in)
    delegate(tenant, first, stand_in)
    # Only `first` may decide step 1 (their stand-in does, for them).
    Step.objects.filter(workflow=chain.templates[0]).update(
        config={"approvers": {"users": [first.pk]}}
    )
    transfer_id = chain.create().json()["transfer"]["id"]
    task = pending_task(transfer_id)
    assert (
        stand_in_client.post(f"/api/tasks/{task.pk}/approve/", {}, format="json").status_code == 200
    )
    second = pending_task(transfer_id)
    assert set(TaskBallot.objects.filter(task=second).values_list("user_id", flat=True)) == {
        second_approver.pk
    }
    delegate(tenant, second_approver, stand_in)
    response = stand_in_client.post(f"/api/tasks/{second.pk}/approve/", {}, format="json")
    assert response.status_code == 403, response.json()
    assert chain.approve(transfer_id, approver=1).status_code == 200


def test_opening_a_task_mails_the_delegate_too(tenant, make_user, client_for, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    chain = one_approver_chain(tenant, make_user, client_for)
    away, stand_in = chain.approvers[0], make_user(Role.SUPERVISOR, email="standin@example.com")
    delegate(tenant, away, stand_in)
    mail.outbox.clear()
    task = pending_task(chain.create().json()["transfer"]["id"])
    jobs.run_due(now=timezone.now() + timedelta(seconds=1))
    opened = [
        m for m in mail.outbox if m.extra_headers["X-Workflows-Notification"] == "task_opened"
    ]
    assert sorted(m.to[0] for m in opened) == sorted([away.email, stand_in.email])
    assert all(f"/inbox?task={task.pk}" in m.body for m in opened)


@pytest.mark.django_db(transaction=True)
def test_the_holder_and_their_delegate_racing_make_one_decision(tenant, make_user, client_for):
    chain = one_approver_chain(tenant, make_user, client_for)
    away, stand_in = chain.approvers[0], make_user(Role.SUPERVISOR)
    delegate(tenant, away, stand_in)
    task = pending_task(chain.create().json()["transfer"]["id"])
    url = f"/api/tasks/{task.pk}/approve/"
    tokens = [obtain_token(away), obtain_token(stand_in)] * 3
    results = race([post_as(token, url, {"comment": "me"}) for token in tokens])
    statuses = sorted(status for status, _ in results)
    assert statuses.count(200) == 1, results
    assert statuses.count(409) == 5, results
    assert TaskBallot.objects.filter(task=task, decision__isnull=False).count() == 1
    assert StateTransition.objects.filter(object_type="task", object_id=task.pk).count() == 2


SQLITE_SCRIPT = r"""
import django
django.setup()
from datetime import timedelta
from decimal import Decimal
from django.core.management import call_command
from django.utils import timezone

call_command("migrate", verbosity=0)
call_command("seed_demo", verbosity=0)

from accounts.models import Delegation, User
from approvals.services.transfers import transfer_create
from workflows import selectors, services
from workflows.models import HumanTask, TaskBallot

submitter = User.objects.get(email="approver1@demo.example")
away = User.objects.get(email="approver2@demo.example")
tenant = submitter.tenant
transfer = transfer_create(
    tenant=tenant, transfer_type="FAR", reference="SQLITE-D", amount=Decimal("1.00"),
    currency="eur", actor=submitter,
)
task = HumanTask.objects.get(subject_type="transfer", subject_id=transfer.pk, status="pending")
holders = TaskBallot.objects.filter(task=task).values_list("user_id", flat=True)
stand_in = User.objects.filter(tenant=tenant).exclude(role="VIEWER").exclude(pk__in=holders)
stand_in = stand_in.exclude(pk=submitter.pk).first()
Delegation.objects.create(
    tenant=tenant, user=away, delegate=stand_in, starts_at=timezone.now() - timedelta(hours=1),
    ends_at=timezone.now() + timedelta(days=1),
)
inbox = selectors.task_inbox(tenant=tenant, user=stand_in)
assert task.pk in [t.pk for t in inbox[0:50]], "the delegate is offered the task"
services.task_claim(tenant=tenant, task_id=task.pk, actor=stand_in)
services.task_decide(tenant=tenant, task_id=task.pk, decision="approve", actor=stand_in)
ballot = TaskBallot.objects.get(task=task, decision__isnull=False)
got = (ballot.user_id, ballot.acted_by_id)
assert got == (away.pk, stand_in.pk), (got, away.pk, stand_in.pk)
print("EMBEDDED DELEGATION OK")
"""


def test_delegation_and_claims_on_the_embedded_sqlite_default(tmp_path):
    from tests.sqlite_process import run_on_fresh_sqlite

    run_on_fresh_sqlite(SQLITE_SCRIPT, tmp_path, done="EMBEDDED DELEGATION OK")
