"""Approvals reads, always scoped by tenant, each a constant number of queries."""

from __future__ import annotations

from typing import Any, NamedTuple

from django.contrib.auth import get_user_model
from django.db import connection, connections, router
from django.db.models import Count, QuerySet

from approvals.models import (
    SecurityGroup,
    SecurityGroupMember,
    Transfer,
    TransferStatus,
    WorkflowAssignment,
)
from core.errors import NotFound
from tenants.models import Tenant
from workflows import engine
from workflows.models import (
    HumanTask,
    Step,
    StepRun,
    StepRunStatus,
    TaskBallot,
    TaskStatus,
    Workflow,
    WorkflowRun,
)


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


# --- transfers -----------------------------------------------------------------------------


class TransferList:
    """The transfer list as a paginator takes it, newest first: `count()` and a slice, one
    hand-written statement each (prepared once per connection; the ORM spent more building the
    list's five queries than PostgreSQL running them). A slice is `(transfer, chain)` pairs,
    the transfers with their group's name and their chains read in the same statement as the
    page's ids. Filters: status, transfer_type, security_group, mine, awaiting_me. Read where
    the router says (a replica for a replica-served list)."""

    ordered = True  # for Django's paginator: a stable order

    def __init__(self, tenant: Tenant, user: Any, filters: dict[str, Any]) -> None:
        where: list[str] = ["t.tenant_id = %s"]
        params: list[Any] = [tenant.pk]
        for field, column in _FILTER_COLUMNS:
            if filters.get(field) not in (None, ""):
                where.append(f"t.{column} = %s")
                params.append(filters[field])
        if filters.get("mine"):
            where.append("t.created_by_id = %s")
            params.append(user.pk)
        if filters.get("awaiting_me"):
            where.append(_AWAITING)
            params += [TransferStatus.PENDING, user.pk, TaskStatus.PENDING]
        self.where, self.params = " AND ".join(where), params

    def count(self) -> int:
        rows, _ = engine.execute(
            _count_sql(self.where), self.params, using=router.db_for_read(Transfer)
        )
        return int(rows[0][0])

    def __getitem__(self, page: slice) -> list[tuple[Transfer, list[dict]]]:
        start, stop = page.start or 0, page.stop
        if stop is None or stop <= start:
            return []
        return _with_chains(
            _with_chains_sql(f"{self.where} {_NEWEST_FIRST} LIMIT %s OFFSET %s"),
            [*self.params, stop - start, start],
        )


_NEWEST_FIRST = "ORDER BY t.created_at DESC, t.id DESC"
_FILTER_COLUMNS = (
    ("status", "status"),
    ("transfer_type", "transfer_type"),
    ("security_group", "security_group_id"),
)


def transfer_list(*, tenant: Tenant, user: Any, filters: dict[str, Any]) -> TransferList:
    """Newest first, each with its chain (see TransferList)."""
    return TransferList(tenant, user, filters)


def transfer_get(*, tenant: Tenant, transfer_id: int) -> Transfer:
    try:
        return (
            Transfer.objects.for_tenant(tenant).select_related("security_group").get(pk=transfer_id)
        )
    except Transfer.DoesNotExist as exc:
        raise NotFound("Not found.") from exc


def transfer_status(*, tenant_id: int, transfer_id: int) -> str | None:
    """The transfer's status (None if not this tenant's): what a lost race's 409 names."""
    rows, _ = engine.execute(_transfer_status_sql(), [tenant_id, transfer_id])
    return rows[0][0] if rows else None


@engine.cached
def _transfer_status_sql() -> str:
    table = engine.qn(Transfer._meta.db_table)
    return f"SELECT status FROM {table} WHERE tenant_id = %s AND id = %s"  # noqa: S608


def active_group_ids(*, tenant_id: int, user_id: int, limit: int = 2) -> list[int]:
    """Up to `limit` active security groups the user belongs to, by id."""
    rows, _ = engine.execute(_active_group_ids_sql(), [tenant_id, user_id, limit])
    return [row[0] for row in rows]


