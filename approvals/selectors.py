"""Approvals reads, always scoped by tenant, each a constant number of queries."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, QuerySet

from approvals.models import SecurityGroup, WorkflowAssignment
from core.errors import NotFound
from tenants.models import Tenant


def group_list(*, tenant: Tenant) -> QuerySet[SecurityGroup]:
    """Groups with `member_count` annotated: one query per page."""
    return (
        SecurityGroup.objects.for_tenant(tenant)
        .annotate(member_count=Count("memberships"))
        .order_by("id")
    )


def group_get(*, tenant: Tenant, group_id: int) -> SecurityGroup:
    try:
        return group_list(tenant=tenant).get(pk=group_id)
    except SecurityGroup.DoesNotExist as exc:
        raise NotFound("Not found.") from exc


def group_member_list(*, tenant: Tenant, group: SecurityGroup) -> QuerySet[Any]:
    return (
        get_user_model()
        .objects.filter(tenant=tenant, security_group_memberships__security_group=group)
        .order_by("id")
    )


def assignment_list(
    *, tenant: Tenant, security_group_id: int | None = None
) -> QuerySet[WorkflowAssignment]:
    """Ordered by security group, then `execution_order`; one query however many rows."""
    queryset = (
        WorkflowAssignment.objects.for_tenant(tenant)
        .select_related("security_group", "workflow_template")
        .order_by("security_group_id", "execution_order", "id")
    )
    if security_group_id is not None:
        queryset = queryset.filter(security_group_id=security_group_id)
    return queryset


def assignment_get(*, tenant: Tenant, assignment_id: int) -> WorkflowAssignment:
    try:
        return assignment_list(tenant=tenant).get(pk=assignment_id)
    except WorkflowAssignment.DoesNotExist as exc:
        raise NotFound("Not found.") from exc
