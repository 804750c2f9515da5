"""Approvals reads, always scoped by tenant, each a constant number of queries."""

from __future__ import annotations

from typing import Any, NamedTuple

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, QuerySet

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


def transfer_list(*, tenant: Tenant, user: Any, filters: dict[str, Any]) -> QuerySet[Transfer]:
    """Newest first. Filters: status, transfer_type, security_group, mine, awaiting_me."""
    queryset = (
        Transfer.objects.for_tenant(tenant)
        .select_related("security_group")
        .order_by("-created_at", "-id")
    )
    for field in ("status", "transfer_type", "security_group"):
        if filters.get(field) not in (None, ""):
            queryset = queryset.filter(**{field: filters[field]})
    if filters.get("mine"):
        queryset = queryset.filter(created_by=user)
    if filters.get("awaiting_me"):
        open_ballots = TaskBallot.objects.filter(
            tenant_id=tenant.pk,
            user=user,
            decision__isnull=True,
            task__status=TaskStatus.PENDING,
            task__subject_type="transfer",
            task__subject_id=OuterRef("pk"),
        )
        queryset = queryset.filter(Exists(open_ballots), status=TransferStatus.PENDING)
    return queryset


def transfer_get(*, tenant: Tenant, transfer_id: int) -> Transfer:
    try:
        return (
            Transfer.objects.for_tenant(tenant).select_related("security_group").get(pk=transfer_id)
        )
    except Transfer.DoesNotExist as exc:
        raise NotFound("Not found.") from exc


def transfer_chains(*, tenant: Tenant, transfers: list[Transfer]) -> dict[int, list[dict]]:
    """The chain of each transfer, in execution order: three queries for any number."""
    ids = [t.pk for t in transfers]
    # Rows as dicts, only the columns the chain shows: no model instances to build.
    runs = list(
        WorkflowRun.objects.for_tenant(tenant)
        .filter(subject_type="transfer", subject_id__in=ids)
        .order_by("subject_id", "sequence")
        .values(*_RUN_COLUMNS)
    )
    active: dict[int, dict] = {}
    for step in (
        StepRun.objects.for_tenant(tenant)
        .filter(run_id__in=[r["id"] for r in runs])
        .filter(status__in=[StepRunStatus.WAITING, StepRunStatus.RUNNING])
        .order_by("run_id", "position")
        .values("id", "run_id", "name", "action")
    ):
        active.setdefault(step.pop("run_id"), step)
    decisions: dict[int, list[dict]] = {}
    for ballot in (
        TaskBallot.objects.for_tenant(tenant)
        # The tasks by their subject (task_tenant_subj_idx), then the runs asked for.
        .filter(
            task__tenant_id=tenant.pk,
            task__subject_type="transfer",
            task__subject_id__in=ids,
            task__run__in=[r["id"] for r in runs],
            decision__isnull=False,
        )
        .values(
            "task__run_id",
            "task__step_run_id",
            "decision",
            "user_id",
            "acted_by_id",
            "decided_at",
            "comment",
        )
        .order_by("decided_at", "id")
    ):
        decisions.setdefault(ballot["task__run_id"], []).append(
            _decision(
                ballot["task__step_run_id"],
                ballot["decision"],
                ballot["user_id"],
                ballot["acted_by_id"],
                ballot["decided_at"],
                ballot["comment"],
            )
        )
    chains: dict[int, list[dict]] = {pk: [] for pk in ids}
    for run in runs:
        chains[run["subject_id"]].append(
            _chain_row(run, active.get(run["id"]), decisions.get(run["id"], []))
        )
    return chains


def _decision(
    step_run_id: int, decision: str, user_id: int, acted_by_id: int | None, at: Any, comment: str
) -> dict[str, Any]:
    return {
        "step": step_run_id,
        "decision": decision,
        # Who decided; a delegate decides a ballot that stays its holder's.
        "decided_by": acted_by_id or user_id,
        "on_behalf_of": user_id if acted_by_id else None,
        "decided_at": at,
        "comment": comment,
    }


_RUN_COLUMNS = (
    "id",
    "subject_id",
    "sequence",
    "workflow_id",
    "workflow_code",
    "workflow_name",
    "status",
    "started_at",
    "finished_at",
)


def _chain_row(run: dict, active: dict | None, decisions: list[dict]) -> dict:
    return {
        "id": run["id"],
        "execution_order": run["sequence"],
        "workflow_template": run["workflow_id"],
        "workflow_template_code": run["workflow_code"],
        "workflow_template_name": run["workflow_name"],
        "status": run["status"],
        "started_at": run["started_at"],
        "finished_at": run["finished_at"],
        "current_step": active,
        "decisions": decisions,
    }


