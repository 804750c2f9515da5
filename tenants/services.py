"""Tenant writes (platform staff only)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from core.errors import ValidationFailed
from tenants.models import AUDIT_RETENTION_MAX_DAYS, AUDIT_RETENTION_MIN_DAYS, Tenant


def tenant_create(
    *,
    name: str,
    slug: str | None = None,
    is_active: bool = True,
    audit_retention_days: int | None = None,
) -> Tenant:
    slug = slug or slugify(name)[:64]
    if not slug:
        raise ValidationFailed("Cannot derive a slug from this name; give one.", field="slug")
    try:
        with transaction.atomic():
            return Tenant.objects.create(
                name=name,
                slug=slug,
                is_active=is_active,
                audit_retention_days=_retention(audit_retention_days),
            )
    except IntegrityError as exc:
        raise ValidationFailed(
            f"A tenant with slug '{slug}' already exists.", "unique", field="slug"
        ) from exc


def tenant_update(*, tenant: Tenant, data: dict[str, Any]) -> Tenant:
    changes = {
        k: v for k, v in data.items() if k in ("name", "slug", "is_active", "audit_retention_days")
    }
    if "audit_retention_days" in changes:
        changes["audit_retention_days"] = _retention(changes["audit_retention_days"])
    try:
        with transaction.atomic():
            for key, value in changes.items():
                setattr(tenant, key, value)
            tenant.save()
    except IntegrityError as exc:
        raise ValidationFailed(
            f"A tenant with slug '{changes.get('slug')}' already exists.", "unique", field="slug"
        ) from exc
    return tenant


def _retention(days: Any) -> int | None:
    """None (keep forever) or a whole number of days within the bounds, else a 400 naming
    the field (the API's serializer checks first; the commands come through here)."""
    if days is None:
        return None
    if (
        isinstance(days, bool)
        or not isinstance(days, int)
        or not (AUDIT_RETENTION_MIN_DAYS <= days <= AUDIT_RETENTION_MAX_DAYS)
    ):
        raise ValidationFailed(
            f"Ensure this value is a whole number of days from {AUDIT_RETENTION_MIN_DAYS} to "
            f"{AUDIT_RETENTION_MAX_DAYS}, or null to keep the audit trail forever.",
            field="audit_retention_days",
        )
    return days
