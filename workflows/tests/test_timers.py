"""Timers of approval tasks (workflows.engine.timers): reminders, escalation, each on_timeout,
cancelled by a decision, racing pollers, business hours; on a controlled clock."""

from __future__ import annotations

import threading
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import connection, connections
from django.utils import timezone

from accounts.models import Role
from approvals.models import Transfer
from approvals.tests.test_transfers import Chain
from core.tenancy import set_db_context
from tests.factories import WorkflowFactory
from workflows.engine import jobs, timers
from workflows.models import (
    BusinessCalendar,
    HumanTask,
    Job,
    JobStatus,
    RunStatus,
    StateTransition,
    Step,
    StepRunStatus,
    TaskBallot,
    TaskStatus,
    WorkflowRun,
)

GROUP = "__group__"


TIMER_KINDS = (timers.TIMEOUT, timers.REMIND, timers.ESCALATE)


def timer_jobs_done() -> set[int]:
    return set(
        Job.objects.filter(kind__in=TIMER_KINDS, status=JobStatus.DONE).values_list("pk", flat=True)
    )


def poll(at: datetime) -> int:
    """One poll at `at`; how many timer jobs it ran (other jobs, e.g. engine events, may run
    too)."""
    before = timer_jobs_done()
    jobs.run_due(now=at)
    if connection.in_atomic_block:
        set_db_context(bypass=True)
    return len(timer_jobs_done() - before)


def mails(kind: str) -> list:
    return [m for m in mail.outbox if m.extra_headers["X-Workflows-Notification"] == kind]


def make_chain(tenant, make_user, client_for, workflows=1, **timer_config):
    chain = Chain(tenant, make_user, client_for, workflows=workflows)
    Step.objects.filter(workflow__in=chain.templates).update(
        config={"approvers": {"security_group": chain.group.pk}, **timer_config}
    )
    return chain


def open_task(chain) -> tuple[int, HumanTask]:
    response = chain.create()
    assert response.status_code == 201, response.json()
    transfer_id = response.json()["transfer"]["id"]
    task = HumanTask.objects.get(subject_id=transfer_id, status=TaskStatus.PENDING)
    mail.outbox.clear()
    return transfer_id, task


def live_keys(task) -> set[str]:
    return set(
        Job.objects.filter(
            key__startswith=f"task:{task.pk}:", status=JobStatus.SCHEDULED
        ).values_list("key", flat=True)
    )


def timer_rows(task):
    return list(
        StateTransition.objects.filter(object_type="task_timer", object_id=task.pk)
        .order_by("id")
        .values_list("to_status", "comment")
    )


# --- config ---------------------------------------------------------------------------------


def post_step(client, config):
    workflow = WorkflowFactory(tenant=client.tenant)
    return client.post(
        f"/api/workflows/{workflow.id}/steps/",
        {"name": "Approve", "order": 0, "action": "approval", "config": config},
        format="json",
    )


@pytest.fixture
def admin_api(admin_client, tenant):
    admin_client.tenant = tenant
    return admin_client


BASE = {"approvers": {"role": "SUPERVISOR"}}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ({"remind_every_hours": 4}, "remind_every_hours"),  # no due_in_hours
        ({"on_timeout": "reject"}, "on_timeout"),
        ({"due_in_hours": 8, "on_timeout": "later"}, "on_timeout"),
        ({"due_in_hours": 8, "on_timeout": "escalate"}, "escalate_to"),
        ({"due_in_hours": 8, "escalate_after_hours": 2}, "escalate_to"),
        ({"due_in_hours": 8, "escalate_to": {"role": "ADMIN"}}, "escalate_to"),
        ({"due_in_hours": 8, "remind_every_hours": 0}, "remind_every_hours"),
        ({"due_in_hours": 8, "remind_every_hours": 24 * 366}, "remind_every_hours"),
        (
            {"due_in_hours": 8, "escalate_after_hours": -1, "escalate_to": {"role": "ADMIN"}},
            "escalate_after_hours",
        ),
        ({"due_in_hours": 8, "business_hours": True}, "business_hours"),  # no default calendar
        ({"due_in_hours": 8, "business_hours": "yes please"}, "business_hours"),
    ],
)
def test_bad_timer_config_is_a_400_naming_the_field(admin_api, extra, key):
    response = post_step(admin_api, {**BASE, **extra})
    assert response.status_code == 400, response.json()
    assert key in response.json()["config"], response.json()
    assert not Step.objects.exists()


