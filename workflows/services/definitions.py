"""Writes to workflow definitions. Views call these; rules live here, not in serializers."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError

from accounts.models import User
from core.db import service_atomic
from core.errors import ValidationFailed
from tenants.models import Tenant
from workflows.engine.registry import registry
from workflows.models import Step, Workflow

WORKFLOW_FIELDS = ("name", "description", "is_active", "code", "transfer_type")
STEP_FIELDS = ("name", "order", "action", "config")


def _check_code_free(*, tenant: Tenant, code: str | None, exclude_id: int | None = None) -> None:
    if not code:
        return
    clash = Workflow.objects.for_tenant(tenant).filter(code=code)
    if exclude_id is not None:
        clash = clash.exclude(pk=exclude_id)
    if clash.exists():
        raise ValidationFailed(
            f"A workflow with code '{code}' already exists in this tenant.", "unique", field="code"
        )


def workflow_create(
    *,
    tenant: Tenant,
    name: str,
    description: str = "",
    is_active: bool = True,
    code: str | None = None,
    transfer_type: str = "",
    actor: User,
) -> Workflow:
    code = code or None
    try:
        with service_atomic():
            _check_code_free(tenant=tenant, code=code)
            return Workflow.objects.create(
                tenant=tenant,
                name=name,
                description=description,
                is_active=is_active,
                code=code,
                transfer_type=transfer_type,
                created_by=actor,
                updated_by=actor,
            )
    except IntegrityError as exc:  # a concurrent create took the code between check and insert
        raise ValidationFailed(
            f"A workflow with code '{code}' already exists in this tenant.", "unique", field="code"
        ) from exc


def workflow_update(
    *, tenant: Tenant, workflow: Workflow, data: dict[str, Any], actor: User
) -> Workflow:
    changes = {k: v for k, v in data.items() if k in WORKFLOW_FIELDS}
    if "code" in changes:
        changes["code"] = changes["code"] or None
    try:
        with service_atomic():
            if changes.get("code"):
                _check_code_free(tenant=tenant, code=changes["code"], exclude_id=workflow.pk)
            for key, value in changes.items():
                setattr(workflow, key, value)
            workflow.updated_by = actor
            workflow.save(update_fields=[*changes, "updated_by", "updated_at"])
    except IntegrityError as exc:
        raise ValidationFailed(
            f"A workflow with code '{changes.get('code')}' already exists in this tenant.",
            "unique",
            field="code",
        ) from exc
    return workflow


def workflow_delete(*, tenant: Tenant, workflow: Workflow, actor: User) -> None:
    with service_atomic():
        Workflow.objects.for_tenant(tenant).filter(pk=workflow.pk).delete()


def _lock_workflow(*, tenant: Tenant, workflow: Workflow) -> Workflow:
    """Step writes serialise on the parent row, so the order check below cannot be raced."""
    return Workflow.objects.for_tenant(tenant).select_for_update().get(pk=workflow.pk)


def _check_order_free(*, workflow: Workflow, order: int, exclude_id: int | None = None) -> None:
    clash = Step.objects.for_tenant(workflow.tenant_id).filter(workflow=workflow, order=order)
    if exclude_id is not None:
        clash = clash.exclude(pk=exclude_id)
    if clash.exists():
        raise ValidationFailed(
            f"Order {order} is already used by another step of this workflow.",
            "unique",
            field="order",
        )


def step_create(
    *,
    tenant: Tenant,
    workflow: Workflow,
    name: str,
    order: int,
    action: str,
    config: dict[str, Any] | None = None,
    actor: User,
) -> Step:
    clean_config = registry.validate_config(action, config, context={"tenant": tenant})
    with service_atomic():
        workflow = _lock_workflow(tenant=tenant, workflow=workflow)
        _check_order_free(workflow=workflow, order=order)
        return Step.objects.create(
            tenant=tenant,
            workflow=workflow,
            name=name,
            order=order,
            action=action,
            config=clean_config,
            created_by=actor,
            updated_by=actor,
        )


def step_update(*, tenant: Tenant, step: Step, data: dict[str, Any], actor: User) -> Step:
    changes = {k: v for k, v in data.items() if k in STEP_FIELDS}
    action = changes.get("action", step.action)
    if "action" in changes or "config" in changes:
        config = changes.get("config", step.config if "action" not in changes else {})
        changes["config"] = registry.validate_config(action, config, context={"tenant": tenant})
    with service_atomic():
        _lock_workflow(tenant=tenant, workflow=step.workflow)
        if "order" in changes:
            _check_order_free(workflow=step.workflow, order=changes["order"], exclude_id=step.pk)
        for key, value in changes.items():
            setattr(step, key, value)
        step.updated_by = actor
        step.save(update_fields=[*changes, "updated_by", "updated_at"])
    return step


def step_delete(*, tenant: Tenant, step: Step, actor: User) -> None:
    with service_atomic():
        Step.objects.for_tenant(tenant).filter(pk=step.pk).delete()
