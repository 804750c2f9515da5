"""What was mailed to whom: one row per (task, person, kind, occurrence), so a retried job
does not mail twice."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from core.models import TenantOwnedModel
from workflows.models.runs import HumanTask


class NotificationSent(TenantOwnedModel):
    task = models.ForeignKey(
        HumanTask, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=32)
    # Tells repeated notices of one kind apart (the second reminder of a task); "" for once-only.
    occurrence = models.CharField(max_length=64, blank=True, default="")
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "task", "user", "kind", "occurrence"],
                name="notification_sent_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of task {self.task_id} to {self.user_id}"
