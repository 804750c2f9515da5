"""Automated steps in-process (no broker): email via locmem, webhooks to a local server."""

import hashlib
import hmac
import json

import pytest
from django.core import mail

from accounts.models import Role
from core.tenancy import set_db_context
from tests.factories import StepFactory, WorkflowFactory
from workflows.engine import automation, jobs
from workflows.models import OutboxEvent, RunStatus, StepRun, StepRunStatus
from workflows.tests.engine_helpers import open_task, start
from workflows.tests.webhook_server import WebhookServer

pytestmark = pytest.mark.django_db


def automated_workflow(tenant, action, config, *, before_human=False):
    workflow = WorkflowFactory(tenant=tenant, name="Notify")
    order = 0
    if before_human:
        StepFactory(workflow=workflow, order=order, action="check_safety", name="Assess")
        order += 1
    StepFactory(workflow=workflow, order=order, action=action, config=config, name="Auto")
    return workflow


def run_to_completion(tenant, workflow, capture, **kwargs):
    with capture(execute=True):
        run = start(tenant, workflow, **kwargs)
    run_retries(capture)
    run.refresh_from_db()
    return run


def run_retries(capture):
    """What a poller (run_jobs) does later: run the retry jobs (due at once under the test
    settings) and the attempts they dispatch, until none is left. Requests never wait."""
    while True:
        with capture(execute=True):
            ran = jobs.run_due()
        if not ran:
            break
    set_db_context(bypass=True)  # the test works as the platform role again


