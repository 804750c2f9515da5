"""Reads of workflow definitions, always scoped by tenant."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from core.errors import NotFound
from tenants.models import Tenant
from workflows.models import Step, Workflow


def workflow_list(*, tenant: Tenant) -> QuerySet[Workflow]:
    """Workflows with their steps: a constant 2 queries however many there are."""
    steps = Step.objects.for_tenant(tenant).order_by("order")
    return (
        Workflow.objects.for_tenant(tenant)
        .prefetch_related(Prefetch("steps", queryset=steps))
        .order_by("id")
    )


def workflow_get(*, tenant: Tenant, workflow_id: int) -> Workflow:
    try:
        return workflow_list(tenant=tenant).get(pk=workflow_id)
    except Workflow.DoesNotExist as exc:
        raise NotFound("Not found.") from exc


def workflow_get_plain(*, tenant: Tenant, workflow_id: int) -> Workflow:
    """Without steps: for paths that only need to know the workflow exists and is ours."""
    try:
        return Workflow.objects.for_tenant(tenant).get(pk=workflow_id)
    except Workflow.DoesNotExist as exc:
        raise NotFound("Not found.") from exc


def step_list(*, tenant: Tenant, workflow: Workflow) -> QuerySet[Step]:
    return Step.objects.for_tenant(tenant).filter(workflow=workflow).order_by("order", "id")


def step_get(*, tenant: Tenant, workflow: Workflow, step_id: int) -> Step:
    try:
        return step_list(tenant=tenant, workflow=workflow).get(pk=step_id)
    except Step.DoesNotExist as exc:
        raise NotFound("Not found.") from exc
