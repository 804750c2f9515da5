"""Reads of cases, always scoped by tenant, each a constant number of queries."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from cases.models import Case
from cases.subject import SUBJECT
from core.errors import NotFound
from tenants.models import Tenant
from workflows import selectors as workflow_selectors
from workflows.models import WorkflowRun


def case_list(*, tenant: Tenant, filters: dict[str, Any] | None = None) -> QuerySet[Case]:
    """Newest first, one query per page. Filters: status, priority, assignee, and `search`
    (case-insensitive, in the reference or the title)."""
    filters = filters or {}
    queryset = (
        Case.objects.for_tenant(tenant).select_related("assignee").order_by("-created_at", "-id")
    )
    for field in ("status", "priority", "assignee"):
        if filters.get(field) not in (None, ""):
            queryset = queryset.filter(**{field: filters[field]})
    search = (filters.get("search") or "").strip()
    if search:
        queryset = queryset.filter(Q(reference__icontains=search) | Q(title__icontains=search))
    return queryset


def case_get(*, tenant: Tenant, case_id: int) -> Case:
    """Missing and another tenant's answer the same 404."""
    case = case_list(tenant=tenant).filter(pk=case_id).first()
    if case is None:
        raise NotFound("Not found.")
    return case


def case_runs(*, tenant: Tenant, case: Case) -> list[WorkflowRun]:
    """The case's runs in the order they were started, with their steps: two queries."""
    return list(
        workflow_selectors.runs_for_subject(tenant=tenant, subject_type=SUBJECT, subject_id=case.pk)
    )