@pytest.mark.django_db
def test_good_timer_config_is_stored(admin_api, tenant):
    BusinessCalendar.objects.create(
        tenant=tenant, name="Office", start_time=time(9), end_time=time(17), is_default=True
    )
    config = {
        **BASE,
        "due_in_hours": 24,
        "remind_every_hours": 4,
        "escalate_after_hours": 8,
        "escalate_to": {"role": "ADMIN"},
        "on_timeout": "escalate",
        "business_hours": True,
    }
    response = post_step(admin_api, config)
    assert response.status_code == 201, response.json()
    stored = Step.objects.get(pk=response.json()["id"]).config
    assert {k: stored[k] for k in config} == config


# --- firing ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_reminders_go_to_open_ballots_and_repeat(tenant, make_user, client_for):
    chain = make_chain(tenant, make_user, client_for, due_in_hours=48, remind_every_hours=8)
    transfer_id, task = open_task(chain)
    assert live_keys(task) == {f"task:{task.pk}:remind:1"}  # no on_timeout: no due job
    t0 = timezone.now()
    assert poll(t0 + timedelta(hours=7)) == 0
    assert mails("task_due_soon") == []
    assert poll(t0 + timedelta(hours=8, minutes=1)) == 1
    reminded = mails("task_due_soon")
    assert sorted(m.to[0] for m in reminded) == sorted(u.email for u in chain.approvers)
    assert live_keys(task) == {f"task:{task.pk}:remind:2"}
    assert timer_rows(task) == [("reminded", "Reminder 1: 2 open ballot(s)")]
    # One approver decides (rule all keeps the task open? rule any closes it): reminders stop.
    mail.outbox.clear()
    assert chain.approve(transfer_id).status_code == 200
    assert live_keys(task) == set()
    assert poll(t0 + timedelta(hours=17)) == 0
    assert mails("task_due_soon") == []


@pytest.mark.django_db
def test_escalation_adds_ballots_and_notifies(tenant, make_user, client_for):
    boss = make_user(Role.ADMIN, tenant=tenant)
    chain = make_chain(
        tenant,
        make_user,
        client_for,
        due_in_hours=24,
        escalate_after_hours=4,
        escalate_to={"users": [boss.pk]},
    )
    _, task = open_task(chain)
    assert live_keys(task) == {f"task:{task.pk}:escalate"}
    assert poll(timezone.now() + timedelta(hours=4, minutes=1)) == 1
    task.refresh_from_db()
    assert task.status == TaskStatus.PENDING
    assert task.eligible_count == 3
    assert TaskBallot.objects.filter(task=task, user=boss, decision__isnull=True).exists()
    assert [m.to[0] for m in mails("task_escalated")] == [boss.email]
    assert timer_rows(task) == [("escalated", "Escalated: 1 more approver(s)")]
    # The escalated approver can now decide.
    response = client_for(boss).post(
        f"/api/tasks/{task.pk}/approve/", {"comment": "ok"}, format="json"
    )
    assert response.status_code == 200, response.json()
    task.refresh_from_db()
    assert task.status == TaskStatus.APPROVED
    assert task.decided_by_id == boss.pk


@pytest.mark.django_db
def test_escalation_keeps_separation_of_duties(tenant, make_user, client_for):
    """The second workflow excludes previous deciders and escalates to both approvers: the one
    who approved the first workflow gets no ballot from the escalation either."""
    chain = make_chain(tenant, make_user, client_for, workflows=2)
    first, second = chain.approvers
    boss = make_user(Role.ADMIN, tenant=tenant)
    Step.objects.filter(workflow=chain.templates[1]).update(
        config={
            "approvers": {"users": [second.pk]},
            "exclude_previous_deciders": True,
            "due_in_hours": 24,
            "escalate_after_hours": 4,
            "escalate_to": {"users": [first.pk, boss.pk]},
        }
    )
    transfer_id, _ = open_task(chain)
    assert chain.approve(transfer_id, approver=0).status_code == 200
    task = HumanTask.objects.get(subject_id=transfer_id, status=TaskStatus.PENDING)
    assert poll(timezone.now() + timedelta(hours=4, minutes=1)) == 1
    holders = set(TaskBallot.objects.filter(task=task).values_list("user_id", flat=True))
    assert holders == {second.pk, boss.pk}
    task.refresh_from_db()
    assert task.eligible_count == 2


def timed_out(task):
    return StateTransition.objects.filter(
        object_type="task", object_id=task.pk, comment="Timed out"
    ).values_list("from_status", "to_status")


