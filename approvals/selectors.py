"""Approvals reads, always scoped by tenant, each a constant number of queries."""

from __future__ import annotations

from typing import Any, NamedTuple

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Prefetch, QuerySet

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
    runs = list(
        WorkflowRun.objects.for_tenant(tenant)
        .filter(subject_type="transfer", subject_id__in=ids)
        .prefetch_related(
            Prefetch(
                "step_runs",
                queryset=StepRun.objects.for_tenant(tenant)
                .filter(status__in=[StepRunStatus.WAITING, StepRunStatus.RUNNING])
                .only("id", "run_id", "name", "action", "position"),
                to_attr="active_steps",
            )
        )
        .order_by("subject_id", "sequence")
    )
    decisions: dict[int, list[dict]] = {}
    for ballot in (
        TaskBallot.objects.for_tenant(tenant)
        # The tasks by their subject (task_tenant_subj_idx), then the runs asked for.
        .filter(
            task__tenant_id=tenant.pk,
            task__subject_type="transfer",
            task__subject_id__in=ids,
            task__run__in=[r.pk for r in runs],
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
            {
                "step": ballot["task__step_run_id"],
                "decision": ballot["decision"],
                # Who decided; a delegate decides a ballot that stays its holder's.
                "decided_by": ballot["acted_by_id"] or ballot["user_id"],
                "on_behalf_of": ballot["user_id"] if ballot["acted_by_id"] else None,
                "decided_at": ballot["decided_at"],
                "comment": ballot["comment"],
            }
        )
    chains: dict[int, list[dict]] = {pk: [] for pk in ids}
    for run in runs:
        active = run.active_steps[0] if run.active_steps else None
        chains[run.subject_id].append(
            {
                "id": run.pk,
                "execution_order": run.sequence,
                "workflow_template": run.workflow_id,
                "workflow_template_code": run.workflow_code,
                "workflow_template_name": run.workflow_name,
                "status": run.status,
                "started_at": run.started_at,
                "finished_at": run.finished_at,
                "current_step": (
                    {"id": active.pk, "name": active.name, "action": active.action}
                    if active
                    else None
                ),
                "decisions": decisions.get(run.pk, []),
            }
        )
    return chains


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
