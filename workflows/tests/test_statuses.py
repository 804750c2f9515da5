"""The engine's table of status moves (pure: no database)."""

from __future__ import annotations

import pytest

from workflows.engine import UnitOfWork
from workflows.engine.statuses import ALLOWED, UndeclaredTransition, check
from workflows.models import RunStatus, StepRunStatus, TaskStatus

ENUMS = {"run": RunStatus, "step_run": StepRunStatus, "task": TaskStatus}
STARTS = {"run": RunStatus.NOT_STARTED, "step_run": StepRunStatus.PENDING, "task": ""}
FINAL = {
    "run": {RunStatus.COMPLETED, RunStatus.REJECTED, RunStatus.CANCELLED},
    "step_run": {StepRunStatus.COMPLETED, StepRunStatus.REJECTED, StepRunStatus.CANCELLED},
    "task": {TaskStatus.APPROVED, TaskStatus.REJECTED, TaskStatus.COMPLETED, TaskStatus.CANCELLED},
}


@pytest.mark.parametrize("kind", sorted(ENUMS))
def test_every_move_is_between_statuses_of_its_type(kind):
    values = set(ENUMS[kind].values) | {""}
    for source, target in ALLOWED[kind]:
        assert source in values
        assert target in values
        assert source != target


@pytest.mark.parametrize("kind", sorted(ENUMS))
def test_every_status_is_reachable_from_the_start(kind):
    seen, todo = {STARTS[kind]}, [STARTS[kind]]
    while todo:
        here = todo.pop()
        for source, target in ALLOWED[kind]:
            if source == here and target not in seen:
                seen.add(target)
                todo.append(target)
    assert seen - {""} == set(ENUMS[kind].values)


@pytest.mark.parametrize("kind", sorted(ENUMS))
def test_nothing_leaves_a_final_status(kind):
    assert not [move for move in ALLOWED[kind] if move[0] in FINAL[kind]]


def test_only_a_retry_leaves_failed():
    assert {m for m in ALLOWED["run"] if m[0] == RunStatus.FAILED} == {
        (RunStatus.FAILED, RunStatus.RUNNING)
    }
    assert {m for m in ALLOWED["step_run"] if m[0] == StepRunStatus.FAILED} == {
        (StepRunStatus.FAILED, StepRunStatus.PENDING)
    }


@pytest.mark.parametrize(
    ("kind", "source", "target"),
    [
        ("run", RunStatus.COMPLETED, RunStatus.RUNNING),
        ("run", RunStatus.NOT_STARTED, RunStatus.COMPLETED),
        ("step_run", StepRunStatus.PENDING, StepRunStatus.COMPLETED),
        ("step_run", StepRunStatus.CANCELLED, StepRunStatus.WAITING),
        ("task", TaskStatus.APPROVED, TaskStatus.REJECTED),
        ("task", "", TaskStatus.APPROVED),
    ],
)
def test_an_undeclared_move_raises(kind, source, target):
    with pytest.raises(UndeclaredTransition, match="not a declared move"):
        check(kind, source, target)


def test_the_unit_of_work_refuses_an_undeclared_move_before_holding_it():
    uow = UnitOfWork(1, None)
    uow.record("task", 1, TaskStatus.PENDING, TaskStatus.APPROVED)
    with pytest.raises(UndeclaredTransition):
        uow.record("task", 1, TaskStatus.APPROVED, TaskStatus.PENDING)
    assert len(uow.rows) == 1


def test_types_the_engine_does_not_own_are_their_apps_business():
    check("transfer", "", "pending")
    check("case", "closed", "deleted")
