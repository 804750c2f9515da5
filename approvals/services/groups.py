"""Security group writes: the group itself and its members (users of the same tenant)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from approvals.models import SecurityGroup, SecurityGroupMember
from approvals.services.common import invalid_pk
from core.errors import Conflict, NotFound, ValidationFailed
from tenants.models import Tenant

GROUP_FIELDS = ("name", "description", "is_active")


def _name_taken(name: str) -> ValidationFailed:
    return ValidationFailed(
        f"A security group named '{name}' already exists in this tenant.", "unique", field="name"
    )


def group_create(
    *, tenant: Tenant, name: str, description: str = "", is_active: bool = True, actor: Any
) -> SecurityGroup:
    try:
        with transaction.atomic():
            return SecurityGroup.objects.create(
                tenant=tenant,
                name=name,
                description=description,
                is_active=is_active,
                created_by=actor,
                updated_by=actor,
            )
    except IntegrityError as exc:  # the unique (tenant, name) constraint is the check
        raise _name_taken(name) from exc


def group_update(
    *, tenant: Tenant, group: SecurityGroup, data: dict[str, Any], actor: Any
) -> SecurityGroup:
    changes = {k: v for k, v in data.items() if k in GROUP_FIELDS}
    try:
        with transaction.atomic():
            for key, value in changes.items():
                setattr(group, key, value)
            group.updated_by = actor
            group.save(update_fields=[*changes, "updated_by", "updated_at"])
    except IntegrityError as exc:
        raise _name_taken(changes.get("name", group.name)) from exc
    return group


def group_delete(*, tenant: Tenant, group: SecurityGroup, actor: Any) -> None:
    """Deletes the group with its memberships and workflow assignments; a group that
    transfers were made in stays (their history needs it): deactivate it instead."""
    try:
        with transaction.atomic():
            SecurityGroup.objects.for_tenant(tenant).filter(pk=group.pk).delete()
    except ProtectedError as exc:
        raise Conflict(
            f"Security group '{group.name}' has transfers; deactivate it instead.", "in_use"
        ) from exc


def group_member_add(*, tenant: Tenant, group: SecurityGroup, user_id: int, actor: Any) -> Any:
    """Adds a user of the same tenant; another tenant's user is as unknown as a missing one."""
    user = get_user_model().objects.filter(tenant=tenant, pk=user_id).first()
    if user is None:
        raise ValidationFailed(invalid_pk(user_id), "does_not_exist", field="user")
    try:
        with transaction.atomic():
            SecurityGroupMember.objects.create(
                tenant=tenant, security_group=group, user=user, created_by=actor, updated_by=actor
            )
    except IntegrityError as exc:
        raise ValidationFailed(
            f"User '{user.email}' is already a member of security group '{group.name}'.",
            "unique",
            field="user",
        ) from exc
    return user


def group_member_remove(*, tenant: Tenant, group: SecurityGroup, user_id: int, actor: Any) -> Any:
    """Removes a member and returns the user; a user who is not a member is a 404."""
    with transaction.atomic():
        membership = (
            SecurityGroupMember.objects.for_tenant(tenant)
            .filter(security_group=group, user_id=user_id)
            .select_related("user")
            .first()
        )
        if membership is None:
            raise NotFound("Not found.")
        membership.delete()
    return membership.user


def group_add_member_by_name(
    *, tenant: Tenant, group_name: str, user: Any, actor: Any = None
) -> SecurityGroup:
    """Adds `user` to the tenant's group called `group_name`, creating the group if missing.

    Idempotent and safe against a concurrent creator of the same group or membership.
    """
    if user.tenant_id != tenant.pk:
        raise ValidationFailed(invalid_pk(user.pk), "does_not_exist", field="user")
    name = group_name.strip()
    if not name:
        raise ValidationFailed("A security group name may not be blank.", "blank", field="name")
    with transaction.atomic():
        group = SecurityGroup.objects.for_tenant(tenant).filter(name=name).first()
        if group is None:
            try:
                with transaction.atomic():
                    group = SecurityGroup.objects.create(
                        tenant=tenant, name=name, created_by=actor, updated_by=actor
                    )
            except IntegrityError:  # created meanwhile by someone else
                group = SecurityGroup.objects.for_tenant(tenant).get(name=name)
        SecurityGroupMember.objects.bulk_create(
            [
                SecurityGroupMember(
                    tenant=tenant,
                    security_group=group,
                    user=user,
                    created_by=actor,
                    updated_by=actor,
                )
            ],
            ignore_conflicts=True,
        )
    return group