def _chain_item(run: WorkflowRun, active: StepRun | None, decisions: list[dict]) -> dict:
    step = {"id": active.pk, "name": active.name, "action": active.action} if active else None
    return _chain_row({c: getattr(run, c) for c in _RUN_COLUMNS}, step, decisions)


def transfer_with_chain(*, tenant: Tenant, transfer_id: int) -> tuple[Transfer, list[dict]]:
    """One transfer (with its group's name) and its chain, as `transfer_get` and
    `transfer_chains` give them, in one query: a row per run, active step and decided ballot.
    What a decision answers with (the GET detail keeps the three queries it shares with the
    list, and the tests compare the two)."""
    rows, _ = engine.execute(
        _transfer_with_chain_sql(),
        [StepRunStatus.WAITING, StepRunStatus.RUNNING, tenant.pk, transfer_id],
    )
    if not rows:
        raise NotFound("Not found.")
    parts, at = [], 0
    for model in (Transfer, SecurityGroup, WorkflowRun, StepRun, TaskBallot):
        width = 1 if model is SecurityGroup else len(concrete_fields(model))
        parts.append(slice(at, at + width))
        at += width
    transfer = engine.instance(Transfer, rows[0][parts[0]])
    (group_name,) = rows[0][parts[1]]
    transfer.security_group = engine.new(
        SecurityGroup, pk=transfer.security_group_id, tenant_id=tenant.pk, name=group_name
    )
    runs: dict[int, tuple[WorkflowRun, StepRun | None, list[dict]]] = {}
    seen: set[int] = set()
    for row in rows:
        run_values, step_values, ballot_values = row[parts[2]], row[parts[3]], row[parts[4]]
        if run_values[0] is None:
            continue  # no run
        if run_values[0] not in runs:
            active = engine.instance(StepRun, step_values) if step_values[0] is not None else None
            runs[run_values[0]] = (engine.instance(WorkflowRun, run_values), active, [])
        if ballot_values[0] is not None and ballot_values[0] not in seen:  # once per active step
            seen.add(ballot_values[0])
            ballot = engine.instance(TaskBallot, ballot_values)
            runs[run_values[0]][2].append(
                _decision(
                    row[at],  # the task's step run
                    ballot.decision,
                    ballot.user_id,
                    ballot.acted_by_id,
                    ballot.decided_at,
                    ballot.comment,
                )
            )
    return transfer, [_chain_item(*item) for item in runs.values()]


def concrete_fields(model: Any) -> list[Any]:
    return list(model._meta.concrete_fields)


@engine.cached
def _transfer_with_chain_sql() -> str:
    qn, columns = engine.qn, engine.columns
    transfer, group = qn(Transfer._meta.db_table), qn(SecurityGroup._meta.db_table)
    run, step_run = qn(WorkflowRun._meta.db_table), qn(StepRun._meta.db_table)
    task, ballot = qn(HumanTask._meta.db_table), qn(TaskBallot._meta.db_table)
    # Runs, their active steps and decided ballots are joined by tenant first (the indexes').
    return (
        f"SELECT {columns(Transfer, 't')}, g.name, {columns(WorkflowRun, 'r')}, "  # noqa: S608
        f"{columns(StepRun, 'a')}, {columns(TaskBallot, 'b')}, k.step_run_id "
        f"FROM {transfer} t JOIN {group} g ON g.tenant_id = t.tenant_id "
        "AND g.id = t.security_group_id "
        f"LEFT JOIN {run} r ON r.tenant_id = t.tenant_id AND r.subject_type = 'transfer' "
        "AND r.subject_id = t.id "
        f"LEFT JOIN {step_run} a ON a.tenant_id = r.tenant_id AND a.run_id = r.id "
        "AND a.status IN (%s, %s) "
        f"LEFT JOIN ({task} k JOIN {ballot} b ON b.tenant_id = k.tenant_id AND b.task_id = k.id "
        "AND b.decision IS NOT NULL) ON k.tenant_id = r.tenant_id AND k.subject_type = "
        "'transfer' AND k.subject_id = t.id AND k.run_id = r.id "
        "WHERE t.tenant_id = %s AND t.id = %s "
        "ORDER BY r.sequence, r.id, a.position, a.id, b.decided_at, b.id"
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
