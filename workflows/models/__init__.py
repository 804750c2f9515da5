"""Workflow definitions and their executions (runs)."""

from workflows.models.calendars import BusinessCalendar
from workflows.models.definitions import Step, Workflow
from workflows.models.runs import (
    BallotDecision,
    HumanTask,
    OutboxEvent,
    RunStatus,
    StateTransition,
    StepRun,
    StepRunStatus,
    TaskBallot,
    TaskStatus,
    WorkflowRun,
)

__all__ = [
    "BallotDecision",
    "BusinessCalendar",
    "HumanTask",
    "OutboxEvent",
    "RunStatus",
    "StateTransition",
    "Step",
    "StepRun",
    "StepRunStatus",
    "TaskBallot",
    "TaskStatus",
    "Workflow",
    "WorkflowRun",
]
