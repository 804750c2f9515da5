"""Engine events end to end (issue 13 Part B item 5): the unit of work writes one
`engine.event` job per event inside the statements it sends anyway; the poller turns them into
signed webhook deliveries (a local HTTP server answers) and `task_opened` emails (locmem)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals.tests.test_transfers import Chain
from workflows import event_handlers, notifications, webhook_delivery
from workflows.engine import events, jobs
from workflows.models import (
    DeliveryStatus,
    HumanTask,
    Job,
    JobStatus,
    WebhookDelivery,
    WebhookSubscription,
)
from workflows.tests.test_jobs import poll
from workflows.tests.webhook_server import WebhookServer

pytestmark = pytest.mark.django_db
ALL_EVENTS = list(webhook_delivery.EVENTS)


@pytest.fixture
def chain(tenant, make_user, client_for):
    return Chain(tenant, make_user, client_for, workflows=2)


def subscribe(tenant, url, events=ALL_EVENTS):
    return WebhookSubscription.objects.create(
        tenant=tenant, url=url, events=list(events), secret=webhook_delivery.new_secret()
    )


def event_jobs(tenant):
    return Counter(
        Job.objects.filter(tenant_id=tenant.pk, kind=events.JOB_KIND).values_list(
            "payload__event", flat=True
        )
    )


def drain() -> None:
    """Poll until nothing is due (an event's job schedules its deliveries' jobs)."""
    for _ in range(10):
        if not poll():
            return
    raise AssertionError("jobs keep coming")


def _work(captured):
    return [q for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]


def test_events_travel_in_the_operations_statements(tenant, chain):
    """Creating a transfer stays 3 statements and a decision 2, with their events' jobs."""
    from approvals.services.transfers import transfer_create, transfer_decide

    with CaptureQueriesContext(connection) as create:
        transfer = transfer_create(
            tenant=tenant,
            transfer_type="FAR",
            reference="EV-1",
            amount="10.00",
            currency="EUR",
            security_group_id=chain.group.pk,
            actor=chain.submitter,
        )
    assert len(_work(create)) == 3
    assert event_jobs(tenant) == {"task.created": 1}
    task = HumanTask.objects.get(subject_id=transfer.pk)
    job = Job.objects.get(kind=events.JOB_KIND)
    assert job.key == f"event:task.created:step_run:{task.step_run_id}"
    assert job.payload["run_id"] == task.run_id
    assert job.payload["subject"] == {"type": "transfer", "id": transfer.pk}

    with CaptureQueriesContext(connection) as decide:
        transfer_decide(
            tenant=tenant, transfer_id=transfer.pk, decision="approve", actor=chain.approvers[0]
        )
    assert len(_work(decide)) == 2
    assert event_jobs(tenant) == {"task.created": 2, "task.decided": 1, "run.completed": 1}
    assert Job.objects.filter(key=f"event:task.decided:task:{task.pk}").exists()
    assert Job.objects.filter(key=f"event:run.completed:run:{task.run_id}").exists()

    with CaptureQueriesContext(connection) as last:
        transfer_decide(
            tenant=tenant, transfer_id=transfer.pk, decision="approve", actor=chain.approvers[0]
        )
    assert len(_work(last)) == 2
    assert event_jobs(tenant) == {
        "task.created": 2,
        "task.decided": 2,
        "run.completed": 2,
        "transfer.approved": 1,
    }
    assert Job.objects.filter(key=f"event:transfer.approved:transfer:{transfer.pk}").exists()


def test_a_rolled_back_operation_leaves_no_event(tenant, chain):
    response = chain.create("EV-RB", amount="not a number")
    assert response.status_code == 400
    assert event_jobs(tenant) == {}


