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


def _finish_transfer(run: WorkflowRun, status: str, log: TransitionLog) -> None:
    # Deferred, like the run's own writes. A transfer is pending while its chain runs: only a
    # decision or a cancel ends it, and both hold the lock of its pending task (as the caller
    # does), so the guard always holds; it stays as a second line of defence.
    now = timezone.now()
    log.defer(
        store.update_row(
            Transfer,
            run.tenant_id,
            run.subject_id,
            {"status": status, "finished_at": now, "updated_at": now, "updated_by": log.actor_id},
            guard={"status": TransferStatus.PENDING},
        )
    )
    log.record(SUBJECT, run.subject_id, TransferStatus.PENDING, status)


def on_run_finished(*, run: WorkflowRun, actor: Any, log: TransitionLog) -> None:
    if run.status == RunStatus.COMPLETED:
        if run.sequence >= run.chain_length:
            _finish_transfer(run, TransferStatus.APPROVED, log)
            return
        runner.run_start_next(run, actor=actor, log=log)
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


def group_exists(tenant_id: int, group_id: Any) -> str | None:
    if SecurityGroup.objects.for_tenant(tenant_id).filter(pk=group_id).exists():
        return None
    return invalid_pk(group_id)


def register() -> None:
    register_subject(
        SubjectType(key=SUBJECT, on_run_finished=on_run_finished, describe=describe, batched=True)
    )
    register_approver_resolver("security_group", group_members, group_exists)
