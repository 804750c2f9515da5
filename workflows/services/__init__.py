"""Writes: workflow definitions, and the engine's entry points for runs and tasks."""

from workflows.services.definitions import (
    step_create,
    step_delete,
    step_update,
    workflow_create,
    workflow_delete,
    workflow_update,
)
from workflows.services.runs import (
    run_cancel,
    run_retry,
    run_start_on_subject,
    task_claim,
    task_decide,
    task_reassign,
    task_release,
)

__all__ = [
    "run_cancel",
    "run_retry",
    "run_start_on_subject",
    "step_create",
    "step_delete",
    "step_update",
    "task_claim",
    "task_decide",
    "task_reassign",
    "task_release",
    "workflow_create",
    "workflow_delete",
    "workflow_update",
]
