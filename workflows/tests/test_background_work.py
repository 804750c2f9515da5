"""Who runs delayed work: nothing waits inside a request; a retry is a job that `run_jobs`
(no broker), the relay's loop or the Celery task runs when due (issue 13 Part A item 5)."""

from __future__ import annotations

import dataclasses
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import OperationalError
from django.utils import timezone

from accounts.models import Role
from core.tenancy import set_db_context
from tests.factories import CaseFactory, StepFactory, WorkflowFactory
from workflows.engine import automation, jobs, outbox
from workflows.engine.registry import registry
from workflows.engine.retry import RetryPolicy
from workflows.models import Job, JobStatus, OutboxEvent, RunStatus, StepRun, StepRunStatus
from workflows.tasks import run_due_jobs
from workflows.tests.engine_helpers import start
from workflows.tests.test_automation import automated_workflow
from workflows.tests.webhook_server import WebhookServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_sleep(monkeypatch):
    """Any sleep in this process fails the test (the webhook server does not sleep here)."""
    slept: list[float] = []

    def sleep(seconds):
        slept.append(seconds)
        raise AssertionError(f"slept {seconds}s")

    monkeypatch.setattr(time, "sleep", sleep)
    return slept


def test_a_failing_automated_step_answers_at_once_and_run_jobs_retries_it_later(
    tenant, settings, make_user, client_for, no_sleep, django_capture_on_commit_callbacks, capsys
):
    settings.CELERY_BROKER_URL = ""  # the embedded default: the first attempt runs in-process
    settings.WORKFLOWS_RETRY_BASE_SECONDS = 30
    agent = make_user(Role.AGENT)
    client = client_for(agent)
    with WebhookServer([503, 200]) as server:
        workflow = WorkflowFactory(tenant=tenant, name="Notify")
        StepFactory(workflow=workflow, order=0, action="webhook", config={"url": server.url})
        case = CaseFactory(tenant=tenant)
        before = timezone.now()
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/api/cases/{case.pk}/runs/", {"workflow": workflow.pk}, format="json"
            )
        assert response.status_code == 201, response.content
        # The first attempt ran after commit and failed; its retry did not happen in the
        # request: it is a job, due after the policy's back-off.
        assert len(server.requests) == 1
        step = StepRun.objects.get(run_id=response.json()["id"])
        assert (step.status, step.attempts) == (StepRunStatus.RUNNING, 1)
        assert step.last_error == f"HTTP 503 from {server.url}"
        (job,) = Job.objects.filter(kind=automation.RETRY_KIND)
        assert job.status == JobStatus.SCHEDULED
        assert job.key == f"step_run:{step.pk}:retry"
        assert (
            before + timedelta(seconds=30) <= job.due_at <= timezone.now() + timedelta(seconds=30)
        )
        assert no_sleep == []

        # Not due yet: a poller leaves it.
        call_command("run_jobs", "--once")
        assert "ran 0 job(s)" in capsys.readouterr().out
        assert len(server.requests) == 1

        # Later (the back-off is over), `run_jobs --once` runs it: attempt 2 succeeds.
        Job.objects.filter(pk=job.pk).update(due_at=timezone.now() - timedelta(seconds=1))
        with django_capture_on_commit_callbacks(execute=True):
            call_command("run_jobs", "--once")
        assert "ran 1 job(s)" in capsys.readouterr().out
    set_db_context(bypass=True)
    assert len(server.requests) == 2
    step.refresh_from_db()
    assert (step.status, step.attempts) == (StepRunStatus.COMPLETED, 2)
    assert step.run.status == RunStatus.COMPLETED
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert no_sleep == []


def test_the_retry_job_of_a_step_that_moved_on_does_nothing(
    tenant, django_capture_on_commit_callbacks
):
    with WebhookServer([500, 200]) as server:
        workflow = automated_workflow(tenant, "webhook", {"url": server.url})
        with django_capture_on_commit_callbacks(execute=True):
            run = start(tenant, workflow)
        step = StepRun.objects.get(run=run)
        (job,) = Job.objects.filter(kind=automation.RETRY_KIND, status=JobStatus.SCHEDULED)
        StepRun.objects.filter(pk=step.pk).update(status=StepRunStatus.CANCELLED)
        with django_capture_on_commit_callbacks(execute=True):
            assert jobs.run_due() == 1
    set_db_context(bypass=True)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert len(server.requests) == 1
    assert OutboxEvent.objects.filter(dispatched_at__isnull=True).count() == 0


