"""The status moves the engine makes, declared per object type; any other move is a bug.

Every state change goes through `UnitOfWork.record`, which checks it here before anything is
written. Object types not declared here (subjects: a transfer, a case) are their apps' own
business. A new move (e.g. a timer's) is one more pair in `ALLOWED`.
"""

from __future__ import annotations

from workflows.models import RunStatus, StepRunStatus, TaskStatus


class UndeclaredTransition(Exception):
    """A move the table does not declare: the engine would be leaving its state machine."""


_R, _S, _T = RunStatus, StepRunStatus, TaskStatus

ALLOWED: dict[str, frozenset[tuple[str, str]]] = {
    "run": frozenset(
        {
            (_R.NOT_STARTED, _R.RUNNING),
            (_R.NOT_STARTED, _R.CANCELLED),  # a chain cancelled before its turn
            (_R.RUNNING, _R.COMPLETED),
            (_R.RUNNING, _R.REJECTED),
            (_R.RUNNING, _R.FAILED),
            (_R.RUNNING, _R.CANCELLED),
            (_R.FAILED, _R.RUNNING),  # retry
        }
    ),
    "step_run": frozenset(
        {
            (_S.PENDING, _S.WAITING),  # a human step opens its task
            (_S.PENDING, _S.RUNNING),  # an automated step is dispatched
            (_S.PENDING, _S.FAILED),  # e.g. its action is not registered
            *(
                (active, end)
                for active in (_S.WAITING, _S.RUNNING)
                for end in (_S.COMPLETED, _S.REJECTED, _S.FAILED, _S.CANCELLED)
            ),
            (_S.FAILED, _S.PENDING),  # retry
        }
    ),
    "task": frozenset(
        {
            ("", _T.PENDING),
            (_T.PENDING, _T.APPROVED),
            (_T.PENDING, _T.REJECTED),
            (_T.PENDING, _T.COMPLETED),
            (_T.PENDING, _T.CANCELLED),
        }
    ),
    # A timer of a pending task fired without closing it (see `timers`).
    "task_timer": frozenset({(_T.PENDING, "reminded"), (_T.PENDING, "escalated")}),
    # A pending task's people changed: someone took it, gave it back, or a SUPERVISOR or ADMIN
    # moved it to someone else (see `assignment`).
    "task_assignment": frozenset(
        {(_T.PENDING, "claimed"), (_T.PENDING, "released"), (_T.PENDING, "reassigned")}
    ),
    # A ballot decided by its holder's out-of-office delegate (the comment names the holder).
    "task_delegate": frozenset({(_T.PENDING, "approve"), (_T.PENDING, "reject")}),
}


def check(object_type: str, from_status: str, to_status: str) -> None:
    """Raise `UndeclaredTransition` unless the move is declared (or the type is not)."""
    allowed = ALLOWED.get(object_type)
    if allowed is not None and (from_status or "", to_status) not in allowed:
        raise UndeclaredTransition(
            f"{object_type}: {from_status or '(new)'} -> {to_status} is not a declared move."
        )
