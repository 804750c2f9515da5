"""User writes. Passwords go through Django's validators; roles are the four of DESIGN §4."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import selectors
from accounts.models import (
    Delegation,
    NotificationKind,
    NotificationPreference,
    Role,
    User,
)
from core.errors import ValidationFailed
from tenants.models import Tenant


def _check_password(password: str, user: User | None = None) -> None:
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise ValidationFailed(
            " ".join(exc.messages), "password_invalid", field="password"
        ) from exc


def _email_refused() -> ValidationFailed:
    """A taken email (in any tenant) answers exactly like a malformed one: DRF's EmailField
    message, so the answer never says that an address has an account somewhere."""
    return ValidationFailed(str(EmailValidator.message), "invalid", field="email")


def user_create(
    *,
    tenant: Tenant | None,
    email: str,
    password: str,
    role: str = Role.AGENT,
    full_name: str = "",
    is_staff: bool = False,
    actor: User | None = None,
) -> User:
    email = email.strip().lower()
    if role not in Role.values:
        raise ValidationFailed(
            f"Unknown role '{role}'. Roles: {', '.join(Role.values)}.", field="role"
        )
    candidate = User(email=email, full_name=full_name, tenant=tenant, role=role)
    _check_password(password, candidate)
    try:
        with transaction.atomic():
            return User.objects.create_user(
                email=email,
                password=password,
                tenant=tenant,
                role=role,
                full_name=full_name,
                is_staff=is_staff,
            )
    except IntegrityError as exc:
        raise _email_refused() from exc


def user_update(*, tenant: Tenant, user: User, data: dict[str, Any], actor: User) -> User:
    changes = {k: v for k, v in data.items() if k in ("full_name", "role", "is_active", "email")}
    if user.pk == actor.pk and (
        changes.get("is_active") is False or changes.get("role", Role.ADMIN) != Role.ADMIN
    ):
        raise ValidationFailed("You cannot demote or deactivate yourself.", "self_lockout")
    if "email" in changes:
        changes["email"] = changes["email"].strip().lower()
    password = data.get("password")
    if password:
        _check_password(password, user)
    try:
        with transaction.atomic():
            for key, value in changes.items():
                setattr(user, key, value)
            if password:
                user.set_password(password)
            user.save()
    except IntegrityError as exc:
        raise _email_refused() from exc
    return user


def user_deactivate(*, tenant: Tenant, user: User, actor: User) -> None:
    user_update(tenant=tenant, user=user, data={"is_active": False}, actor=actor)


# --- Out-of-office delegation ---------------------------------------------------------------
DELEGATION_MAX_DAYS = 365
# One answer for a missing user and another tenant's: the 400 never says which ids exist.
DELEGATE_REFUSED = "Not a user of your organisation."


def _delegate_for(tenant: Tenant, user: User, delegate_id: int) -> User:
    # accounts_user is outside row-level security (login reads it): scope by tenant here.
    delegate = User.objects.filter(tenant=tenant, pk=delegate_id).first()
    if delegate is None:
        raise ValidationFailed(DELEGATE_REFUSED, "unknown_user", field="delegate")
    if delegate.pk == user.pk:
        raise ValidationFailed("You cannot delegate to yourself.", "self", field="delegate")
    if not delegate.is_active:
        raise ValidationFailed("This user is deactivated.", "inactive", field="delegate")
    if delegate.role == Role.VIEWER:
        raise ValidationFailed("A VIEWER cannot decide tasks.", "viewer", field="delegate")
    return delegate


def delegation_set(
    *,
    tenant: Tenant,
    user: User,
    delegate_id: int,
    starts_at: datetime,
    ends_at: datetime,
    reason: str = "",
    now: datetime | None = None,
) -> Delegation:
    """Sets `user`'s one delegation, replacing any earlier one (audited by the table trigger)."""
    now = now or timezone.now()
    delegate = _delegate_for(tenant, user, delegate_id)
    if ends_at <= starts_at:
        raise ValidationFailed("Must be after starts_at.", "before_start", field="ends_at")
    if ends_at - starts_at > timedelta(days=DELEGATION_MAX_DAYS):
        raise ValidationFailed(
            f"A delegation lasts at most {DELEGATION_MAX_DAYS} days.", "too_long", field="ends_at"
        )
    if ends_at <= now:
        raise ValidationFailed("Must be in the future.", "past", field="ends_at")
    values = {"delegate": delegate, "starts_at": starts_at, "ends_at": ends_at, "reason": reason}
    with transaction.atomic():
        existing = Delegation.objects.select_for_update().filter(tenant=tenant, user=user).first()
        if existing is None:
            try:
                with transaction.atomic():
                    return Delegation.objects.create(tenant=tenant, user=user, **values)
            except IntegrityError:  # a concurrent PUT created it first: replace that one
                existing = Delegation.objects.select_for_update().get(tenant=tenant, user=user)
        for key, value in values.items():
            setattr(existing, key, value)
        existing.save(update_fields=list(values))
        return existing


def delegation_clear(*, tenant: Tenant, user: User) -> None:
    """Ends `user`'s delegation (nothing to do when there is none)."""
    Delegation.objects.filter(tenant=tenant, user=user).delete()


# --- Notification preferences ---------------------------------------------------------------


def notification_preferences_update(
    *, tenant: Tenant, user: User, changes: dict[str, bool]
) -> dict[str, bool]:
    """Sets the kinds in `changes` (the others keep their value); the full set after."""
    unknown = sorted(set(changes) - set(NotificationKind.values))
    if unknown:
        raise ValidationFailed("Unknown notification kind.", "unknown_kind", field=unknown[0])
    if changes:
        with transaction.atomic():
            row = (
                NotificationPreference.objects.select_for_update()
                .filter(tenant=tenant, user=user)
                .first()
            )
            if row is None:
                try:
                    with transaction.atomic():
                        NotificationPreference.objects.create(tenant=tenant, user=user, **changes)
                except IntegrityError:  # a concurrent PATCH made the row: change that one
                    row = NotificationPreference.objects.select_for_update().get(
                        tenant=tenant, user=user
                    )
            if row is not None:
                for kind, value in changes.items():
                    setattr(row, kind, value)
                row.save(update_fields=[*changes, "updated_at"])
    return selectors.notification_preferences(tenant=tenant, user=user)