@pytest.mark.django_db
def test_on_timeout_reject_closes_the_task_as_the_system(tenant, make_user, client_for):
    chain = make_chain(
        tenant, make_user, client_for, due_in_hours=8, on_timeout="reject", remind_every_hours=6
    )
    transfer_id, task = open_task(chain)
    assert live_keys(task) == {f"task:{task.pk}:due", f"task:{task.pk}:remind:1"}
    assert poll(task.due_at - timedelta(seconds=1)) == 1  # only the reminder is due
    assert poll(task.due_at) == 1
    task.refresh_from_db()
    assert task.status == TaskStatus.REJECTED
    assert task.decided_by_id is None
    assert list(timed_out(task)) == [("pending", "rejected")]
    assert not TaskBallot.objects.filter(task=task, decision__isnull=True).exists()
    assert live_keys(task) == set()  # the next reminder was cancelled with the task
    run = WorkflowRun.objects.get(pk=task.run_id)
    assert run.status == RunStatus.REJECTED
    assert Transfer.objects.get(pk=transfer_id).status == "rejected"


@pytest.mark.django_db
def test_on_timeout_approve_moves_the_chain_on(tenant, make_user, client_for):
    chain = make_chain(
        tenant, make_user, client_for, workflows=2, due_in_hours=8, on_timeout="approve"
    )
    transfer_id, task = open_task(chain)
    assert poll(task.due_at + timedelta(minutes=1)) == 1
    task.refresh_from_db()
    assert task.status == TaskStatus.APPROVED
    assert list(timed_out(task)) == [("pending", "approved")]
    assert task.step_run.status == StepRunStatus.COMPLETED
    assert task.step_run.result == {"decision": "approved", "timed_out": True}
    # The next run's task is open, with its own due job.
    following = HumanTask.objects.get(subject_id=transfer_id, status=TaskStatus.PENDING)
    assert following.run.sequence == 2
    assert live_keys(following) == {f"task:{following.pk}:due"}


@pytest.mark.django_db
def test_on_timeout_fail_fails_the_step_and_run(tenant, make_user, client_for):
    chain = make_chain(tenant, make_user, client_for, due_in_hours=8, on_timeout="fail")
    _, task = open_task(chain)
    assert poll(task.due_at) == 1
    task.refresh_from_db()
    assert task.status == TaskStatus.CANCELLED
    assert task.step_run.status == StepRunStatus.FAILED
    assert task.step_run.last_error == "Timed out"
    assert WorkflowRun.objects.get(pk=task.run_id).status == RunStatus.FAILED
    assert list(timed_out(task)) == [("pending", "cancelled")]


@pytest.mark.django_db
def test_on_timeout_escalate(tenant, make_user, client_for):
    boss = make_user(Role.ADMIN, tenant=tenant)
    chain = make_chain(
        tenant,
        make_user,
        client_for,
        due_in_hours=8,
        on_timeout="escalate",
        escalate_to={"users": [boss.pk]},
    )
    _, task = open_task(chain)
    assert poll(task.due_at) == 1
    task.refresh_from_db()
    assert task.status == TaskStatus.PENDING
    assert task.eligible_count == 3
    assert timer_rows(task) == [("escalated", "Timed out, escalated: 1 more approver(s)")]
    assert [m.to[0] for m in mails("task_escalated")] == [boss.email]


@pytest.mark.django_db
def test_a_task_decided_before_its_deadline_fires_nothing(tenant, make_user, client_for):
    chain = make_chain(
        tenant, make_user, client_for, due_in_hours=8, on_timeout="reject", remind_every_hours=1
    )
    transfer_id, task = open_task(chain)
    assert chain.approve(transfer_id).status_code == 200
    assert live_keys(task) == set()
    assert Job.objects.filter(key__startswith=f"task:{task.pk}:").count() == 2
    assert poll(task.due_at + timedelta(hours=1)) == 0
    # A poller that claimed the job just before the decision: the handler finds the task
    # closed and writes nothing.
    Job.objects.filter(key=f"task:{task.pk}:due").update(status=JobStatus.SCHEDULED)
    before = StateTransition.objects.count()
    assert poll(task.due_at + timedelta(hours=1)) == 1
    assert StateTransition.objects.count() == before
    task.refresh_from_db()
    assert task.status == TaskStatus.APPROVED
    assert mails("task_due_soon") == []


