"""Reads of workflow definitions, always scoped by tenant."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from core.errors import NotFound
from tenants.models import Tenant
from workflows.models import (
    BusinessCalendar,
    HumanTask,
    StateTransition,
    Step,
    StepRun,
    TaskBallot,
    TaskStatus,
    Workflow,
    WorkflowRun,
)


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


# --- runs and tasks ------------------------------------------------------------------------


def run_get(*, tenant: Tenant, run_id: int) -> WorkflowRun:
    """A run with its steps and state history: 3 queries."""
    try:
        return (
            WorkflowRun.objects.for_tenant(tenant)
            .prefetch_related(
                Prefetch(
                    "step_runs", queryset=StepRun.objects.for_tenant(tenant).order_by("position")
                ),
            )
            .get(pk=run_id)
        )
    except WorkflowRun.DoesNotExist as exc:
        raise NotFound("Not found.") from exc


def run_history(*, tenant: Tenant, run: WorkflowRun) -> list[StateTransition]:
    """State changes of the run and of its steps, oldest first."""
    step_ids = [s.pk for s in run.step_runs.all()]
    return list(
        StateTransition.objects.for_tenant(tenant)
        .filter(
            Q(object_type="run", object_id=run.pk)
            | Q(object_type="step_run", object_id__in=step_ids)
        )
        .select_related("actor")
        .order_by("id")
    )


def runs_for_subject(
    *, tenant: Tenant, subject_type: str, subject_id: int
) -> QuerySet[WorkflowRun]:
    return (
        WorkflowRun.objects.for_tenant(tenant)
        .filter(subject_type=subject_type, subject_id=subject_id)
        .prefetch_related(
            Prefetch("step_runs", queryset=StepRun.objects.for_tenant(tenant).order_by("position"))
        )
        .order_by("sequence")
    )


def _open_ballot(user: Any) -> Exists:
    return Exists(
        TaskBallot.objects.filter(
            tenant_id=OuterRef("tenant_id"), task=OuterRef("pk"), user=user, decision__isnull=True
        )
    )


def task_inbox(*, tenant: Tenant, user: Any) -> QuerySet[HumanTask]:
    """Pending tasks this user may act on: a ballot of theirs is open, or the task is a form
    task open to their role. Newest first; constant queries per page."""
    return (
        HumanTask.objects.for_tenant(tenant)
        .filter(status=TaskStatus.PENDING)
        .filter(Q(_open_ballot(user)) | Q(open_to_roles__contains=f",{user.role},"))
        .select_related("step_run", "run__workflow")
        .order_by("-created_at", "-id")
    )


def task_get(*, tenant: Tenant, task_id: int) -> HumanTask:
    try:
        return (
            HumanTask.objects.for_tenant(tenant)
            .select_related("step_run", "run__workflow")
            .get(pk=task_id)
        )
    except HumanTask.DoesNotExist as exc:
        raise NotFound("Not found.") from exc


def task_decisions(*, tenant: Tenant, task_ids: list[int]) -> QuerySet[TaskBallot]:
    return (
        TaskBallot.objects.for_tenant(tenant)
        .filter(task_id__in=task_ids, decision__isnull=False)
        .select_related("task")
        .order_by("decided_at", "id")
    )


# --- business calendars --------------------------------------------------------------------


def calendar_list(*, tenant: Tenant) -> QuerySet[BusinessCalendar]:
    return BusinessCalendar.objects.for_tenant(tenant).order_by("id")


def calendar_get(*, tenant: Tenant, calendar_id: int) -> BusinessCalendar:
    try:
        return calendar_list(tenant=tenant).get(pk=calendar_id)
    except BusinessCalendar.DoesNotExist as exc:
        raise NotFound("Not found.") from exc
