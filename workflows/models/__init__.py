"""Workflow definitions and their executions (runs)."""

from workflows.models.calendars import BusinessCalendar
from workflows.models.definitions import Step, Workflow
from workflows.models.jobs import Job, JobStatus
from workflows.models.notifications import NotificationSent
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
from workflows.models.webhooks import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)

__all__ = [
    "BallotDecision",
    "BusinessCalendar",
    "HumanTask",
    "Job",
    "JobStatus",
    "DeliveryStatus",
    "NotificationSent",
    "OutboxEvent",
    "RunStatus",
    "StateTransition",
    "Step",
    "StepRun",
    "StepRunStatus",
    "TaskBallot",
    "TaskStatus",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookSubscription",
    "Workflow",
    "WorkflowRun",
]
