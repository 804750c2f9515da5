"""Durable delayed work: a row with a due time, run by whichever process polls.

See `workflows.engine.jobs` for the API and the executor.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.models import TenantOwnedModel


class JobStatus(models.TextChoices):
    SCHEDULED = "scheduled"
    RUNNING = "running"  # claimed by a poller, under a lease (locked_until)
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


LIVE_STATUSES = (JobStatus.SCHEDULED, JobStatus.RUNNING)
# The live jobs that carry a key: at most one per tenant and key.
LIVE_KEYED = Q(status__in=LIVE_STATUSES) & Q(key__gt="")


class Job(TenantOwnedModel):
    kind = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    due_at = models.DateTimeField()
    # For cancel (e.g. "task:123:remind"); unique per tenant among live jobs.
    key = models.CharField(max_length=200, blank=True, default="")
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.SCHEDULED)
    attempts = models.PositiveIntegerField(default=0)
    # The lease of a running job: a poller that died leaves it to be taken again after this.
    locked_until = models.DateTimeField(null=True, blank=True)
    locked_by = models.CharField(max_length=100, blank=True, default="")
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # What the poller reads, across tenants: the due jobs, and the leases run out.
            models.Index(
                fields=["due_at", "id"],
                name="job_due_idx",
                condition=Q(status=JobStatus.SCHEDULED),
            ),
            models.Index(
                fields=["locked_until"],
                name="job_lease_idx",
                condition=Q(status=JobStatus.RUNNING),
            ),
        ]
        constraints = [
            # Pattern ops: cancel by key prefix (LIKE 'task:123:%') uses it too.
            models.UniqueConstraint(
                fields=["tenant", "key"],
                name="job_live_key_unique",
                condition=LIVE_KEYED,
                opclasses=["int8_ops", "varchar_pattern_ops"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"