@engine.cached
def _active_group_ids_sql() -> str:
    member, group = (
        engine.qn(SecurityGroupMember._meta.db_table),
        engine.qn(SecurityGroup._meta.db_table),
    )
    return (
        f"SELECT m.security_group_id FROM {member} m JOIN {group} g "  # noqa: S608
        "ON g.tenant_id = m.tenant_id AND g.id = m.security_group_id "
        "WHERE m.tenant_id = %s AND m.user_id = %s AND g.is_active "
        "ORDER BY m.security_group_id LIMIT %s"
    )


def transfer_with_chain(*, tenant: Tenant, transfer_id: int) -> tuple[Transfer, list[dict]]:
    """One transfer (with its group's name) and its chain, in one query, as the list reads a
    page's: what the detail shows and a command answers with."""
    found = _with_chains(
        _with_chains_sql("t.tenant_id = %s AND t.id = %s"), [tenant.pk, transfer_id]
    )
    if not found:
        raise NotFound("Not found.")
    return found[0]


def concrete_fields(model: Any) -> list[Any]:
    return list(model._meta.concrete_fields)


# What a chain item shows of a run, its active step and a decided ballot (`_chain_item`).
_RUN = (
    "id",
    "sequence",
    "workflow_id",
    "workflow_code",
    "workflow_name",
    "status",
    "started_at",
    "finished_at",
)
_STEP = ("id", "name", "action", "position")  # position: the order of a run's active steps
_BALLOT = ("id", "decision", "user_id", "acted_by_id", "decided_at", "comment")


_GROUP = Transfer._meta.get_field("security_group")


def _with_chains(sql: str, params: list[Any]) -> list[tuple[Transfer, list[dict]]]:
    """The transfers `sql` (`_with_chains_sql`) selects, in its order, each with its chain: a
    row per run, active step and decided ballot. Only the transfer becomes an instance; the
    rest is read straight into the chain's dicts."""
    using = router.db_for_read(Transfer)
    db = connections[using]
    rows, _ = engine.execute(sql, params, using=using)
    parts, at = [], 0
    for width in (len(concrete_fields(Transfer)), 1, len(_RUN), len(_STEP), len(_BALLOT)):
        parts.append(slice(at, at + width))
        at += width
    found: dict[int, tuple[Transfer, dict[int, dict[str, Any]]]] = {}
    seen: set[int] = set()
    groups: dict[int, SecurityGroup] = {}  # a page's transfers share a few groups
    for row in rows:
        transfer_id = row[0]
        if transfer_id not in found:
            transfer = engine.instance(Transfer, row[parts[0]], db)
            group_id = transfer.security_group_id
            if group_id not in groups:
                (group_name,) = row[parts[1]]
                groups[group_id] = engine.new(
                    SecurityGroup, pk=group_id, tenant_id=transfer.tenant_id, name=group_name
                )
            _GROUP.set_cached_value(transfer, groups[group_id])  # as select_related does
            found[transfer_id] = (transfer, {})
        runs = found[transfer_id][1]
        run_id = row[parts[2].start]
        if run_id is None:
            continue  # no run
        if run_id not in runs:
            step = row[parts[3]]
            runs[run_id] = _chain_item(
                engine.converted(WorkflowRun, _RUN, row[parts[2]], db),
                step if step[0] is not None else None,
            )
        ballot_id = row[parts[4].start]
        if ballot_id is not None and ballot_id not in seen:  # once per active step
            seen.add(ballot_id)
            _, decision, user_id, acted_by_id, decided_at, comment = engine.converted(
                TaskBallot, _BALLOT, row[parts[4]], db
            )
            runs[run_id]["decisions"].append(
                {
                    "step": row[at],  # the task's step run
                    "decision": decision,
                    # Who decided; a delegate decides a ballot that stays its holder's.
                    "decided_by": acted_by_id or user_id,
                    "on_behalf_of": user_id if acted_by_id else None,
                    "decided_at": decided_at,
                    "comment": comment,
                }
            )
    return [(transfer, list(runs.values())) for transfer, runs in found.values()]


