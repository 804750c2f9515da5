"""How transfers plug into the engine: the chain advances when one of its runs finishes.

Registered in `ApprovalsConfig.ready()`. Runs here inside the transaction that finished the
run, so the next run starts atomically with the previous one's completion, and a rejection
marks the transfer rejected while later runs stay `not_started`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet, Subquery
from django.utils import timezone

from approvals.models import Transfer, TransferStatus
from workflows.engine import runner
from workflows.engine.approvers import register_approver_resolver
from workflows.engine.subjects import SubjectType, register_subject
from workflows.engine.transitions import TransitionLog
from workflows.models import RunStatus, StepRun, WorkflowRun

SUBJECT = "transfer"


def _finish_transfer(run: WorkflowRun, status: str, log: TransitionLog) -> None:
    changed = (
        Transfer.objects.for_tenant(run.tenant_id)
        .filter(pk=run.subject_id, status=TransferStatus.PENDING)
        .update(
            status=status,
            finished_at=timezone.now(),
            updated_at=timezone.now(),
            updated_by_id=log.actor_id,
        )
    )
    if changed:
        log.record(SUBJECT, run.subject_id, TransferStatus.PENDING, status)


def on_run_finished(*, run: WorkflowRun, actor: Any, log: TransitionLog) -> None:
    if run.status == RunStatus.COMPLETED:
        if run.sequence >= run.chain_length:
            _finish_transfer(run, TransferStatus.APPROVED, log)
            return
        # The next run with its first step, in one query (a run with no steps has none).
        next_runs = WorkflowRun.objects.for_tenant(run.tenant_id).filter(
            subject_type=SUBJECT, subject_id=run.subject_id, sequence=run.sequence + 1
        )
        # A subquery, not a join: the planner then walks the two tenant-leading indexes.
        first_step = (
            StepRun.objects.for_tenant(run.tenant_id)
            .select_related("run")
            .filter(run_id=Subquery(next_runs.values("pk")[:1]), position=0)
            .first()
        )
        next_run = first_step.run if first_step else next_runs.get()
        if next_run.status == RunStatus.NOT_STARTED:
            runner.run_start(next_run, actor=actor, log=log, first_step=first_step)
    elif run.status == RunStatus.REJECTED:
        _finish_transfer(run, TransferStatus.REJECTED, log)
    # failed: the transfer stays pending until an admin retries the step; cancelled: the
    # cancel service has already set the transfer's status.


def describe(tenant_id: int, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    rows = (
        Transfer.objects.for_tenant(tenant_id)
        .filter(pk__in=list(ids))
        .values("pk", "reference", "transfer_type", "amount", "currency", "status", "created_by")
    )
    return {
        row["pk"]: {
            "reference": row["reference"],
            "transfer_type": row["transfer_type"],
            "amount": str(row["amount"]),
            "currency": row["currency"],
            "status": row["status"],
            "created_by": row["created_by"],
        }
        for row in rows
    }


def group_members(tenant_id: int, group_id: Any) -> QuerySet:
    return get_user_model().objects.filter(
        security_group_memberships__tenant_id=tenant_id,
        security_group_memberships__security_group_id=group_id,
        security_group_memberships__security_group__is_active=True,
    )


def register() -> None:
    register_subject(SubjectType(key=SUBJECT, on_run_finished=on_run_finished, describe=describe))
    register_approver_resolver("security_group", group_members)
