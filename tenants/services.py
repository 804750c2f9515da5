"""Tenant writes (platform staff only)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from core.errors import ValidationFailed
from tenants.models import Tenant


def tenant_create(*, name: str, slug: str | None = None, is_active: bool = True) -> Tenant:
    slug = slug or slugify(name)[:64]
    if not slug:
        raise ValidationFailed("Cannot derive a slug from this name; give one.", field="slug")
    try:
        with transaction.atomic():
            return Tenant.objects.create(name=name, slug=slug, is_active=is_active)
    except IntegrityError as exc:
        raise ValidationFailed(
            f"A tenant with slug '{slug}' already exists.", "unique", field="slug"
        ) from exc


def tenant_update(*, tenant: Tenant, data: dict[str, Any]) -> Tenant:
    changes = {k: v for k, v in data.items() if k in ("name", "slug", "is_active")}
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