def test_a_subscriber_receives_each_event_once_and_the_approvers_are_mailed(
    tenant, chain, settings
):
    settings.WORKFLOWS_CONSOLE_URL = "https://workflows.example.test"
    with WebhookServer([200]) as server:
        subscription = subscribe(tenant, server.url)
        subscribe(tenant, server.url + "?runs", events=["run.failed"])  # never fires here
        response = chain.create("EV-2")
        assert response.status_code == 201, response.content
        transfer_id = response.json()["transfer"]["id"]
        mail.outbox.clear()
        drain()

        # task.created: one email per approver holding a ballot, with a working link.
        first = HumanTask.objects.get(subject_id=transfer_id)
        assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in chain.approvers)
        for message in mail.outbox:
            assert notifications.task_link(first.pk) in message.body
            assert f"/inbox?task={first.pk}" in message.alternatives[0][0]
        assert [r["headers"]["X-Workflows-Event"] for r in server.requests] == ["task.created"]

        for _ in range(2):
            assert chain.approve(transfer_id).status_code == 200
            drain()
        assert len(mail.outbox) == 4  # the second task's two approvers too

        received = Counter(r["headers"]["X-Workflows-Event"] for r in server.requests)
        assert received == {
            "task.created": 2,
            "task.decided": 2,
            "run.completed": 2,
            "transfer.approved": 1,
        }
        keys = [r["headers"]["X-Workflows-Delivery"] for r in server.requests]
        assert len(keys) == len(set(keys))
        tasks = HumanTask.objects.filter(subject_id=transfer_id).order_by("pk")
        assert {f"event:task.created:task:{t.pk}" for t in tasks} <= set(keys)
        assert f"event:transfer.approved:transfer:{transfer_id}" in keys
        approved = next(
            r for r in server.requests if r["headers"]["X-Workflows-Event"] == "transfer.approved"
        )
        body = json.loads(approved["body"])
        assert body["delivery"] == f"event:transfer.approved:transfer:{transfer_id}"
        assert body["data"]["status"] == "approved"
        assert body["data"]["subject"]["id"] == transfer_id
        assert body["data"]["subject"]["type"] == "transfer"
        assert set(
            WebhookDelivery.objects.filter(subscription=subscription).values_list(
                "status", flat=True
            )
        ) == {DeliveryStatus.DELIVERED}

        # Every job again (a poller that died after the POST, an event emitted twice): no
        # second POST, no second mail.
        posted, mailed = len(server.requests), len(mail.outbox)
        for job in Job.objects.filter(status=JobStatus.DONE).order_by("pk"):
            jobs.schedule(tenant_id=job.tenant_id, kind=job.kind, payload=job.payload, key=job.key)
        drain()
        assert len(server.requests) == posted
        assert len(mail.outbox) == mailed
        assert WebhookDelivery.objects.count() == 7


def test_a_failing_receiver_is_retried_with_the_policy_then_given_up(tenant, chain):
    """Each attempt is in the delivery log; the next is due after the policy's back-off."""
    policy = event_handlers.DELIVERY_RETRY
    with WebhookServer([503]) as server:
        subscribe(tenant, server.url, events=["task.created"])
        assert chain.create("EV-3").status_code == 201
        poll()  # the event: one delivery and its first job
        delivery = WebhookDelivery.objects.get()
        before = after = timezone.now()
        for attempt in range(1, policy.max_attempts + 1):
            job = Job.objects.get(kind=event_handlers.DELIVER_KIND, status=JobStatus.SCHEDULED)
            assert job.key == f"webhook.deliver:{delivery.pk}:{attempt}"
            if attempt > 1:  # the policy's back-off after the previous attempt
                wait = timedelta(seconds=policy.delay(attempt - 1))
                assert before + wait <= job.due_at <= after + wait
            before = timezone.now()
            assert poll(now=job.due_at) == 1
            after = timezone.now()
            delivery.refresh_from_db()
            assert delivery.attempts == attempt
            assert delivery.last_status_code == 503
            assert Job.objects.get(pk=job.pk).status == JobStatus.DONE
            if attempt < policy.max_attempts:
                assert delivery.status == DeliveryStatus.RETRYING
        assert len(server.requests) == policy.max_attempts
        assert delivery.status == DeliveryStatus.FAILED
        assert not Job.objects.filter(status=JobStatus.SCHEDULED).exists()
        assert policy.max_attempts == 5
        assert [policy.delay(n) for n in range(1, 5)] == [10, 20, 40, 80]


def test_a_form_task_mails_the_people_of_its_roles(tenant, other_tenant, make_user):
    from accounts.models import Role
    from workflows.tests.engine_helpers import open_task, start
    from workflows.tests.test_inbox_open_work import form_workflow

    agent, supervisor = make_user(Role.AGENT), make_user(Role.SUPERVISOR)
    make_user(Role.VIEWER)
    make_user(Role.AGENT, tenant=other_tenant)
    inactive = make_user(Role.AGENT)
    inactive.is_active = False
    inactive.save(update_fields=["is_active"])
    run = start(tenant, form_workflow(tenant))
    task = open_task(run)
    from workflows.engine.human import awaited_by, opened_task_audience

    assert awaited_by(task) != []
    assert opened_task_audience(tenant.pk, task.step_run_id) == (task.pk, awaited_by(task))
    mail.outbox.clear()
    drain()
    mailed = {m.to[0] for m in mail.outbox}
    assert {agent.email, supervisor.email} <= mailed
    assert inactive.email not in mailed
    assert all(
        u.role in ("ADMIN", "SUPERVISOR", "AGENT") and u.tenant_id == tenant.pk and u.is_active
        for u in type(agent).objects.filter(email__in=mailed)
    )
    assert all(notifications.task_link(task.pk) in m.body for m in mail.outbox)


