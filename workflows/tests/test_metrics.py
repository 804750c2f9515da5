"""The engine's metrics: counters of committed operations (none for a rolled-back one), the
backlog gauges read at scrape time across tenants, and Celery task outcomes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery import signals
from django.db import transaction
from django.utils import timezone
from prometheus_client import REGISTRY

from approvals.tests.test_transfers import Chain
from core.tenancy import set_db_context
from workflows.engine import jobs
from workflows.models import HumanTask, Job, JobStatus, OutboxEvent

pytestmark = pytest.mark.django_db

ENGINE = {
    "completed": ("workflows_runs_finished_total", {"status": "completed"}),
    "rejected": ("workflows_runs_finished_total", {"status": "rejected"}),
    "approved": ("workflows_task_decisions_total", {"decision": "approved"}),
    "rejected_tasks": ("workflows_task_decisions_total", {"decision": "rejected"}),
    "opened": ("workflows_tasks_opened_total", {}),
    "transfer_rejected": ("workflows_subjects_decided_total", {"event": "transfer.rejected"}),
}


def engine_counts() -> dict[str, float]:
    return {
        key: REGISTRY.get_sample_value(name, labels) or 0.0
        for key, (name, labels) in ENGINE.items()
    }


def moved(before: dict[str, float]) -> dict[str, float]:
    after = engine_counts()
    return {key: after[key] - before[key] for key in after if after[key] != before[key]}


def poll() -> None:
    """Run the engine's event jobs, as the relay or `run_jobs` would after the commit."""
    jobs.run_due(now=timezone.now() + timedelta(seconds=1))
    set_db_context(bypass=True)


@pytest.fixture
def chain(tenant, make_user, client_for):
    return Chain(tenant, make_user, client_for, workflows=2)


def create(chain, reference):
    from approvals.services.transfers import transfer_create

    return transfer_create(
        tenant=chain.tenant,
        transfer_type="FAR",
        reference=reference,
        amount="10.00",
        currency="EUR",
        security_group_id=chain.group.pk,
        actor=chain.submitter,
    )


def decide(chain, transfer, decision="approve"):
    from approvals.services.transfers import transfer_decide

    transfer_decide(
        tenant=chain.tenant, transfer_id=transfer.pk, decision=decision, actor=chain.approvers[0]
    )


def test_a_transfer_through_a_chain_moves_the_engine_counters(chain):
    before = engine_counts()
    transfer = create(chain, "M-1")
    assert moved(before) == {}  # nothing until its events' jobs run
    poll()
    assert moved(before) == {"opened": 1}
    decide(chain, transfer)
    poll()
    # The first run completes, the second starts and opens its task.
    assert moved(before) == {"opened": 2, "approved": 1, "completed": 1}
    decide(chain, transfer, "reject")
    poll()
    assert moved(before) == {
        "opened": 2,
        "approved": 1,
        "completed": 1,
        "rejected_tasks": 1,
        "rejected": 1,
        "transfer_rejected": 1,
    }
    poll()  # the jobs ran once: nothing moves again
    assert moved(before)["opened"] == 2


def test_a_rolled_back_operation_moves_nothing(chain):
    transfer = create(chain, "M-RB")
    poll()
    before = engine_counts()

    class Abandon(Exception):
        pass

    def rolled_back(operation):
        with transaction.atomic():
            operation()
            raise Abandon

    with pytest.raises(Abandon):
        rolled_back(lambda: decide(chain, transfer))
    with pytest.raises(Abandon):
        rolled_back(lambda: create(chain, "M-RB2"))
    poll()
    assert moved(before) == {}
    decide(chain, transfer)  # the same decision, committed this time, counts
    poll()
    assert moved(before) == {"approved": 1, "completed": 1, "opened": 1}


def test_the_counters_carry_no_tenant_label():
    for name, _ in ENGINE.values():
        family = name.removesuffix("_total")
        for metric in REGISTRY.collect():
            if metric.name == family:
                for sample in metric.samples:
                    assert not {"tenant", "tenant_id"} & set(sample.labels)


def scrape(client, settings) -> dict[str, float]:
    settings.WORKFLOWS_METRICS_TOKEN = "scrape"
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape")
    assert response.status_code == 200
    values = {}
    for line in response.content.decode().splitlines():
        if line.startswith("workflows_") and "{" not in line:
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


GAUGES = (
    "workflows_oldest_pending_task_age_seconds",
    "workflows_outbox_pending_events",
    "workflows_outbox_oldest_pending_age_seconds",
    "workflows_jobs_due_unfired",
)