@pytest.mark.django_db
def test_cancelling_the_run_cancels_the_timers(tenant, make_user, client_for):
    chain = make_chain(tenant, make_user, client_for, due_in_hours=8, on_timeout="approve")
    _, task = open_task(chain)
    assert live_keys(task) == {f"task:{task.pk}:due"}
    response = client_for(make_user(Role.SUPERVISOR)).post(
        f"/api/runs/{task.run_id}/cancel/", {"comment": "dup"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert live_keys(task) == set()
    assert poll(task.due_at) == 0


@pytest.mark.django_db(transaction=True)
def test_two_racing_pollers_fire_each_timer_once(tenant, make_user, client_for):
    chain = make_chain(
        tenant, make_user, client_for, due_in_hours=8, on_timeout="reject", remind_every_hours=4
    )
    _, task = open_task(chain)
    mail.outbox.clear()
    start, ran = threading.Barrier(2), []

    def poller() -> None:
        try:
            start.wait()
            ran.append(jobs.run_due(now=task.due_at + timedelta(minutes=1)))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=poller) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(ran) >= 2  # the first reminder and the due job (and any other job due)
    task.refresh_from_db()
    assert task.status == TaskStatus.REJECTED
    assert list(timed_out(task)) == [("pending", "rejected")]
    # The reminder mails each approver once, or nobody if the due job closed the task first
    # (the pollers may split the two jobs).
    recipients = sorted(m.to[0] for m in mails("task_due_soon"))
    assert recipients in ([], sorted(u.email for u in chain.approvers))
    done = Job.objects.filter(key__startswith=f"task:{task.pk}:", status=JobStatus.DONE)
    assert done.count() == 2


# --- business hours -------------------------------------------------------------------------

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.django_db
def test_business_hours_skip_a_weekend_and_a_holiday_in_the_calendars_zone(
    tenant, make_user, client_for
):
    BusinessCalendar.objects.create(
        tenant=tenant,
        name="Paris office",
        time_zone="Europe/Paris",
        start_time=time(9),
        end_time=time(17),
        holidays=[{"date": "2026-06-08", "name": "Whit Monday"}],
        is_default=True,
    )
    config = {"due_in_hours": 3, "business_hours": True, "on_timeout": "reject"}
    # Friday 16:00 in Paris: one hour that day, then Monday is a holiday: Tuesday 11:00.
    friday = datetime(2026, 6, 5, 16, tzinfo=PARIS)
    assert timers.due_time(tenant.pk, config, friday) == datetime(2026, 6, 9, 11, tzinfo=PARIS)
    assert timers.due_time(tenant.pk, {"due_in_hours": 3}, friday) == friday + timedelta(hours=3)
    # A task opened now has its due time (and its due job) on the calendar.
    chain = make_chain(tenant, make_user, client_for, **config)
    _, task = open_task(chain)
    expected = timers.due_time(tenant.pk, config, task.created_at)
    assert task.due_at == expected
    assert Job.objects.get(key=f"task:{task.pk}:due").due_at == expected


@pytest.mark.django_db
def test_business_hours_without_a_default_calendar_count_wall_clock_hours(tenant):
    config = {"due_in_hours": 3, "business_hours": True}
    friday = datetime(2026, 6, 5, 16, tzinfo=PARIS)
    assert timers.due_time(tenant.pk, config, friday) == friday + timedelta(hours=3)


@pytest.mark.django_db
def test_timers_cost_one_statement_where_a_task_opens_and_none_where_it_closes(
    tenant, make_user, client_for
):
    """The budget of test_engine_statement_budget_per_transfer (3 to create, 2 per decision)
    plus the held job inserts, sent after the task's statement: one more where a task opens;
    the cancel travels with the closing statement."""
    from decimal import Decimal

    from django.test.utils import CaptureQueriesContext

    from approvals.services.transfers import transfer_create, transfer_decide

    chain = make_chain(
        tenant,
        make_user,
        client_for,
        workflows=2,
        due_in_hours=8,
        on_timeout="reject",
        remind_every_hours=2,
    )

    def work(captured):
        return [q for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]

    with CaptureQueriesContext(connection) as create:
        transfer = transfer_create(
            tenant=tenant,
            transfer_type="FAR",
            reference="BUDGET-T",
            amount=Decimal("10.00"),
            currency="EUR",
            security_group_id=chain.group.pk,
            actor=chain.submitter,
        )
    assert len(work(create)) == 4
    first = HumanTask.objects.get(subject_id=transfer.pk, status=TaskStatus.PENDING)
    assert live_keys(first) == {f"task:{first.pk}:due", f"task:{first.pk}:remind:1"}
    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as decide:
            transfer_decide(
                tenant=tenant, transfer_id=transfer.pk, decision="approve", actor=chain.approvers[0]
            )
        counts.append(len(work(decide)))
    assert counts == [3, 2]  # the second task opens (jobs: +1); the last closes (cancel: +0)
    assert not Job.objects.filter(kind__in=TIMER_KINDS, status=JobStatus.SCHEDULED).exists()