def test_an_actions_retry_policy_and_a_steps_max_attempts(
    tenant, monkeypatch, django_capture_on_commit_callbacks
):
    spec = registry.get("webhook")
    policy = RetryPolicy(initial_delay=7, coefficient=1, max_delay=7, max_attempts=2)
    monkeypatch.setitem(registry._actions, "webhook", dataclasses.replace(spec, retry=policy))
    with WebhookServer([500, 500, 500, 500]) as server:
        two = automated_workflow(tenant, "webhook", {"url": server.url})
        with django_capture_on_commit_callbacks(execute=True):
            run = start(tenant, two)
        step = StepRun.objects.get(run=run)
        (job,) = Job.objects.filter(key=automation.retry_key(step.pk))
        assert (job.due_at - step.started_at).total_seconds() >= 7  # the action's policy
        with django_capture_on_commit_callbacks(execute=True):
            jobs.run_due(now=timezone.now() + timedelta(seconds=8))
        set_db_context(bypass=True)
        step.refresh_from_db()
        assert step.status == StepRunStatus.FAILED  # the policy's 2 attempts
        assert step.last_error.startswith("Gave up after 2 attempts")
        # A step's own max_attempts overrides the policy's attempts (not its delays).
        step_run = StepRun(action="webhook", config={"max_attempts": 4})
        assert automation.retry_policy(step_run) == dataclasses.replace(policy, max_attempts=4)
    assert len(server.requests) == 2


def test_the_sweep_leaves_a_step_waiting_for_its_retry_job_alone(
    tenant, settings, django_capture_on_commit_callbacks
):
    settings.WORKFLOWS_SWEEP_AFTER_SECONDS = 30
    settings.WORKFLOWS_RETRY_BASE_SECONDS = 300
    with WebhookServer([500, 200]) as server:
        workflow = automated_workflow(tenant, "webhook", {"url": server.url})
        with django_capture_on_commit_callbacks(execute=True):
            run = start(tenant, workflow)
        set_db_context(bypass=True)
        step = StepRun.objects.get(run=run)
        long_ago = timezone.now() - timedelta(hours=1)
        StepRun.objects.filter(pk=step.pk).update(started_at=long_ago)
        OutboxEvent.objects.update(dispatched_at=long_ago)
        assert outbox.sweep() == 0  # its retry job will move it: the back-off holds
        Job.objects.update(status=JobStatus.FAILED)  # that job is gone: now the sweep acts
        assert outbox.sweep() == 1
    assert len(server.requests) == 1


def test_the_relay_loop_polls_the_due_jobs(settings, monkeypatch, tenant):
    settings.CELERY_BROKER_URL = "amqp://guest:guest@127.0.0.1:1//"  # no event: never reached
    ran: list[int] = []
    jobs.register_job("test.relay", lambda job: ran.append(job.pk))
    try:
        job = jobs.schedule(tenant_id=tenant.pk, kind="test.relay", payload={})
        sleeps: list[float] = []

        def sleep(seconds):
            sleeps.append(seconds)

        outbox.run_relay(sleep=sleep, sweep_every=3600, should_stop=lambda: len(sleeps) >= 1)
    finally:
        jobs.unregister_job("test.relay")
    assert ran == [job.pk]


def test_the_celery_task_polls_the_due_jobs(tenant):
    ran: list[int] = []
    jobs.register_job("test.celery", lambda job: ran.append(job.pk))
    try:
        job = jobs.schedule(tenant_id=tenant.pk, kind="test.celery", payload={})
        assert run_due_jobs.apply().get() == 1
    finally:
        jobs.unregister_job("test.celery")
    assert ran == [job.pk]


class Stop(BaseException):
    pass


def test_the_poller_survives_a_lost_database_and_says_so(monkeypatch, caplog):
    polls: list[int] = []
    sleeps: list[float] = []

    def run_due(**kwargs):
        polls.append(1)
        if len(polls) <= 2:
            raise OperationalError("server closed the connection unexpectedly")
        return 0

    def sleep(seconds):
        sleeps.append(seconds)
        if len(sleeps) >= 4:
            raise Stop

    monkeypatch.setattr(jobs, "run_due", run_due)
    monkeypatch.setattr(jobs, "_drop_connection", lambda: None)
    with caplog.at_level("WARNING", logger="workflows.jobs"), pytest.raises(Stop):
        jobs.run_poller(interval=0.5, sleep=sleep)
    assert sleeps == [jobs.DB_RETRY_FIRST, 2 * jobs.DB_RETRY_FIRST, 0.5, 0.5]
    messages = [r.getMessage() for r in caplog.records]
    assert sum("reconnect attempt" in m for m in messages) == 2
    assert any("database back after 2 retries" in m for m in messages)