def test_the_gauges_report_the_backlog_of_every_tenant(
    client, settings, chain, other_tenant, make_user, client_for
):
    """Read by the web process's role (the test client's), which sees no tenant itself."""
    empty = scrape(client, settings)
    assert empty["workflows_metrics_gauges_up"] == 1
    assert all(empty[name] == 0 for name in GAUGES), empty

    now = timezone.now()
    create(chain, "G-1")
    other = Chain(other_tenant, make_user, client_for, workflows=1)
    create(other, "G-2")
    HumanTask.objects.filter(tenant=other_tenant).update(created_at=now - timedelta(hours=5))
    OutboxEvent.objects.create(
        tenant=chain.tenant, topic="step.ready", available_at=now - timedelta(minutes=10)
    )
    OutboxEvent.objects.create(  # not publishable yet: pending, but no age
        tenant=other_tenant, topic="step.ready", available_at=now + timedelta(hours=1)
    )
    Job.objects.all().delete()  # the tasks' event jobs, due now
    for minutes in (30, 1):
        Job.objects.create(
            tenant=other_tenant, kind="noop", due_at=now - timedelta(minutes=minutes), payload={}
        )
    Job.objects.create(
        tenant=chain.tenant, kind="noop", due_at=now + timedelta(hours=1), payload={}
    )
    Job.objects.create(
        tenant=chain.tenant,
        kind="noop",
        due_at=now - timedelta(hours=1),
        payload={},
        status=JobStatus.DONE,
    )

    values = scrape(client, settings)
    assert values["workflows_metrics_gauges_up"] == 1
    assert 5 * 3600 <= values["workflows_oldest_pending_task_age_seconds"] < 6 * 3600
    assert values["workflows_outbox_pending_events"] == 2
    assert 600 <= values["workflows_outbox_oldest_pending_age_seconds"] < 3600
    assert values["workflows_jobs_due_unfired"] == 2


def test_without_the_gauges_function_the_scrape_still_answers(client, settings, monkeypatch):
    from workflows import metrics

    monkeypatch.setattr(metrics, "GAUGES_SQL", "SELECT * FROM no_such_function()")
    values = scrape(client, settings)
    assert values["workflows_metrics_gauges_up"] == 0
    assert not set(GAUGES) & set(values)


class FakeTask:
    name = "workflows.execute_step"


def _celery(outcome: str) -> float:
    labels = {"task": FakeTask.name, "outcome": outcome}
    return REGISTRY.get_sample_value("workflows_celery_tasks_total", labels) or 0.0


def test_celery_task_outcomes_are_counted_by_task_and_outcome():
    import workflows.tasks  # noqa: F401  (connects the signals, as in a worker)

    before = {o: _celery(o) for o in ("success", "failure", "retry")}
    signals.task_success.send(sender=FakeTask(), result=None)
    signals.task_failure.send(sender=FakeTask(), task_id="x", exception=ValueError())
    signals.task_failure.send(sender=FakeTask(), task_id="y", exception=ValueError())
    signals.task_retry.send(sender=FakeTask(), request=None, reason="later")
    assert {o: _celery(o) - before[o] for o in before} == {"success": 1, "failure": 2, "retry": 1}


def test_the_dashboard_only_charts_metrics_that_exist(client, settings):
    import json
    import re
    from pathlib import Path

    from django.conf import settings as django_settings

    dashboard = Path(django_settings.BASE_DIR, "ops", "grafana", "workflows.json")
    exprs = [t["expr"] for p in json.loads(dashboard.read_text())["panels"] for t in p["targets"]]
    charted = {
        re.sub(r"_(bucket|count|sum)$", "", m)
        for e in exprs
        for m in re.findall(r"workflows_\w+", e)
    }
    settings.WORKFLOWS_METRICS_TOKEN = "scrape"
    text = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape").content.decode()
    exported = set(re.findall(r"^# TYPE (workflows_\w+) ", text, re.M))
    exported |= {name + "_total" for name in exported}
    assert len(charted) > 10
    assert charted <= exported, charted - exported


RUNS = {
    "started": ("workflows_runs_started_total", {}),
    "cancelled": ("workflows_runs_cancelled_total", {}),
}


def test_runs_started_and_cancelled_count_when_their_operation_commits(
    chain, django_capture_on_commit_callbacks
):
    """No event for these moves: the unit of work counts them on commit, in the process that
    ran the operation; a rolled-back operation counts nothing."""
    from approvals.services.transfers import transfer_cancel

    def runs() -> dict[str, float]:
        return {k: REGISTRY.get_sample_value(n, labels) or 0.0 for k, (n, labels) in RUNS.items()}

    before = runs()
    with django_capture_on_commit_callbacks(execute=True):
        transfer = create(chain, "M-RS")
    assert runs() == {"started": before["started"] + 1, "cancelled": before["cancelled"]}
    with django_capture_on_commit_callbacks(execute=True):
        decide(chain, transfer)  # the first run completes, the second starts
    assert runs()["started"] == before["started"] + 2

    def cancel_then_roll_back() -> None:
        with transaction.atomic():
            transfer_cancel(tenant=chain.tenant, transfer_id=transfer.pk, actor=chain.submitter)
            raise RuntimeError("rolled back")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        cancel_then_roll_back()
    assert runs()["cancelled"] == before["cancelled"]
    with django_capture_on_commit_callbacks(execute=True):
        transfer_cancel(tenant=chain.tenant, transfer_id=transfer.pk, actor=chain.submitter)
    assert runs() == {"started": before["started"] + 2, "cancelled": before["cancelled"] + 1}
