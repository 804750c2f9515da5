"""Step kinds: what the engine does when a step's turn comes, and with a decision on its task.

Each action (see `registry`) is of one kind: `vote` (approval: eligible people approve or
reject under a rule), `form` (a person completes a form), `automated` (a worker runs a
handler). A kind is an object registered by key; the runner asks it, rather than branching on
the action. A new kind is one module with a `StepKind` subclass and `register_step_kind(...)`,
and an action that names it (`ActionSpec(step_kind=...)`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from workflows.engine.registry import ActionSpec
    from workflows.engine.store import Locked
    from workflows.engine.uow import UnitOfWork
    from workflows.models import StepRun, WorkflowRun


class StepKind:
    key: ClassVar[str]
    # A person acts: the step waits for its task (inserted `waiting` when it starts a run).
    human: ClassVar[bool] = False

    def activate(
        self, step_run: StepRun, run: WorkflowRun, *, actor: Any, log: UnitOfWork, now: Any
    ) -> None:
        """The step's turn has come (its step run is pending, or inserted waiting)."""
        raise NotImplementedError

    def decide(
        self,
        locked: Locked,
        spec: ActionSpec,
        *,
        decision: str,
        comment: str,
        data: dict[str, Any],
        actor: Any,
        log: UnitOfWork,
        now: Any,
    ) -> str | None:
        """Apply one person's decision (one of `spec.decisions`) to the locked pending task;
        the task's outcome (a TaskStatus) once it has one, else None."""
        raise NotImplementedError(f"A '{self.key}' step takes no decisions.")


_kinds: dict[str, StepKind] = {}


def register_step_kind(kind: StepKind) -> StepKind:
    if kind.key in _kinds:
        raise ValueError(f"Step kind {kind.key!r} is already registered")
    _kinds[kind.key] = kind
    return kind


def kind_of(spec: ActionSpec) -> StepKind:
    return _kinds[spec.step_kind]