def _chain_item(run: list[Any], active: tuple | None) -> dict:
    pk, sequence, workflow_id, code, name, status, started_at, finished_at = run
    return {
        "id": pk,
        "execution_order": sequence,
        "workflow_template": workflow_id,
        "workflow_template_code": code,
        "workflow_template_name": name,
        "status": status,
        "started_at": started_at,
        "finished_at": finished_at,
        "current_step": (
            {"id": active[0], "name": active[1], "action": active[2]} if active else None
        ),
        "decisions": [],
    }


# awaiting_me: a pending transfer with an open ballot of the user's on a pending task.
_AWAITING = (
    "t.status = %s AND EXISTS (SELECT 1 FROM workflows_taskballot b "
    "JOIN workflows_humantask k ON k.tenant_id = b.tenant_id AND k.id = b.task_id "
    "WHERE b.tenant_id = t.tenant_id AND b.user_id = %s AND b.decision IS NULL "
    "AND k.status = %s AND k.subject_type = 'transfer' AND k.subject_id = t.id)"
)


@engine.cached
def _count_sql(where: str) -> str:
    return f"SELECT count(*) FROM {engine.qn(Transfer._meta.db_table)} t WHERE {where}"  # noqa: S608


@engine.cached
def _with_chains_sql(page: str) -> str:
    """The transfers `page` selects (a condition on `t`, maybe ordered and limited: the page is
    read whole in that subquery, which a generic plan cannot turn into a hash of the tenant's
    every transfer), with their groups' names, runs, active steps and decided ballots, in the
    page's order."""
    qn, columns = engine.qn, engine.columns
    transfer, group = qn(Transfer._meta.db_table), qn(SecurityGroup._meta.db_table)
    run, step_run = qn(WorkflowRun._meta.db_table), qn(StepRun._meta.db_table)
    task, ballot = qn(HumanTask._meta.db_table), qn(TaskBallot._meta.db_table)
    waiting, running = StepRunStatus.WAITING.value, StepRunStatus.RUNNING.value
    run_columns = columns(WorkflowRun, "r", _RUN)
    step_columns = columns(StepRun, "a", _STEP)
    ballot_columns = columns(TaskBallot, "b", _BALLOT)
    # Runs, their active steps and decided ballots, each looked up by its index from the row
    # before (tenant first). On PostgreSQL as LATERAL subqueries that the planner may not pull
    # up (OFFSET 0): joined flat, a plan made while the tables were small hashed every task and
    # ballot of the tenant on each page, and a prepared statement kept it as they grew.
    run_on = "r.tenant_id = t.tenant_id AND r.subject_type = 'transfer' AND r.subject_id = t.id"
    active_on = (
        f"a.tenant_id = t.tenant_id AND a.run_id = r.id AND a.status IN ('{waiting}', '{running}')"
    )
    decided_on = (
        "k.tenant_id = t.tenant_id AND k.subject_type = 'transfer' AND k.subject_id = t.id "
        "AND k.run_id = r.id"
    )
    task_ballots = (
        f"{task} k JOIN {ballot} b ON b.tenant_id = k.tenant_id AND b.task_id = k.id "
        "AND b.decision IS NOT NULL"
    )
    if connection.vendor == "postgresql":
        step_of = "b.step_run_id"
        joins = (
            f"LEFT JOIN LATERAL (SELECT {run_columns} FROM {run} r "  # noqa: S608
            f"WHERE {run_on} OFFSET 0) r ON true "
            f"LEFT JOIN LATERAL (SELECT {step_columns} FROM {step_run} a "
            f"WHERE {active_on} OFFSET 0) a ON true "
            f"LEFT JOIN LATERAL (SELECT {ballot_columns}, k.step_run_id "
            f"FROM {task_ballots} WHERE {decided_on} OFFSET 0) b ON true "
        )
    else:  # SQLite (the embedded default): no LATERAL; it walks the indexes anyway
        step_of = "k.step_run_id"
        joins = (
            f"LEFT JOIN {run} r ON {run_on} LEFT JOIN {step_run} a ON {active_on} "
            f"LEFT JOIN ({task_ballots}) ON {decided_on} "
        )
    return (
        f"SELECT {columns(Transfer, 't')}, g.name, {run_columns}, "  # noqa: S608
        f"{step_columns}, {ballot_columns}, {step_of} "
        f"FROM (SELECT {columns(Transfer, 't')} FROM {transfer} t WHERE {page}) t "
        f"JOIN {group} g ON g.tenant_id = t.tenant_id AND g.id = t.security_group_id "
        f"{joins}"
        "ORDER BY t.created_at DESC, t.id DESC, r.sequence, r.id, a.position, a.id, "
        "b.decided_at, b.id"
    )


