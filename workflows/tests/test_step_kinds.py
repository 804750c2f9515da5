"""Step kinds: the runner asks a step's kind what to do; a new kind is a class and a
registration."""

from __future__ import annotations

import pytest

from tests.factories import StepFactory, WorkflowFactory
from workflows.engine import (
    ActionKind,
    ActionSpec,
    StepKind,
    complete_step,
    register_action,
    register_step_kind,
    registry,
)
from workflows.engine import kinds as kind_registry
from workflows.engine.kinds import kind_of
from workflows.models import RunStatus, StateTransition, StepRunStatus
from workflows.tests.engine_helpers import start

pytestmark = pytest.mark.django_db


def test_the_builtin_actions_are_of_the_three_kinds():
    assert {spec.key: kind_of(spec).key for spec in registry.all()} == {
        "approval": "vote",
        "check_safety": "form",
        "verify_contact": "form",
        "send_email": "automated",
        "webhook": "automated",
    }
    assert [kind_of(registry.get(k)).human for k in ("approval", "check_safety", "webhook")] == [
        True,
        True,
        False,
    ]


class Instant(StepKind):
    """Done as soon as its turn comes (e.g. a marker step)."""

    key = "instant_test"

    def activate(self, step_run, run, *, actor, log, now):
        log.record("step_run", step_run.pk, StepRunStatus.PENDING, StepRunStatus.RUNNING)
        step_run.status, step_run.started_at = StepRunStatus.RUNNING, now
        complete_step(step_run, run, StepRunStatus.COMPLETED, actor=actor, log=log, result={})


@pytest.fixture
def instant():
    kind = register_step_kind(Instant())
    spec = register_action(
        ActionSpec(key="instant", kind=ActionKind.AUTOMATED, label="Instant", step_kind=kind.key)
    )
    yield spec
    registry.unregister(spec.key)
    kind_registry._kinds.pop(kind.key)


def test_a_new_kind_is_a_class_and_a_registration(tenant, instant):
    workflow = WorkflowFactory(tenant=tenant)
    StepFactory(workflow=workflow, order=0, action="instant", config={}, name="Mark")
    StepFactory(workflow=workflow, order=1, action="instant", config={}, name="Mark again")
    run = start(tenant, workflow)
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert list(run.step_runs.order_by("position").values_list("status", flat=True)) == [
        "completed",
        "completed",
    ]
    moves = StateTransition.objects.filter(object_type="step_run").values_list(
        "from_status", "to_status"
    )
    assert list(moves) == [("pending", "running"), ("running", "completed")] * 2


def test_a_kind_that_skips_a_declared_move_is_stopped(tenant, instant):
    from workflows.engine.statuses import UndeclaredTransition

    class Sloppy(Instant):
        key = "sloppy_test"

        def activate(self, step_run, run, *, actor, log, now):  # pending -> completed directly
            complete_step(step_run, run, StepRunStatus.COMPLETED, actor=actor, log=log)

    register_step_kind(Sloppy())
    register_action(
        ActionSpec(key="sloppy", kind=ActionKind.AUTOMATED, label="Sloppy", step_kind="sloppy_test")
    )
    try:
        workflow = WorkflowFactory(tenant=tenant)
        StepFactory(workflow=workflow, order=0, action="sloppy", config={}, name="Skip")
        with pytest.raises(UndeclaredTransition, match="pending -> completed"):
            start(tenant, workflow)
    finally:
        registry.unregister("sloppy")
        kind_registry._kinds.pop("sloppy_test")
