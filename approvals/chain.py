"""How transfers plug into the engine: the chain advances when one of its runs finishes.

Registered in `ApprovalsConfig.ready()`. Runs here inside the transaction that finished the
run, so the next run starts atomically with the previous one's completion, and a rejection
marks the transfer rejected while later runs stay `not_started`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone

from approvals.models import SecurityGroup, Transfer, TransferStatus
from approvals.services.common import invalid_pk
from workflows.engine import runner, store
from workflows.engine.approvers import register_approver_resolver
from workflows.engine.subjects import SubjectType, register_subject
from workflows.engine.transitions import TransitionLog
from workflows.models import RunStatus, WorkflowRun

SUBJECT = "transfer"


def _finish_transfer(tenant_id: int, transfer_id: int, status: str, log: TransitionLog) -> None:
    # Deferred, like the run's own writes. A transfer is pending while its chain runs: only a
    # decision or a cancel ends it, and both hold the lock of its pending task or running run
    # (as the caller does), so the guard always holds; it stays as a second line of defence.
    now = timezone.now()
    log.defer(
        store.update_row(
            Transfer,
            tenant_id,
            transfer_id,
            {"status": status, "finished_at": now, "updated_at": now, "updated_by": log.actor_id},
            guard={"status": TransferStatus.PENDING},
        )
    )
    log.record(SUBJECT, transfer_id, TransferStatus.PENDING, status)


def cancel_chain(tenant_id: int, transfer_id: int, log: TransitionLog) -> None:
    """Cancel a pending transfer and the runs of its chain that have not started (each change
    in the runs' history). Its running run, if any, the caller has cancelled (`runs_cancel`).
    Through the ORM: only cancels call it, never a decision's batched statements."""
    log.sync()
    now = timezone.now()
    later = list(
        WorkflowRun.objects.for_tenant(tenant_id)
        .select_for_update()
        .filter(subject_type=SUBJECT, subject_id=transfer_id, status=RunStatus.NOT_STARTED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if later:
        WorkflowRun.objects.for_tenant(tenant_id).filter(pk__in=later).update(
            status=RunStatus.CANCELLED, finished_at=now
        )
    for run_id in later:
        log.record("run", run_id, RunStatus.NOT_STARTED, RunStatus.CANCELLED)
    _finish_transfer(tenant_id, transfer_id, TransferStatus.CANCELLED, log)


def on_run_finished(*, run: WorkflowRun, actor: Any, log: TransitionLog) -> None:
    if run.status == RunStatus.COMPLETED:
        if run.sequence >= run.chain_length:
            _finish_transfer(run.tenant_id, run.subject_id, TransferStatus.APPROVED, log)
            return
        runner.run_start_next(run, actor=actor, log=log)
    elif run.status == RunStatus.REJECTED:
        _finish_transfer(run.tenant_id, run.subject_id, TransferStatus.REJECTED, log)
    elif run.status == RunStatus.CANCELLED:
        # Whoever cancels a run of the chain (`POST /api/runs/{id}/cancel/` or the transfer's
        # own cancel) stops the transfer: nothing else could move it on.
        cancel_chain(run.tenant_id, run.subject_id, log)
    # failed: the transfer stays pending until an admin retries the step.


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


def group_exists(tenant_id: int, group_id: Any) -> str | None:
    if SecurityGroup.objects.for_tenant(tenant_id).filter(pk=group_id).exists():
        return None
    return invalid_pk(group_id)


def register() -> None:
    register_subject(
        SubjectType(key=SUBJECT, on_run_finished=on_run_finished, describe=describe, batched=True)
    )
    register_approver_resolver("security_group", group_members, group_exists)
