"""Approvals endpoints: security groups and members, and the seed's workflow assignments.

Views parse, authorise (every role of the tenant reads, ADMIN writes), call one service or
selector and render through `envelope`; errors are enveloped by `core.api.exceptions`.
"""

from approvals.api.views.assignments import (
    WorkflowAssignmentBulkAssignView,
    WorkflowAssignmentReorderView,
    WorkflowAssignmentViewSet,
)
from approvals.api.views.groups import SecurityGroupMemberViewSet, SecurityGroupViewSet
from approvals.api.views.transfers import (
    TransferApproveView,
    TransferCancelView,
    TransferDetailView,
    TransferListCreateView,
    TransferRejectView,
)

__all__ = [
    "SecurityGroupMemberViewSet",
    "SecurityGroupViewSet",
    "TransferApproveView",
    "TransferCancelView",
    "TransferDetailView",
    "TransferListCreateView",
    "TransferRejectView",
    "WorkflowAssignmentBulkAssignView",
    "WorkflowAssignmentReorderView",
    "WorkflowAssignmentViewSet",
]
