"""How transfers plug into the engine: what a finished run of a transfer's chain means.

Registered in `ApprovalsConfig.ready()`. The engine asks `on_run_finished` inside the
transaction that finished the run and carries out the answer (a `SubjectOutcome`): the next
run starts atomically with the previous one's completion, a rejection marks the transfer
rejected while later runs stay `not_started`, a cancel cancels the rest of the chain.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from approvals.models import SecurityGroup, Transfer, TransferStatus
from approvals.services.common import invalid_pk
from workflows.engine import (
    SubjectOutcome,
    SubjectType,
    register_approver_resolver,
    register_subject,
)
from workflows.models import RunStatus, WorkflowRun

SUBJECT = "transfer"
_NEXT = SubjectOutcome(start_next=True)


def finished(status: str, actor_id: int | None, now: datetime) -> SubjectOutcome:
    """The transfer ends in `status` (a cancel also cancels the runs not started). A transfer
    is pending while its chain runs: only a decision or a cancel ends it, and both hold the
    lock of its pending task or running run, so the guard (still pending) always holds; it
    stays as a second line of defence."""
    return SubjectOutcome(
        status=status,
        expected=TransferStatus.PENDING,
        values={"finished_at": now, "updated_at": now, "updated_by": actor_id},
        cancel_not_started=status == TransferStatus.CANCELLED,
    )


def on_run_finished(run: WorkflowRun, actor_id: int | None, now: datetime) -> SubjectOutcome | None:
    if run.status == RunStatus.COMPLETED:
        if run.sequence >= run.chain_length:
            return finished(TransferStatus.APPROVED, actor_id, now)
        return _NEXT
    if run.status == RunStatus.REJECTED:
        return finished(TransferStatus.REJECTED, actor_id, now)
    if run.status == RunStatus.CANCELLED:
        # Whoever cancels a run of the chain (`POST /api/runs/{id}/cancel/` or the transfer's
        # own cancel) stops the transfer: nothing else could move it on.
        return finished(TransferStatus.CANCELLED, actor_id, now)
    return None  # failed: the transfer stays pending until an admin retries the step


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
        SubjectType(key=SUBJECT, on_run_finished=on_run_finished, model=Transfer, describe=describe)
    )
    register_approver_resolver("security_group", group_members, group_exists)
