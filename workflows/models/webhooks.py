"""Tenants' webhook subscriptions to engine events, and each event's delivery to each."""

from __future__ import annotations

from django.db import models

from core.models import TenantOwnedModel, TenantScopedModel


class WebhookEvent(models.TextChoices):
    TASK_CREATED = "task.created"
    TASK_DECIDED = "task.decided"
    RUN_COMPLETED = "run.completed"
    RUN_FAILED = "run.failed"
    TRANSFER_APPROVED = "transfer.approved"
    TRANSFER_REJECTED = "transfer.rejected"


class WebhookSubscription(TenantScopedModel):
    """Where a tenant wants events POSTed. `secret` signs every delivery; the API shows it
    once (on create and on rotation) and the audit trail never holds it."""

    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list)  # a non-empty list of WebhookEvent values
    active = models.BooleanField(default=True)
    secret = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["tenant", "active"], name="webhook_sub_tenant_active_idx")]

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"  # not tried yet
    RETRYING = "retrying"  # the last attempt may pass later
    DELIVERED = "delivered"
    FAILED = "failed"  # for good


class WebhookDelivery(TenantOwnedModel):
    """One event for one subscription; `key` is the event's delivery key (an event emitted
    twice with one key is delivered once)."""

    subscription = models.ForeignKey(
        WebhookSubscription,
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_index=False,
        db_constraint=False,
    )
    event = models.CharField(max_length=32, choices=WebhookEvent.choices)
    key = models.CharField(max_length=200)
    payload = models.JSONField(default=dict)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=1000, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "subscription", "key"], name="webhook_delivery_once_per_key"
            ),
        ]
        # The delivery log: a subscription's deliveries, newest first.
        indexes = [
            models.Index(fields=["tenant", "subscription", "-id"], name="webhook_delivery_log_idx")
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.key} -> {self.subscription_id}"