def test_send_email_renders_subject_and_body(tenant, make_user, django_capture_on_commit_callbacks):
    make_user(Role.SUPERVISOR, email="sup@example.test")
    make_user(Role.AGENT, email="agent@example.test")
    workflow = automated_workflow(
        tenant,
        "send_email",
        {
            "to": {"role": "SUPERVISOR"},
            "subject": "Run {run_id}: {workflow} / {step}",
            "body": "Subject {subject_type} #{subject_id}; unknown {nope} stays.",
        },
    )
    run = run_to_completion(tenant, workflow, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.COMPLETED
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["sup@example.test"]
    assert message.subject == f"Run {run.pk}: Notify / Auto"
    assert message.body == "Subject test #1; unknown {nope} stays."
    step = StepRun.objects.get(run=run)
    assert message.extra_headers["X-Workflows-Idempotency-Key"] == str(step.idempotency_key)
    assert step.result == {"sent_to": ["sup@example.test"]}
    assert step.attempts == 1


def test_send_email_with_no_recipients_fails_the_run(tenant, django_capture_on_commit_callbacks):
    workflow = automated_workflow(
        tenant, "send_email", {"to": {"role": "SUPERVISOR"}, "subject": "s", "body": "b"}
    )
    run = run_to_completion(tenant, workflow, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.FAILED
    assert "No recipients" in StepRun.objects.get(run=run).last_error
    assert mail.outbox == []


def test_webhook_is_signed_and_carries_the_idempotency_key(
    tenant, django_capture_on_commit_callbacks
):
    with WebhookServer([200]) as server:
        workflow = automated_workflow(tenant, "webhook", {"url": server.url})
        run = run_to_completion(tenant, workflow, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.COMPLETED
    (request,) = server.requests
    expected = (
        "sha256="
        + hmac.new(tenant.webhook_secret.encode(), request["body"], hashlib.sha256).hexdigest()
    )
    assert request["headers"]["X-Workflows-Signature"] == expected
    step = StepRun.objects.get(run=run)
    assert request["headers"]["Idempotency-Key"] == str(step.idempotency_key)
    body = json.loads(request["body"])
    assert (body["run"], body["step_run"], body["tenant"]) == (run.pk, step.pk, tenant.pk)


def test_webhook_retries_after_a_500_then_succeeds(tenant, django_capture_on_commit_callbacks):
    with WebhookServer([500, 200]) as server:
        workflow = automated_workflow(tenant, "webhook", {"url": server.url})
        run = run_to_completion(tenant, workflow, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.COMPLETED
    assert len(server.requests) == 2
    step = StepRun.objects.get(run=run)
    assert step.attempts == 2
    # Both deliveries carried the same key: the receiver can tell it is one effect.
    keys = {r["headers"]["Idempotency-Key"] for r in server.requests}
    assert keys == {str(step.idempotency_key)}
    assert OutboxEvent.objects.filter(dispatched_at__isnull=True).count() == 0


def test_redelivered_execution_does_not_post_twice(tenant, django_capture_on_commit_callbacks):
    with WebhookServer([200]) as server:
        workflow = automated_workflow(tenant, "webhook", {"url": server.url})
        run = run_to_completion(tenant, workflow, django_capture_on_commit_callbacks)
        step = StepRun.objects.get(run=run)
        outcome = automation.execute_step(step.pk)  # the broker delivers the message again
    assert outcome.status == StepRunStatus.COMPLETED
    assert len(server.requests) == 1
    step.refresh_from_db()
    assert step.attempts == 1


def test_failing_webhook_fails_the_run_then_admin_retry_completes_it(
    tenant, admin_client, django_capture_on_commit_callbacks
):
    with WebhookServer([500, 500, 500, 200]) as server:
        workflow = automated_workflow(tenant, "webhook", {"url": server.url, "max_attempts": 3})
        run = run_to_completion(tenant, workflow, django_capture_on_commit_callbacks)
        assert run.status == RunStatus.FAILED
        step = StepRun.objects.get(run=run)
        assert step.attempts == 3
        assert step.last_error.startswith("Gave up after 3 attempts: HTTP 500")
        assert "Traceback" not in step.last_error
        detail = admin_client.get(f"/api/runs/{run.pk}/").json()
        assert detail["status"] == "failed"
        assert detail["steps"][0]["last_error"] == step.last_error
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(f"/api/runs/{run.pk}/retry/")
        assert response.status_code == 200, response.json()
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert len(server.requests) == 4
    assert admin_client.post(f"/api/runs/{run.pk}/retry/").status_code == 409


def test_only_admin_may_retry(tenant, make_user, client_for, django_capture_on_commit_callbacks):
    workflow = automated_workflow(
        tenant, "send_email", {"to": {"role": "SUPERVISOR"}, "subject": "s", "body": "b"}
    )
    run = run_to_completion(tenant, workflow, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.FAILED
    response = client_for(make_user(Role.SUPERVISOR)).post(f"/api/runs/{run.pk}/retry/")
    assert response.status_code == 403


def test_webhook_4xx_fails_at_once(tenant, django_capture_on_commit_callbacks):
    with WebhookServer([404]) as server:
        workflow = automated_workflow(tenant, "webhook", {"url": server.url})
        run = run_to_completion(tenant, workflow, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.FAILED
    assert len(server.requests) == 1
    assert StepRun.objects.get(run=run).last_error == f"HTTP 404 from {server.url}"


def test_private_targets_are_refused_unless_allowed(
    tenant, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    with WebhookServer([200]) as server:
        workflow = automated_workflow(tenant, "webhook", {"url": server.url})
        run = run_to_completion(tenant, workflow, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.FAILED
    assert "non-public address" in StepRun.objects.get(run=run).last_error
    assert server.requests == []


def test_mixed_workflow_waits_for_the_human_then_runs_the_automated_step(
    tenant, make_user, django_capture_on_commit_callbacks
):
    from workflows import services

    agent = make_user(Role.AGENT)
    with WebhookServer([200]) as server:
        workflow = automated_workflow(tenant, "webhook", {"url": server.url}, before_human=True)
        run = run_to_completion(tenant, workflow, django_capture_on_commit_callbacks)
        assert run.status == RunStatus.RUNNING
        assert server.requests == []
        with django_capture_on_commit_callbacks(execute=True):
            services.task_decide(
                tenant=tenant,
                task_id=open_task(run).pk,
                decision="complete",
                data={"risk_level": "low"},
                actor=agent,
            )
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert len(server.requests) == 1


def test_retry_of_a_failed_human_step_is_a_clear_409(tenant, admin_client):
    """A human step fails when it opens with too few eligible approvers; its task stays (as
    cancelled), so a retry cannot open another: a 409 that says what to do, never a 500."""
    workflow = WorkflowFactory(tenant=tenant, name="Needs a supervisor")
    StepFactory(
        workflow=workflow,
        order=0,
        action="approval",
        name="Approve",
        config={"approvers": {"role": "SUPERVISOR"}},
    )
    run = start(tenant, workflow)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    response = admin_client.post(f"/api/runs/{run.pk}/retry/")
    assert response.status_code == 409, response.json()
    assert "start a new run" in str(response.json())
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
