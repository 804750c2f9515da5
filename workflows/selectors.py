"""Reads of workflow definitions, always scoped by tenant."""

from __future__ import annotations

from functools import cached_property, lru_cache
from typing import Any

from django.db import connections, router
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from core.errors import NotFound
from tenants.models import Tenant
from workflows import engine
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


class TaskInbox:
    """Pending tasks a user may act on, newest (highest id) first, as a paginator takes them:
    `count()` and a slice, one hand-written statement each (prepared once per connection: the
    ORM spent more building them than PostgreSQL running them), whatever the tenant's history.

    Both start from open work only: the user's open ballots (ballot_open_idx: tenant, user,
    task, where undecided), those of the people whose out-of-office delegate they are now,
    and the pending form tasks open to their role (task_open_form_idx). A task someone else
    claimed is left out (probing task_claimed_open_idx). A page reads the newest ids of each
    (an index walk that stops at the page's end), and then those tasks with their run's
    workflow; the count counts their union. Neither walks the tenant's pending tasks, nor
    anything decided: a task that closes deletes its undecided ballots
    (`ballots.close_ballots`), so an open ballot is an open task's. Read where the router says
    (a replica for a replica-served inbox)."""

    ordered = True  # for Django's paginator: a stable order

    def __init__(self, tenant: Tenant, user: Any, filters: dict[str, Any]) -> None:
        self.tenant_id = tenant.pk
        self.user = user
        # Task fields to match exactly (`action`, `subject_type`): empty values match all.
        self.filters = tuple((name, filters[name]) for name in _TASK_FILTERS if filters.get(name))

    @cached_property
    def using(self) -> str:
        return str(router.db_for_read(HumanTask))

    @cached_property
    def _open_work(self) -> list[tuple[str, str, list[Any]]]:
        """(what it selects, its id column, params) of each way to the user's open work:
        their ballots; those of the people they stand in for now (a separate walk, so that
        theirs stays an index walk in task order); form tasks open to their role. Built once:
        the paginator's count and page use the same (and one delegation read)."""
        tenant_id, user_id = self.tenant_id, self.user.pk
        names = tuple(name for name, _ in self.filters)
        values = [value for _, value in self.filters]
        now = connections[self.using].ops.adapt_datetimefield_value(timezone.now())
        parts = [
            (_ballots_sql(names, _HELD), "b.task_id", [tenant_id, user_id, *values, user_id]),
            (
                _ballots_sql(names, _STOOD_IN_FOR),
                "b.task_id",
                [tenant_id, tenant_id, user_id, now, now, *values, user_id],
            ),
        ]
        role = _like_escaped(str(self.user.role))
        parts.append((_forms_sql(names), "k.id", [tenant_id, f"%,{role},%", *values, user_id]))
        return parts

    def count(self) -> int:
        union = " UNION ".join(sql for sql, _, _ in self._open_work)
        rows, _ = engine.execute(
            f"SELECT count(*) FROM ({union}) AS q",  # noqa: S608  (our own statements)
            [p for _, _, params in self._open_work for p in params],
            using=self.using,
        )
        return int(rows[0][0])

    def __getitem__(self, page: slice) -> list[HumanTask]:
        start, stop = page.start or 0, page.stop
        if stop is None or stop <= start:
            return []
        # The newest `stop` of each way, merged (an arm's LIMIT inside a subquery: SQLite too).
        arms = " UNION ".join(
            f"SELECT id FROM ({sql} ORDER BY {column} DESC LIMIT %s) AS a{n}"  # noqa: S608
            for n, (sql, column, _) in enumerate(self._open_work)
        )
        params = [p for _, _, arm in self._open_work for p in [*arm, stop]]
        rows, _ = engine.execute(
            _page_sql(arms),
            [*params, stop - start, start, self.tenant_id],
            using=self.using,
        )
        width = len(HumanTask._meta.concrete_fields)
        tasks = []
        for row in rows:
            task = engine.instance(HumanTask, row[:width])
            workflow_id, code, name = row[width:]
            run = engine.new(WorkflowRun, pk=task.run_id, tenant_id=task.tenant_id)
            run.workflow = (
                None
                if workflow_id is None
                else engine.new(
                    Workflow, pk=workflow_id, tenant_id=task.tenant_id, code=code, name=name
                )
            )
            task.run = run
            tasks.append(task)
        return tasks


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_TASK_FILTERS = ("action", "subject_type")
_PENDING = TaskStatus.PENDING.value
# Not a task someone else claimed (task_claimed_open_idx; the last parameter: the user).
_NOT_CLAIMED_BY_OTHERS = (
    "NOT EXISTS (SELECT 1 FROM workflows_humantask c WHERE c.tenant_id = b.tenant_id "  # noqa: S608
    f"AND c.id = b.task_id AND c.status = '{_PENDING}' AND c.claimed_by_id IS NOT NULL "
    "AND c.claimed_by_id <> %s)"
)


# Whose open ballots: the user's own, or those of the people they stand in for now (an active
# out-of-office delegation to them, both people active: `accounts.selectors`' rule).
_HELD = "b.user_id = %s"
_STOOD_IN_FOR = (
    "b.user_id IN (SELECT d.user_id FROM accounts_delegation d "
    "JOIN accounts_user du ON du.id = d.delegate_id AND du.is_active "
    "JOIN accounts_user u ON u.id = d.user_id AND u.is_active "
    "WHERE d.tenant_id = %s AND d.delegate_id = %s AND d.starts_at <= %s AND d.ends_at > %s)"
)


@lru_cache(maxsize=16)
def _ballots_sql(filters: tuple[str, ...], held: str) -> str:
    """Open ballots `held` selects (its parameters after the tenant's); the task fields
    `filters` (names) match exactly."""
    joined = (
        " JOIN workflows_humantask f ON f.tenant_id = b.tenant_id AND f.id = b.task_id"
        if filters
        else ""
    )
    matching = "".join(f" AND f.{name} = %s" for name in filters)
    return (
        f"SELECT b.task_id AS id FROM workflows_taskballot b{joined} "  # noqa: S608
        f"WHERE b.tenant_id = %s AND {held} AND b.decision IS NULL{matching} "
        f"AND {_NOT_CLAIMED_BY_OTHERS}"
    )


@lru_cache(maxsize=16)
def _forms_sql(filters: tuple[str, ...]) -> str:
    """Pending form tasks open to a role (a LIKE pattern) not claimed by someone else."""
    return (
        "SELECT k.id AS id FROM workflows_humantask k WHERE k.tenant_id = %s "  # noqa: S608
        f"AND k.status = '{_PENDING}' AND k.open_to_roles <> '' "
        "AND k.open_to_roles LIKE %s ESCAPE '\\'"
        + "".join(f" AND k.{name} = %s" for name in filters)
        + " AND (k.claimed_by_id IS NULL OR k.claimed_by_id = %s)"
    )


@lru_cache(maxsize=64)
def _page_sql(arms: str) -> str:
    return (
        f"SELECT {engine.columns(HumanTask, 'k')}, w.id, w.code, w.name "  # noqa: S608
        f"FROM (SELECT id FROM ({arms}) AS u ORDER BY id DESC LIMIT %s OFFSET %s) AS p "
        f"JOIN workflows_humantask k ON k.tenant_id = %s AND k.id = p.id "
        f"AND k.status = '{_PENDING}' "
        "JOIN workflows_workflowrun r ON r.tenant_id = k.tenant_id AND r.id = k.run_id "
        "LEFT JOIN workflows_workflow w ON w.tenant_id = r.tenant_id AND w.id = r.workflow_id "
        "ORDER BY k.id DESC"
    )


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
