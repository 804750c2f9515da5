"""Workflow assignment writes: create, update, delete, bulk-assign (replace) and reorder.

Every write locks the security group row first (see `common`), then checks the seed's rules,
then writes; the database constraints (one assignment per group and template, unique
`execution_order` per group, deferred) are the backstop, and their IntegrityError becomes the
same 400 a failed check gives.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from approvals.models import SecurityGroup, WorkflowAssignment
from approvals.services.common import (
    DUPLICATE_ORDERS,
    ItemsInvalid,
    check_deferred_orders_now,
    invalid_pk,
    lock_group,
    lock_groups,
    require_active_group,
    template_label,
)
from core.errors import NotFound, ValidationFailed
from tenants.models import Tenant
from workflows.models import Workflow

ASSIGNMENT_FIELDS = ("security_group", "workflow_template", "execution_order", "is_active")


@dataclass(frozen=True)
class BulkAssignResult:
    security_group: SecurityGroup
    deleted_count: int
    assignments: list[WorkflowAssignment]


@dataclass(frozen=True)
class ReorderResult:
    security_group: SecurityGroup
    reordered_count: int
    assignments: list[WorkflowAssignment]


def _already_assigned(template: Workflow, group: SecurityGroup) -> ValidationFailed:
    return ValidationFailed(
        f"Workflow template '{template_label(template)}' is already assigned to security group "
        f"'{group.name}'",
        "unique",
    )


def _order_taken(order: int, group: SecurityGroup) -> ValidationFailed:
    return ValidationFailed(
        f"Execution order {order} is already used in security group '{group.name}'.",
        "unique",
        field="execution_order",
    )


def _template(*, tenant: Tenant, template_id: int, field: str) -> Workflow:
    template = Workflow.objects.for_tenant(tenant).filter(pk=template_id).first()
    if template is None:
        raise ValidationFailed(invalid_pk(template_id), "does_not_exist", field=field)
    return template


def _require_active_template(template: Workflow, *, field: str) -> None:
    if not template.is_active:
        raise ValidationFailed(
            f"Workflow template '{template_label(template)}' is inactive.",
            "inactive",
            field=field,
        )


def _check_free(
    *,
    tenant: Tenant,
    group: SecurityGroup,
    template: Workflow,
    order: int,
    exclude_id: int | None = None,
) -> None:
    """Both uniqueness rules in one query; callers hold the group's lock."""
    clashes = WorkflowAssignment.objects.for_tenant(tenant).filter(
        Q(workflow_template=template) | Q(execution_order=order), security_group=group
    )
    if exclude_id is not None:
        clashes = clashes.exclude(pk=exclude_id)
    clashing_templates = set(clashes.values_list("workflow_template_id", flat=True))
    if template.pk in clashing_templates:
        raise _already_assigned(template, group)
    if clashing_templates:
        raise _order_taken(order, group)


def _integrity_to_400(
    exc: IntegrityError, *, group: SecurityGroup, template: Workflow | None, order: int | None
) -> ValidationFailed:
    """Map a constraint violation (a race the locks did not cover) to the documented 400."""
    text = str(exc)
    if "assignment_template_unique_per_group" in text and template is not None:
        return _already_assigned(template, group)
    if order is not None:
        return _order_taken(order, group)
    return ValidationFailed(
        "Execution orders must be unique within a security group.",
        "unique",
        field="execution_order",
    )


def assignment_create(
    *,
    tenant: Tenant,
    security_group_id: int,
    workflow_template_id: int,
    execution_order: int,
    is_active: bool = True,
    actor: Any,
) -> WorkflowAssignment:
    if execution_order < 1:
        raise ValidationFailed(
            "Ensure this value is greater than or equal to 1.", "min_value", field="execution_order"
        )
    group: SecurityGroup | None = None
    template: Workflow | None = None
    try:
        with transaction.atomic():
            group = lock_group(tenant=tenant, group_id=security_group_id, field="security_group")
            require_active_group(group, field="security_group")
            template = _template(
                tenant=tenant, template_id=workflow_template_id, field="workflow_template"
            )
            _require_active_template(template, field="workflow_template")
            _check_free(tenant=tenant, group=group, template=template, order=execution_order)
            assignment = WorkflowAssignment.objects.create(
                tenant=tenant,
                security_group=group,
                workflow_template=template,
                execution_order=execution_order,
                is_active=is_active,
                created_by=actor,
                updated_by=actor,
            )
            check_deferred_orders_now()
    except IntegrityError as exc:
        assert group is not None
        raise _integrity_to_400(exc, group=group, template=template, order=execution_order) from exc
    return assignment


