"""Reads of workflow definitions, always scoped by tenant."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from accounts.selectors import stood_in_for
from core.db_router import read_connection
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


# The transition log's object types about a task (see `engine.statuses`).
TASK_HISTORY = ("task", "task_timer", "task_assignment", "task_delegate")


def run_history(*, tenant: Tenant, run: WorkflowRun) -> list[StateTransition]:
    """State changes of the run, of its steps and of their tasks (decisions, timers, claims,
    reassignments, decisions by a delegate), oldest first: one query."""
    step_ids = [s.pk for s in run.step_runs.all()]
    # By subject first: the tasks' index (task_tenant_subj_idx) has no run.
    task_ids = HumanTask.objects.filter(
        tenant_id=tenant.pk, subject_type=run.subject_type, subject_id=run.subject_id, run=run
    ).values("pk")
    return list(
        StateTransition.objects.for_tenant(tenant)
        .filter(
            Q(object_type="run", object_id=run.pk)
            | Q(object_type="step_run", object_id__in=step_ids)
            | Q(object_type__in=TASK_HISTORY, object_id__in=task_ids)
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


_COUNT = "SELECT COUNT(*) FROM ({}) AS q"


class TaskInbox:
    """Pending tasks a user may act on, newest (highest id) first, as a paginator takes them:
    `count()` and a slice, one query each, whatever the tenant's history.

    Both start from open work only: the user's open ballots (ballot_open_idx: tenant, user,
    task, where undecided), those of the people whose out-of-office delegate they are now,
    and the pending form tasks open to their role (task_open_form_idx). A task someone else
    claimed is left out. A page reads the newest ids of each (an index walk that stops at the
    page's end), and then those tasks; the count counts their union. Neither walks the
    tenant's pending tasks, nor anything decided: a task that closes deletes its undecided
    ballots (`ballots.close_ballots`), so an open ballot is an open task's."""

    ordered = True  # for Django's paginator: a stable order

    def __init__(self, tenant: Tenant, user: Any, filters: dict[str, Any]) -> None:
        self.tenant_id = tenant.pk
        self.user = user
        # Task fields to match exactly (`action`, `subject_type`): empty values match all.
        self.filters = {name: value for name, value in filters.items() if value}

    def _ballots(self, holders: Q) -> QuerySet[TaskBallot]:
        ballots = TaskBallot.objects.filter(
            holders, tenant_id=self.tenant_id, decision__isnull=True
        )
        if self.filters:
            ballots = ballots.filter(**{f"task__{k}": v for k, v in self.filters.items()})
        # An open ballot is an open (pending) task's: leave out those someone else claimed,
        # probing task_claimed_open_idx (a join to every ballot's task scanned the tasks).
        claimed_by_others = HumanTask.objects.filter(
            tenant_id=self.tenant_id,
            pk=OuterRef("task_id"),
            status=TaskStatus.PENDING,
            claimed_by__isnull=False,
        ).exclude(claimed_by=self.user)
        return ballots.filter(~Exists(claimed_by_others))

    @cached_property
    def _open_work(self) -> list[QuerySet[Any]]:
        # Their ballots; those of the people they stand in for now (out-of-office delegation:
        # a separate walk, so that theirs stays an index walk in task order); form tasks.
        # Built once: the paginator's count and page use the same (and one delegation read).
        delegators = stood_in_for(self.tenant_id, self.user.pk)
        return [
            self._ballots(Q(user=self.user)).values_list("task_id", flat=True),
            self._ballots(Q(user__in=delegators)).values_list("task_id", flat=True),
            self._forms().values_list("id", flat=True),
        ]

    def _unclaimed(self, prefix: str) -> Q:
        # A task someone else claimed is theirs until released.
        return Q(**{f"{prefix}claimed_by__isnull": True}) | Q(**{f"{prefix}claimed_by": self.user})

    def _forms(self) -> QuerySet[HumanTask]:
        return (
            HumanTask.objects.filter(tenant_id=self.tenant_id, status=TaskStatus.PENDING)
            .exclude(open_to_roles="")  # task_open_form_idx's condition: its rows only
            .filter(open_to_roles__contains=f",{self.user.role},", **self.filters)
            .filter(self._unclaimed(""))
        )

    def count(self) -> int:
        parts = [part.order_by().query.sql_with_params() for part in self._open_work]
        # The connection the ORM reads from (the replica for a replica-served inbox).
        with read_connection(HumanTask).cursor() as cursor:
            # Compiled ORM queries in one round trip; UNION: a task reached two ways (their
            # ballot and one they stand in for) counts once.
            sql = _COUNT.format(" UNION ".join(sql for sql, _ in parts))
            cursor.execute(sql, [param for _, params in parts for param in params])
            return int(cursor.fetchone()[0])

    def __getitem__(self, page: slice) -> list[HumanTask]:
        start, stop = page.start or 0, page.stop
        if stop is None or stop <= start:
            return []
        own, delegated, forms = self._open_work
        if connection.features.supports_slicing_ordering_in_compound:
            # The newest `stop` of each, merged: index walks of at most `stop` entries.
            ids: Any = (
                own.order_by("-task_id")[:stop]
                .union(delegated.order_by("-task_id")[:stop], forms.order_by("-id")[:stop])
                .order_by("-task_id")
            )
            open_work = Q(pk__in=ids[start:stop])
        else:  # SQLite (the embedded default): no LIMIT inside a UNION
            open_work = Q(pk__in=own) | Q(pk__in=delegated) | Q(pk__in=forms)
        tasks = (
            HumanTask.objects.filter(tenant_id=self.tenant_id, status=TaskStatus.PENDING)
            .filter(open_work)
            .select_related("step_run", "run__workflow")
            .order_by("-id")
        )
        if connection.features.supports_slicing_ordering_in_compound:
            return list(tasks)
        return list(tasks[start:stop])


def task_inbox(*, tenant: Tenant, user: Any, filters: dict[str, Any] | None = None) -> TaskInbox:
    """Pending tasks this user may act on: a ballot of theirs is open, or the task is a form
    task open to their role (see TaskInbox). Newest first; constant queries per page."""
    return TaskInbox(tenant, user, filters or {})


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
