"""Approvals writes. Keyword-only, `tenant` first, `actor` last; see `common` for lock order."""

from approvals.services.assignments import (
    BulkAssignResult,
    ReorderResult,
    assignment_bulk_assign,
    assignment_create,
    assignment_delete,
    assignment_reorder,
    assignment_update,
)
from approvals.services.groups import (
    group_add_member_by_name,
    group_create,
    group_delete,
    group_member_add,
    group_member_remove,
    group_update,
)

__all__ = [
    "BulkAssignResult",
    "ReorderResult",
    "assignment_bulk_assign",
    "assignment_create",
    "assignment_delete",
    "assignment_reorder",
    "assignment_update",
    "group_add_member_by_name",
    "group_create",
    "group_delete",
    "group_member_add",
    "group_member_remove",
    "group_update",
]
