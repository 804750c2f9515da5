"""Engine entry points with their transaction boundary: one use case, one durable transaction."""

from __future__ import annotations

from typing import Any

from core.db import retry_on_deadlock, service_atomic
from core.errors import Conflict, NotFound, ValidationFailed
from tenants.models import Tenant
from workflows import engine
from workflows.models import (
    HumanTask,
    RunStatus,
    StepRun,
    StepRunStatus,
    Workflow,
    WorkflowRun,
)


@retry_on_deadlock
def task_decide(
    *,
    tenant: Tenant,
    task_id: int,
    decision: str,
    comment: str = "",
    data: dict[str, Any] | None = None,
    actor: Any,
) -> HumanTask:
    """Approve, reject or complete a human task. Racers lose with 409, never a double decision."""
    with service_atomic():
        locked = engine.lock_task(tenant_id=tenant.pk, task_id=task_id, voter_id=actor.pk)
        log = engine.UnitOfWork(tenant.pk, actor, comment)
        task = engine.decide(
            locked, decision=decision, comment=comment, data=data or {}, actor=actor, log=log
        )
        log.flush()
    return task


def _task_assignment(
    operation: Any, *, tenant: Tenant, task_id: int, actor: Any, comment: str = "", **options: Any
) -> HumanTask:
    with service_atomic():
        locked = engine.lock_task(tenant_id=tenant.pk, task_id=task_id, voter_id=actor.pk)
        log = engine.UnitOfWork(tenant.pk, actor, comment)
        task = operation(locked, actor=actor, log=log, **options)
        log.flush()
    return task


def task_claim(*, tenant: Tenant, task_id: int, actor: Any) -> HumanTask:
    """Take a pending group task (see `engine.claim_task`); claiming it again is a no-op."""
    return _task_assignment(engine.claim_task, tenant=tenant, task_id=task_id, actor=actor)


def task_release(*, tenant: Tenant, task_id: int, actor: Any, comment: str = "") -> HumanTask:
    """Give a claimed task back (see `engine.release_task`)."""
    return _task_assignment(
        engine.release_task, tenant=tenant, task_id=task_id, actor=actor, comment=comment
    )


def task_reassign(
    *,
    tenant: Tenant,
    task_id: int,
    to_user_id: int,
    from_user_id: int | None = None,
    reason: str,
    actor: Any,
) -> HumanTask:
    """Move a pending task to someone else, with a reason (SUPERVISOR, ADMIN; see
    `engine.reassign_task`)."""
    return _task_assignment(
        engine.reassign_task,
        tenant=tenant,
        task_id=task_id,
        actor=actor,
        comment=reason,
        to_user_id=to_user_id,
        from_user_id=from_user_id,
    )


def run_start_on_subject(
    *,
    tenant: Tenant,
    subject_type: str,
    subject_id: int,
    workflow: Workflow,
    submitted_by: Any | None = None,
    actor: Any,
) -> WorkflowRun:
    """Start one run of `workflow` on a subject (e.g. a case). The caller holds the transaction."""
    if workflow.tenant_id != tenant.pk:
        raise NotFound("Not found.")
    if not workflow.is_active:
        raise ValidationFailed("This workflow is not active.", field="workflow")
    last = (
        WorkflowRun.objects.for_tenant(tenant)
        .filter(subject_type=subject_type, subject_id=subject_id)
        .order_by("-sequence")
        .values_list("sequence", flat=True)
        .first()
    )
    log = engine.UnitOfWork(tenant.pk, actor)
    (run,) = engine.start_runs(
        tenant_id=tenant.pk,
        subject_type=subject_type,
        subject_id=subject_id,
        workflows=[workflow],
        submitted_by=submitted_by,
        first_sequence=(last or 0) + 1,
        start=(actor, log),
    )
    log.flush()
    return run


@retry_on_deadlock
def run_cancel(*, tenant: Tenant, run_id: int, comment: str = "", actor: Any) -> WorkflowRun:
    """Cancel a running run with its open task and step (a transfer's chain: the transfer and
    its not-started runs too). Locks in the engine's order: task, step run, run."""
    with service_atomic():
        locked = engine.lock_runs(tenant.pk, pk=run_id)
        if not locked:
            raise NotFound("Not found.")
        (run,) = locked
        if run.status != RunStatus.RUNNING:
            raise Conflict(f"Only a running run can be cancelled; this one is {run.status}.")
        log = engine.UnitOfWork(tenant.pk, actor, comment)
        engine.cancel_runs([run], actor=actor, log=log)
        log.flush()
    return run


def run_retry(*, tenant: Tenant, run_id: int, actor: Any) -> WorkflowRun:
    """ADMIN: a failed run resumes at its failed step, which runs again from its first attempt."""
    with service_atomic():
        try:
            run = WorkflowRun.objects.for_tenant(tenant).select_for_update().get(pk=run_id)
        except WorkflowRun.DoesNotExist as exc:
            raise NotFound("Not found.") from exc
        if run.status != RunStatus.FAILED:
            raise Conflict(f"Only a failed run can be retried; this one is {run.status}.")
        step_run = (
            StepRun.objects.for_tenant(tenant)
            .filter(run=run, status=StepRunStatus.FAILED)
            .order_by("position")
            .first()
        )
        if step_run is None:
            raise Conflict("This run has no failed step to retry.")
        log = engine.UnitOfWork(tenant.pk, actor, "retry")
        engine.retry_run(run, step_run, actor=actor, log=log)
        log.flush()
    return run
