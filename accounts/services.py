"""User writes. Passwords go through Django's validators; roles are the four of DESIGN §4."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, transaction

from accounts.models import Role, User
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
