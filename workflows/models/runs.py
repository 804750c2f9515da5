"""Executions: a run pins a snapshot of its workflow's steps; human steps open tasks.

State changes are checked against declared source states in the engine and recorded as
StateTransition rows in the same transaction.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.models import TenantOwnedModel, user_reference


class RunStatus(models.TextChoices):
    NOT_STARTED = "not_started"
    RUNNING = "running"
    COMPLETED = "completed"
    REJECTED = "rejected"
    FAILED = "failed"
    CANCELLED = "cancelled"


class StepRunStatus(models.TextChoices):
    PENDING = "pending"  # not reached yet
    WAITING = "waiting"  # a human task is open
    RUNNING = "running"  # an automated action is dispatched
    COMPLETED = "completed"
    REJECTED = "rejected"
    FAILED = "failed"
    CANCELLED = "cancelled"


class TaskStatus(models.TextChoices):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class BallotDecision(models.TextChoices):
    APPROVE = "approve"
    REJECT = "reject"
    COMPLETE = "complete"


class WorkflowRun(TenantOwnedModel):
    """One execution of a workflow on a subject (a transfer, a case); `sequence` orders a chain."""

    workflow = models.ForeignKey(
        "workflows.Workflow",
        null=True,
        on_delete=models.SET_NULL,
        related_name="runs",
        db_constraint=False,
    )
    workflow_name = models.CharField(max_length=200)
    workflow_code = models.CharField(max_length=64, null=True, blank=True)
    subject_type = models.CharField(max_length=32)
    subject_id = models.BigIntegerField()
    sequence = models.PositiveIntegerField(default=1)
    chain_length = models.PositiveIntegerField(default=1)  # runs created with it, this one included
    status = models.CharField(
        max_length=16, choices=RunStatus.choices, default=RunStatus.NOT_STARTED
    )
    step_count = models.PositiveIntegerField(default=0)
    submitted_by = user_reference()
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "subject_type", "subject_id", "sequence"],
                name="run_sequence_unique_per_subject",
            ),
        ]
        # The unique key serves lookups by subject; no index on status, so that a run's status
        # changes can be HOT updates (see migration 0009: fillfactor).


class StepRun(TenantOwnedModel):
    """A step of a run, snapshotted at run creation: later edits to the Step change nothing here."""

    # Indexed by steprun_position_unique_per_run (tenant, run, position); runs are never
    # deleted but with their tenant, so no index of the run id alone.
    run = models.ForeignKey(
        WorkflowRun,
        on_delete=models.CASCADE,
        related_name="step_runs",
        db_index=False,
        db_constraint=False,
    )
    position = models.PositiveIntegerField()  # 0-based, contiguous: next step is position + 1
    order = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    action = models.CharField(max_length=64)
    config = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=StepRunStatus.choices, default=StepRunStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)
    last_error = models.TextField(blank=True, default="")
    idempotency_key = models.UUIDField(default=uuid.uuid4, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # An automated attempt in flight: claimed (and counted) before the action is called, until
    # its result is recorded. A redelivery does nothing while the lease holds; an expired lease
    # means the worker was lost and the sweep re-enqueues the step.
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "run", "position"], name="steprun_position_unique_per_run"
            ),
            models.UniqueConstraint(
                fields=["tenant", "idempotency_key"], name="steprun_idempotency_key_unique"
            ),
        ]


class HumanTask(TenantOwnedModel):
    """The open question of a human step. Locked for every decision; one per step run."""

    # Indexed by task_unique_per_step_run (tenant, step_run); a run's tasks are found by its
    # subject (task_tenant_subj_idx). Fewer indexes: a decision rewrites every one of them.
    step_run = models.ForeignKey(
        StepRun, on_delete=models.CASCADE, related_name="tasks", db_index=False, db_constraint=False
    )
    run = models.ForeignKey(
        WorkflowRun,
        on_delete=models.CASCADE,
        related_name="tasks",
        db_index=False,
        db_constraint=False,
    )
    subject_type = models.CharField(max_length=32)
    subject_id = models.BigIntegerField()
    name = models.CharField(max_length=200)
    action = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=TaskStatus.choices, default=TaskStatus.PENDING)
    # Approval tasks: who may vote is materialised as ballots when the task opens; when it
    # closes, the ballots nobody decided are deleted (`ballots.close_ballots`), so that an open
    # ballot is always an open task's (the inbox relies on it). eligible_count keeps how many.
    rule = models.CharField(max_length=16, blank=True, default="")
    required_approvals = models.PositiveIntegerField(default=1)
    approvals_count = models.PositiveIntegerField(default=0)
    rejections_count = models.PositiveIntegerField(default=0)
    eligible_count = models.PositiveIntegerField(default=0)
    allow_self_approval = models.BooleanField(default=False)
    submitted_by = user_reference()
    # Form tasks (check_safety, verify_contact): the roles that may complete them, as
    # ",AGENT,SUPERVISOR," so that one LIKE finds them on any database.
    open_to_roles = models.CharField(max_length=100, blank=True, default="")
    result = models.JSONField(default=dict, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = user_reference()
    # A task someone took (`claim`): hidden from the others' inbox, and theirs to decide (or
    # their delegate's), until released, reassigned or closed.
    claimed_by = user_reference()
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One task per step run; like every unique constraint here, it includes tenant_id.
            models.UniqueConstraint(fields=["tenant", "step_run"], name="task_unique_per_step_run"),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "-created_at"], name="task_tenant_status_idx"),
            # Ends with id: "a subject's oldest pending task" is then one index probe, never a
            # walk of the primary key (which the planner picks for ORDER BY id LIMIT 1).
            models.Index(
                fields=["tenant", "subject_type", "subject_id", "status", "id"],
                name="task_tenant_subj_idx",
            ),
            # The inbox's pending form tasks (selectors.task_inbox): only those rows, so a
            # decision on an approval task never writes it.
            models.Index(
                fields=["tenant", "-id"],
                name="task_open_form_idx",
                condition=Q(status="pending") & ~Q(open_to_roles=""),
            ),
            # Open tasks someone claimed (few): the inbox leaves out those claimed by others
            # by probing this, not by joining every open ballot to its task.
            models.Index(
                fields=["tenant", "id"],
                name="task_claimed_open_idx",
                condition=Q(status="pending") & Q(claimed_by__isnull=False),
            ),
        ]


class TaskBallot(TenantOwnedModel):
    """One eligible person's say on a task. Written once: `decision` goes from null to a value;
    a ballot still undecided when its task closes is deleted (the audit trail keeps it)."""

    # Indexed by ballot_unique_per_user (tenant, task, user).
    task = models.ForeignKey(
        HumanTask,
        on_delete=models.CASCADE,
        related_name="ballots",
        db_index=False,
        db_constraint=False,
    )
    # Indexed by ballot_open_idx (tenant, user, task) for what awaits someone.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    decision = models.CharField(
        max_length=16, choices=BallotDecision.choices, null=True, blank=True
    )
    comment = models.TextField(blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # Who decided it when that was not its holder (`user`): their out-of-office delegate.
    acted_by = user_reference()

    class Meta:
        ordering = ["decided_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "task", "user"], name="ballot_unique_per_user"
            ),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "user", "task"],
                name="ballot_open_idx",
                condition=Q(decision__isnull=True),
            ),
        ]


class StateTransition(TenantOwnedModel):
    """Append-only: who moved what from which state to which, when, and why.

    Like the audit trail, a history without foreign-key constraints: each would be checked
    (and the referenced row locked) for every row, ~20 rows per transfer."""

    tenant = models.ForeignKey(
        "tenants.Tenant",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )

    object_type = models.CharField(max_length=32)
    object_id = models.BigIntegerField()
    from_status = models.CharField(max_length=16, blank=True, default="")
    to_status = models.CharField(max_length=16)
    actor = user_reference(db_constraint=False)
    comment = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["tenant", "object_type", "object_id"], name="transition_obj_idx"),
        ]


class OutboxEvent(TenantOwnedModel):
    """An event written in the transaction that caused it; the relay hands it to the workers.

    A broker outage delays work but loses none: an event stays here until it was published.
    """

    topic = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    available_at = models.DateTimeField()
    dispatched_at = models.DateTimeField(null=True, blank=True)
    publish_attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["available_at", "id"],
                name="outbox_pending_idx",
                condition=Q(dispatched_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.topic} #{self.pk}"
