"""Transfers: create one and start its chain; approve, reject or cancel it.

Lock order: the engine's (see `workflows/engine/runner.py`): a transfer's pending task, its
active step run and its running run before the transfer row.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError
from django.utils import timezone

from accounts.models import Role
from approvals import chain
from approvals.chain import SUBJECT
from approvals.models import (
    Transfer,
    TransferStatus,
)
from approvals.selectors import (
    ChainPlan,
    active_group_ids,
    transfer_chain_plan,
    transfer_get,
    transfer_status,
)
from approvals.services.common import invalid_pk
from core.db import retry_on_deadlock, service_atomic, unique_violated
from core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tenants.models import Tenant
from workflows import engine
from workflows.models import HumanTask, RunStatus


def _plan(
    *, tenant: Tenant, security_group_id: int | None, transfer_type: str, actor: Any
) -> tuple[int, ChainPlan]:
    """The group the transfer goes to (the caller's only active group by default), checked,
    with the chain of workflows it starts."""
    if security_group_id is None:
        group_ids = active_group_ids(tenant_id=tenant.pk, user_id=actor.pk)
        if len(group_ids) != 1:
            raise ValidationFailed(
                "Required: you belong to "
                + ("no" if not group_ids else "several")
                + " active security groups.",
                "required",
                field="security_group",
            )
        security_group_id = group_ids[0]
    plan = transfer_chain_plan(
        tenant_id=tenant.pk,
        security_group_id=security_group_id,
        transfer_type=transfer_type,
        actor_id=actor.pk,
    )
    if plan is None:
        raise ValidationFailed(
            invalid_pk(security_group_id), "does_not_exist", field="security_group"
        )
    if not plan.group_is_active:
        raise ValidationFailed(
            f"Security group '{plan.group_name}' is inactive.", "inactive", field="security_group"
        )
    if actor.role != Role.ADMIN and not plan.actor_is_member:
        raise ValidationFailed(
            f"You are not a member of security group '{plan.group_name}'.",
            "not_member",
            field="security_group",
        )
    if not plan.workflows:
        raise ValidationFailed(
            f"No active workflow is assigned to security group '{plan.group_name}' for "
            f"transfer type '{transfer_type}'.",
            "no_workflow",
            field="transfer_type",
        )
    return security_group_id, plan


def transfer_create(
    *,
    tenant: Tenant,
    transfer_type: str,
    reference: str,
    amount: Decimal,
    currency: str,
    security_group_id: int | None = None,
    description: str = "",
    payload: dict[str, Any] | None = None,
    actor: Any,
) -> Transfer:
    """Create a transfer and start its chain: one run per active assignment of the group whose
    template has this transfer type, in execution order; the first starts now."""
    if actor.role == Role.VIEWER:
        raise Forbidden("A VIEWER cannot create transfers.")
    try:
        with service_atomic():
            return _create_and_start(
                tenant=tenant,
                transfer_type=transfer_type,
                reference=reference,
                amount=amount,
                currency=currency,
                security_group_id=security_group_id,
                description=description,
                payload=payload,
                actor=actor,
            )
    except IntegrityError as exc:
        # A concurrent create took the reference; the whole transaction rolled back.
        if not is_reference_taken(exc):
            raise
        raise ValidationFailed(
            f"A transfer with reference '{reference}' already exists.", "unique", field="reference"
        ) from exc


def is_reference_taken(exc: IntegrityError) -> bool:
    return unique_violated(exc, Transfer, "transfer_reference_unique_per_tenant")


def _create_and_start(
    *,
    tenant: Tenant,
    transfer_type: str,
    reference: str,
    amount: Decimal,
    currency: str,
    security_group_id: int | None,
    description: str,
    payload: dict[str, Any] | None,
    actor: Any,
) -> Transfer:
    group_id, plan = _plan(
        tenant=tenant, security_group_id=security_group_id, transfer_type=transfer_type, actor=actor
    )
    transfer = engine.new(
        Transfer,
        tenant=tenant,
        security_group_id=group_id,
        transfer_type=transfer_type,
        reference=reference,
        amount=amount,
        currency=currency.upper(),
        description=description,
        payload=payload or {},
        created_by=actor,
        updated_by=actor,
    )
    log = engine.UnitOfWork(tenant.pk, actor)
    engine.start_runs(
        tenant_id=tenant.pk,
        subject_type=SUBJECT,
        subject_id=None,
        workflows=plan.workflows,
        submitted_by=actor,
        start=(actor, log),
        steps=plan.steps,
        new_subject=transfer,  # inserted with its runs, in one statement
    )
    log.flush()
    return transfer


@retry_on_deadlock
def transfer_decide(
    *, tenant: Tenant, transfer_id: int, decision: str, comment: str = "", actor: Any
) -> HumanTask:
    """Approve or reject the transfer's current approval step, as one eligible approver."""
    if actor.role == Role.VIEWER:
        raise Forbidden("A VIEWER cannot approve or reject.")
    with service_atomic():
        # Find and lock the open approval task in one query. Under READ COMMITTED a row that a
        # racer has just decided no longer matches `status=pending` once its lock is released.
        locked = engine.lock_subject_task(
            tenant_id=tenant.pk,
            subject=(SUBJECT, transfer_id),
            action="approval",
            voter_id=actor.pk,
        )
        if locked is None:  # a lost race, most often: answered from one prepared read
            status = transfer_status(tenant_id=tenant.pk, transfer_id=transfer_id)
            if status is None:
                raise NotFound("Not found.")
            if status != TransferStatus.PENDING:
                raise Conflict(f"This transfer is already {status}.", "already_decided")
            raise Conflict("Nothing is awaiting approval on this transfer.", "nothing_pending")
        log = engine.UnitOfWork(tenant.pk, actor, comment)
        task = engine.decide(
            locked, decision=decision, comment=comment, data={}, actor=actor, log=log
        )
        log.flush()
    return task


@retry_on_deadlock
def transfer_cancel(*, tenant: Tenant, transfer_id: int, comment: str = "", actor: Any) -> Transfer:
    """The creator, a SUPERVISOR or an ADMIN stops a pending transfer: its running run (with
    its open task) and its not-started runs are cancelled with it."""
    transfer = transfer_get(tenant=tenant, transfer_id=transfer_id)
    if actor.role not in (Role.ADMIN, Role.SUPERVISOR) and transfer.created_by_id != actor.pk:
        raise Forbidden("Only the creator, a SUPERVISOR or an ADMIN may cancel this transfer.")
    with service_atomic():
        running = engine.lock_runs(
            tenant.pk, subject_type=SUBJECT, subject_id=transfer.pk, status=RunStatus.RUNNING
        )
        transfer = Transfer.objects.for_tenant(tenant).select_for_update().get(pk=transfer.pk)
        if transfer.status != TransferStatus.PENDING:
            raise Conflict(f"This transfer is already {transfer.status}.", "already_decided")
        log = engine.UnitOfWork(tenant.pk, actor, comment)
        if running:  # the chain's hook cancels the transfer with its run
            engine.cancel_runs(running, actor=actor, log=log)
        else:  # e.g. its run failed
            outcome = chain.finished(TransferStatus.CANCELLED, actor.pk, timezone.now())
            engine.apply_outcome(tenant.pk, SUBJECT, transfer.pk, outcome, log=log)
        log.flush()
    transfer.refresh_from_db()
    return transfer