def assignment_update(
    *, tenant: Tenant, assignment: WorkflowAssignment, data: dict[str, Any], actor: Any
) -> WorkflowAssignment:
    """PUT and PATCH. A group or template that changes must be active; an unchanged one need
    not be, so an assignment of a since-deactivated template can still be reordered or
    switched off."""
    changes = {k: v for k, v in data.items() if k in ASSIGNMENT_FIELDS}
    order = changes.get("execution_order", assignment.execution_order)
    if order < 1:
        raise ValidationFailed(
            "Ensure this value is greater than or equal to 1.", "min_value", field="execution_order"
        )
    new_group_id = changes.get("security_group", assignment.security_group_id)
    new_template_id = changes.get("workflow_template", assignment.workflow_template_id)
    group: SecurityGroup | None = None
    template: Workflow | None = None
    try:
        with transaction.atomic():
            groups = lock_groups(
                tenant=tenant,
                group_ids={assignment.security_group_id, new_group_id},
                field="security_group",
            )
            current = (
                WorkflowAssignment.objects.for_tenant(tenant)
                .select_for_update()
                .filter(pk=assignment.pk)
                .first()
            )
            if current is None:
                raise NotFound("Not found.")
            group = groups[new_group_id]
            if new_group_id != current.security_group_id:
                require_active_group(group, field="security_group")
            if new_template_id == current.workflow_template_id:
                template = assignment.workflow_template
            else:
                template = _template(
                    tenant=tenant, template_id=new_template_id, field="workflow_template"
                )
                _require_active_template(template, field="workflow_template")
            _check_free(
                tenant=tenant, group=group, template=template, order=order, exclude_id=current.pk
            )
            current.security_group = group
            current.workflow_template = template
            current.execution_order = order
            current.is_active = changes.get("is_active", current.is_active)
            current.updated_by = actor
            current.save(
                update_fields=[
                    "security_group",
                    "workflow_template",
                    "execution_order",
                    "is_active",
                    "updated_by",
                    "updated_at",
                ]
            )
            check_deferred_orders_now()
    except IntegrityError as exc:
        assert group is not None
        raise _integrity_to_400(exc, group=group, template=template, order=order) from exc
    return current


def assignment_delete(*, tenant: Tenant, assignment: WorkflowAssignment, actor: Any) -> None:
    with transaction.atomic():
        lock_group(tenant=tenant, group_id=assignment.security_group_id, field="security_group")
        WorkflowAssignment.objects.for_tenant(tenant).filter(pk=assignment.pk).delete()


def _check_orders_positive(orders: list[int], *, field: str) -> None:
    bad_orders = {
        i: {"execution_order": ["Ensure this value is greater than or equal to 1."]}
        for i, order in enumerate(orders)
        if order < 1
    }
    if bad_orders:
        raise ItemsInvalid(field=field, item_errors=bad_orders)


