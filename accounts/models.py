"""Users log in by email, belong to one tenant and hold one role."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models

from core.models import TenantOwnedModel


class Role(models.TextChoices):
    ADMIN = "ADMIN", "Admin"
    SUPERVISOR = "SUPERVISOR", "Supervisor"
    AGENT = "AGENT", "Agent"
    VIEWER = "VIEWER", "Viewer"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("role", Role.ADMIN)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """`tenant` is null only for platform staff, who manage tenants and nothing inside them."""

    email = models.EmailField(max_length=254, unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    tenant = models.ForeignKey(
        "tenants.Tenant", null=True, blank=True, on_delete=models.CASCADE, related_name="users"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.AGENT)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["tenant", "role"], name="user_tenant_role_idx")]

    def __str__(self) -> str:
        return self.email

    @property
    def is_tenant_admin(self) -> bool:
        return self.tenant_id is not None and self.role == Role.ADMIN


class Delegation(TenantOwnedModel):
    """A user's out-of-office delegate for a window: `starts_at <= t < ends_at`.

    One per user (a new one replaces it). Not followed in chains: if the delegate is away too,
    their own delegation does not pass the delegator's tasks on (see `selectors`).
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+", db_index=False)
    delegate = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+", db_index=False)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="delegation_one_per_user"),
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="delegation_ends_after_start",
            ),
            models.CheckConstraint(
                condition=~models.Q(delegate=models.F("user")), name="delegation_not_to_self"
            ),
        ]
        # "Whose tasks may this person take now": the engine's question, by delegate.
        indexes = [
            models.Index(fields=["tenant", "delegate", "ends_at"], name="delegation_delegate_idx")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} -> {self.delegate_id}"


class NotificationKind(models.TextChoices):
    """What a person may be emailed about (each can be turned off per person)."""

    TASK_OPENED = "task_opened", "A task awaits you"
    TASK_REASSIGNED = "task_reassigned", "A task was reassigned to you"
    TASK_DUE_SOON = "task_due_soon", "A task of yours is due soon"
    TASK_ESCALATED = "task_escalated", "A task was escalated to you"


class NotificationPreference(TenantOwnedModel):
    """A person's choices, one column per `NotificationKind`; no row means every kind is on."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+", db_index=False)
    task_opened = models.BooleanField(default=True)
    task_reassigned = models.BooleanField(default=True)
    task_due_soon = models.BooleanField(default=True)
    task_escalated = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "user"], name="notification_preference_per_user"
            ),
        ]

    def __str__(self) -> str:
        return f"notifications of {self.user_id}"