def test_a_failed_run_is_a_run_failed_event(tenant):
    from workflows.models import RunStatus
    from workflows.tests.engine_helpers import approval_workflow, start

    with WebhookServer([200]) as server:
        subscribe(tenant, server.url, events=["run.failed"])
        # Nobody holds the role: the task cannot be decided, the step and the run fail.
        run = start(tenant, approval_workflow(tenant, {"approvers": {"role": "VIEWER"}}))
        run.refresh_from_db()
        assert run.status == RunStatus.FAILED
        assert Job.objects.filter(key=f"event:run.failed:run:{run.pk}").exists()
        drain()
        assert [r["headers"]["X-Workflows-Event"] for r in server.requests] == ["run.failed"]
        body = json.loads(server.requests[0]["body"])
        assert body["data"]["run"]["id"] == run.pk
        assert body["data"]["status"] == RunStatus.FAILED


def test_an_operations_events_are_one_insert_with_one_json_parameter(tenant):
    """However many events an operation records, their jobs go out as one INSERT whose rows
    are one JSON parameter: a statement of over 50 parameters is parsed again by psycopg on
    every run, which cost a transfer half again as many Python instructions."""
    made = [
        events.Event("run.completed", "run", 1000 + n, "completed", run_id=1000 + n)
        for n in range(30)
    ]
    (statement,) = events.job_statements(tenant.pk, made)
    sql, params = statement
    assert len(params) == 2
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        cursor.execute(sql, params)  # the same keys again: nothing more (live keys)
    keys = set(
        Job.objects.filter(tenant_id=tenant.pk, kind=events.JOB_KIND).values_list("key", flat=True)
    )
    assert keys == {event.key for event in made}
    assert Job.objects.filter(tenant_id=tenant.pk, kind=events.JOB_KIND).count() == 30


def test_the_insert_writes_each_events_payload_and_key_as_python_spells_them(tenant):
    """PostgreSQL builds the jobs' payloads and keys from the events' fields: the same as
    `Event.payload()` and `Event.key` (which the SQLite path writes), for every shape."""
    made = [
        events.from_move("task", 7, "pending", "approved"),
        events.from_move("run", 8, "running", "failed"),
        events.from_move("transfer", 9, "pending", "rejected"),
        events.Event("task.created", "task", 10, "pending", 11, "transfer", 12, True),
        events.Event("task.created", "task", 13, "pending", None, "transfer", None, True),
        events.Event("task.created", "task", 14, "pending", 15, "", None, True),
    ]
    assert None not in made
    (statement,) = events.job_statements(tenant.pk, made)
    with connection.cursor() as cursor:
        cursor.execute(*statement)
    written = dict(
        Job.objects.filter(tenant_id=tenant.pk, kind=events.JOB_KIND).values_list("key", "payload")
    )
    assert written == {event.key: event.payload() for event in made}
    assert not Job.objects.filter(tenant_id=tenant.pk, kind=events.JOB_KIND, due_at=None).exists()


def test_without_a_subscriber_an_event_reads_no_webhook_payload(tenant, chain, monkeypatch):
    """The approvers are still mailed and the metrics counted; `describe` (the webhook
    payload: 3 or 4 queries an event) runs only for a tenant subscribed to the event."""
    from workflows import metrics

    described, counted = [], []
    real_describe, real_count = event_handlers.describe, metrics.count_event
    monkeypatch.setattr(
        event_handlers, "describe", lambda *a: described.append(a) or real_describe(*a)
    )
    monkeypatch.setattr(metrics, "count_event", lambda *a: counted.append(a) or real_count(*a))
    subscribe(tenant, "https://example.test/hook", events=["run.completed"])  # not task.created
    mail.outbox.clear()
    chain.create("NS-1")
    drain()
    assert {m.to[0] for m in mail.outbox} == {a.email for a in chain.approvers}
    assert "task.created" in {event for event, _ in counted}
    assert described == []  # no run completed; task.created has no subscriber
    assert not WebhookDelivery.objects.exists()


def test_a_batch_of_events_reads_the_tenants_subscribers_once_per_event(tenant, chain, monkeypatch):
    """Three transfers' `task.created` events run in one batch (one tenant, one transaction):
    the subscriptions are read once for them, and each still makes its delivery."""
    from workflows import webhook_delivery

    reads = []
    real = webhook_delivery.subscribers
    monkeypatch.setattr(webhook_delivery, "subscribers", lambda *a: reads.append(a) or real(*a))
    subscribe(tenant, "https://example.test/hook", events=["task.created"])
    for n in range(3):
        chain.create(f"BM-{n}")
    drain()
    assert reads == [(tenant.pk, "task.created")]
    assert WebhookDelivery.objects.filter(event="task.created").count() == 3