def assignment_bulk_assign(
    *,
    tenant: Tenant,
    security_group_id: int,
    workflow_assignments: list[dict[str, int]],
    actor: Any,
) -> BulkAssignResult:
    """Replace every assignment of the group with these, atomically.

    A constant number of queries whatever the number of items: lock the group, read the
    templates, one DELETE, one INSERT, one constraint check.
    """
    field = "workflow_assignments"
    orders = [item["execution_order"] for item in workflow_assignments]
    template_ids = [item["workflow_template_id"] for item in workflow_assignments]
    if len(set(orders)) != len(orders):
        raise ValidationFailed(DUPLICATE_ORDERS, "duplicate_order", field=field)
    if len(set(template_ids)) != len(template_ids):
        raise ValidationFailed(
            "Duplicate workflow templates in assignment list", "duplicate_template", field=field
        )
    _check_orders_positive(orders, field=field)
    try:
        with transaction.atomic():
            group = lock_group(tenant=tenant, group_id=security_group_id, field="security_group_id")
            require_active_group(group, field="security_group_id")
            templates = Workflow.objects.for_tenant(tenant).in_bulk(template_ids)
            item_errors: dict[int, dict[str, list[str]]] = {}
            for i, template_id in enumerate(template_ids):
                template = templates.get(template_id)
                if template is None:
                    item_errors[i] = {"workflow_template_id": [invalid_pk(template_id)]}
                elif not template.is_active:
                    item_errors[i] = {
                        "workflow_template_id": [
                            f"Workflow template '{template_label(template)}' is inactive."
                        ]
                    }
            if item_errors:
                raise ItemsInvalid(field=field, item_errors=item_errors)
            deleted_count, _ = (
                WorkflowAssignment.objects.for_tenant(tenant).filter(security_group=group).delete()
            )
            created = WorkflowAssignment.objects.bulk_create(
                [
                    WorkflowAssignment(
                        tenant=tenant,
                        security_group=group,
                        workflow_template=templates[item["workflow_template_id"]],
                        execution_order=item["execution_order"],
                        is_active=True,
                        created_by=actor,
                        updated_by=actor,
                    )
                    for item in workflow_assignments
                ]
            )
            check_deferred_orders_now()
    except IntegrityError as exc:  # unreachable while the group lock holds; kept as a backstop
        raise ValidationFailed(DUPLICATE_ORDERS, "duplicate_order", field=field) from exc
    created.sort(key=lambda a: (a.execution_order, a.pk))
    return BulkAssignResult(security_group=group, deleted_count=deleted_count, assignments=created)


def assignment_reorder(
    *, tenant: Tenant, security_group_id: int, assignment_orders: list[dict[str, int]], actor: Any
) -> ReorderResult:
    """Give the listed assignments of one group new orders, atomically.

    Unlisted assignments keep theirs, and count: the final orders must be unique. The order
    constraint is deferred, so two assignments may swap orders.
    """
    field = "assignment_orders"
    ids = [item["assignment_id"] for item in assignment_orders]
    orders = [item["execution_order"] for item in assignment_orders]
    if len(set(orders)) != len(orders):
        raise ValidationFailed(DUPLICATE_ORDERS, "duplicate_order", field=field)
    if len(set(ids)) != len(ids):
        raise ValidationFailed(
            "Duplicate assignment ids in assignment list", "duplicate_id", field=field
        )
    _check_orders_positive(orders, field=field)
    try:
        with transaction.atomic():
            group = lock_group(tenant=tenant, group_id=security_group_id, field="security_group_id")
            current = {
                a.pk: a
                for a in WorkflowAssignment.objects.for_tenant(tenant)
                .filter(security_group=group)
                .select_related("workflow_template")
                .order_by("pk")
                .select_for_update(of=("self",))
            }
            foreign = {
                i: {
                    "assignment_id": [
                        f"Assignment {pk} does not belong to security group '{group.name}'."
                    ]
                }
                for i, pk in enumerate(ids)
                if pk not in current
            }
            if foreign:
                raise ItemsInvalid(field=field, item_errors=foreign)
            final = {pk: a.execution_order for pk, a in current.items()}
            final.update(zip(ids, orders, strict=True))
            taken = Counter(final.values())
            clashes = sorted(
                pk for pk, order in final.items() if taken[order] > 1 and pk not in set(ids)
            )
            if clashes:
                raise ValidationFailed(
                    f"Execution order {final[clashes[0]]} is already used by assignment "
                    f"{clashes[0]}, which is not in the list.",
                    "duplicate_order",
                    field=field,
                )
            now = timezone.now()
            changed = []
            for pk, order in zip(ids, orders, strict=True):
                assignment = current[pk]
                assignment.execution_order = order
                assignment.updated_by = actor
                assignment.updated_at = now
                changed.append(assignment)
            WorkflowAssignment.objects.bulk_update(
                changed, ["execution_order", "updated_by", "updated_at"]
            )
            check_deferred_orders_now()
    except IntegrityError as exc:  # unreachable while the group lock holds; kept as a backstop
        raise ValidationFailed(DUPLICATE_ORDERS, "duplicate_order", field=field) from exc
    for assignment in current.values():
        assignment.security_group = group
    assignments = sorted(current.values(), key=lambda a: (a.execution_order, a.pk))
    return ReorderResult(security_group=group, reordered_count=len(ids), assignments=assignments)
