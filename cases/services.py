"""Writes to cases: create, update, delete, and start a workflow run on a case.

Each is one use case in one durable transaction; the `*_in_transaction` variants serve callers
that already hold one (the demo seeding runs everything in one transaction).

Lock order (the engine's policy, a task before its subject): a case's pending tasks in pk order,
then the case row. Starting a run locks only the case row, which serialises concurrent starts on
one case (each run takes the next sequence).
"""

from __future__ import annotations

from itertools import count
from typing import Any
from uuid import uuid4

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from cases.models import Case, CasePriority, CaseStatus
from cases.subject import SUBJECT
from core.db import unique_violated
from core.errors import Conflict, NotFound, ValidationFailed
from tenants.models import Tenant
from workflows import engine
from workflows import services as workflow_services
from workflows.models import RunStatus, Workflow, WorkflowRun

REFERENCE_CONSTRAINT = "case_reference_unique_per_tenant"
CASE_FIELDS = ("reference", "title", "description", "status", "priority", "assignee_id", "data")


def invalid_pk(pk: Any) -> str:
    """For an id that does not exist or is another tenant's: DRF's own wording, one message."""
    return f'Invalid pk "{pk}" - object does not exist.'


def _is_reference_clash(exc: IntegrityError) -> bool:
    return unique_violated(exc, Case, REFERENCE_CONSTRAINT)


def _reference_taken(reference: str) -> ValidationFailed:
    return ValidationFailed(
        f"A case with reference '{reference}' already exists.", "unique", field="reference"
    )


def _check_assignee(*, tenant: Tenant, assignee_id: int | None) -> None:
    if assignee_id is None:
        return
    user = get_user_model().objects.filter(tenant=tenant, pk=assignee_id).only("is_active").first()
    if user is None:
        raise ValidationFailed(invalid_pk(assignee_id), "does_not_exist", field="assignee")
    if not user.is_active:
        raise ValidationFailed("This user is inactive.", "inactive", field="assignee")


def _assign_generated_reference(case: Case) -> None:
    """`CASE-` and the zero-padded id; a suffix if someone already chose that reference."""
    base = f"CASE-{case.pk:06d}"
    for attempt in count(1):
        candidate = base if attempt == 1 else f"{base}-{attempt}"
        try:
            with transaction.atomic():
                Case.objects.filter(pk=case.pk).update(reference=candidate)
        except IntegrityError as exc:
            if not _is_reference_clash(exc):
                raise
            continue
        case.reference = candidate
        return


def _lock_case(*, tenant: Tenant, case_id: int) -> Case:
    case = Case.objects.for_tenant(tenant).select_for_update().filter(pk=case_id).first()
    if case is None:
        raise NotFound("Not found.")
    return case


def case_create(
    *,
    tenant: Tenant,
    title: str,
    reference: str | None = None,
    description: str = "",
    priority: str = CasePriority.NORMAL,
    assignee_id: int | None = None,
    data: dict[str, Any] | None = None,
    actor: Any,
) -> Case:
    """Open a case. Without a `reference` it gets `CASE-000123` (from its id)."""
    with transaction.atomic():
        return case_create_in_transaction(
            tenant=tenant,
            title=title,
            reference=reference,
            description=description,
            priority=priority,
            assignee_id=assignee_id,
            data=data,
            actor=actor,
        )


def case_create_in_transaction(
    *,
    tenant: Tenant,
    title: str,
    reference: str | None = None,
    description: str = "",
    priority: str = CasePriority.NORMAL,
    assignee_id: int | None = None,
    data: dict[str, Any] | None = None,
    actor: Any,
) -> Case:
    """`case_create` for a caller that holds the transaction (e.g. `seed_demo`)."""
    _check_assignee(tenant=tenant, assignee_id=assignee_id)
    try:
        with transaction.atomic():
            case = Case.objects.create(
                tenant=tenant,
                reference=reference or f"~{uuid4().hex}",
                title=title,
                description=description,
                priority=priority,
                assignee_id=assignee_id,
                data=data or {},
                created_by=actor,
                updated_by=actor,
            )
    except IntegrityError as exc:
        if reference and _is_reference_clash(exc):
            raise _reference_taken(reference) from exc
        raise
    if not reference:
        _assign_generated_reference(case)
    log = engine.UnitOfWork(tenant.pk, actor)
    log.record(SUBJECT, case.pk, "", case.status)
    log.flush()
    return case


def case_update(*, tenant: Tenant, case_id: int, data: dict[str, Any], actor: Any) -> Case:
    """Change the given fields only. Closing sets `closed_at`; reopening clears it."""
    changes = {key: value for key, value in data.items() if key in CASE_FIELDS}
    with transaction.atomic():
        case = _lock_case(tenant=tenant, case_id=case_id)
        if "assignee_id" in changes:
            _check_assignee(tenant=tenant, assignee_id=changes["assignee_id"])
        previous_status = case.status
        for key, value in changes.items():
            setattr(case, key, value)
        fields = [*changes, "updated_by", "updated_at"]
        if case.status != previous_status:
            case.closed_at = timezone.now() if case.status == CaseStatus.CLOSED else None
            fields.append("closed_at")
        case.updated_by = actor
        try:
            with transaction.atomic():
                case.save(update_fields=fields)
        except IntegrityError as exc:
            if _is_reference_clash(exc):
                raise _reference_taken(changes["reference"]) from exc
            raise
        if case.status != previous_status:
            log = engine.UnitOfWork(tenant.pk, actor)
            log.record(SUBJECT, case.pk, previous_status, case.status)
            log.flush()
    return case


def case_delete(*, tenant: Tenant, case_id: int, actor: Any) -> None:
    """Delete a case. Its running runs are cancelled first, so no task of a case that no longer
    exists lingers in anyone's inbox; the runs themselves stay, as the record of what happened."""
    with transaction.atomic():
        # The engine's lock order: tasks, step runs, runs, then the case.
        running = engine.lock_runs(
            tenant.pk, subject_type=SUBJECT, subject_id=case_id, status=RunStatus.RUNNING
        )
        case = _lock_case(tenant=tenant, case_id=case_id)
        log = engine.UnitOfWork(tenant.pk, actor)
        engine.cancel_runs(running, actor=actor, log=log)
        log.record(SUBJECT, case.pk, case.status, "deleted")
        case.delete()
        log.flush()


def case_start_run(*, tenant: Tenant, case_id: int, workflow_id: int, actor: Any) -> WorkflowRun:
    """Start one of the tenant's active workflows on an open or in-progress case."""
    with transaction.atomic():
        return case_start_run_in_transaction(
            tenant=tenant, case_id=case_id, workflow_id=workflow_id, actor=actor
        )


def case_start_run_in_transaction(
    *, tenant: Tenant, case_id: int, workflow_id: int, actor: Any
) -> WorkflowRun:
    """`case_start_run` for a caller that holds the transaction (e.g. `seed_demo`)."""
    case = _lock_case(tenant=tenant, case_id=case_id)
    workflow = Workflow.objects.for_tenant(tenant).filter(pk=workflow_id).first()
    if workflow is None:
        raise ValidationFailed(invalid_pk(workflow_id), "does_not_exist", field="workflow")
    if case.status == CaseStatus.CLOSED:
        raise Conflict("This case is closed; reopen it to start a workflow.", "case_closed")
    return workflow_services.run_start_on_subject(
        tenant=tenant,
        subject_type=SUBJECT,
        subject_id=case.pk,
        workflow=workflow,
        submitted_by=actor,
        actor=actor,
    )