class ChainPlan(NamedTuple):
    """What creating a transfer needs to know about its group, in one query."""

    group_name: str
    group_is_active: bool
    actor_is_member: bool
    workflows: list[Workflow]  # the chain: matching active assignments in execution order
    steps: dict[int, list[tuple]]  # by workflow id, as the engine reads them (`step_snapshot`)


def transfer_chain_plan(
    *, tenant_id: int, security_group_id: int, transfer_type: str, actor_id: int
) -> ChainPlan | None:
    """The group (None if not this tenant's), whether the actor belongs to it, and the active
    workflows assigned to it for `transfer_type`, in execution order."""
    rows, _ = engine.execute(
        _chain_plan_sql(), [actor_id, transfer_type, tenant_id, security_group_id]
    )
    if not rows:
        return None
    name, is_active, is_member = rows[0][:3]
    workflows: list[Workflow] = []
    steps: dict[int, list[tuple]] = {}
    for *_, pk, wf_name, code, order, step_name, action, step_config in rows:
        if pk is None:
            continue
        if pk not in steps:
            workflows.append(
                engine.new(Workflow, pk=pk, tenant_id=tenant_id, name=wf_name, code=code)
            )
            steps[pk] = []
        if order is not None:
            step = engine.step_snapshot(pk, order, step_name, action, step_config)
            if action == "approval":  # a transfer's default approvers: its security group
                config = engine.with_default_approvers(
                    step[4], {"security_group": security_group_id}
                )
                step = (*step[:4], config)
            steps[pk].append(step)
    return ChainPlan(name, bool(is_active), bool(is_member), workflows, steps)


@engine.cached
def _chain_plan_sql() -> str:
    qn = engine.qn
    group, member = qn(SecurityGroup._meta.db_table), qn(SecurityGroupMember._meta.db_table)
    assignment, workflow = qn(WorkflowAssignment._meta.db_table), qn(Workflow._meta.db_table)
    step = qn(Step._meta.db_table)
    return (
        "SELECT g.name, g.is_active, EXISTS (SELECT 1 FROM "  # noqa: S608
        f"{member} m WHERE m.tenant_id = g.tenant_id AND m.security_group_id = g.id "
        'AND m.user_id = %s), w.id, w.name, w.code, s."order", s.name, s.action, s.config '
        f"FROM {group} g LEFT JOIN ({assignment} a JOIN {workflow} w "
        "ON w.tenant_id = a.tenant_id AND w.id = a.workflow_template_id AND w.is_active "
        f"AND w.transfer_type = %s LEFT JOIN {step} s "
        "ON s.tenant_id = w.tenant_id AND s.workflow_id = w.id) "
        "ON a.tenant_id = g.tenant_id AND a.security_group_id = g.id AND a.is_active "
        'WHERE g.tenant_id = %s AND g.id = %s ORDER BY a.execution_order, s."order", s.id'
    )
