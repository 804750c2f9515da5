from django.urls import path

from approvals.api.views import (
    SecurityGroupMemberViewSet,
    SecurityGroupViewSet,
    TransferApproveView,
    TransferCancelView,
    TransferDetailView,
    TransferListCreateView,
    TransferRejectView,
    WorkflowAssignmentBulkAssignView,
    WorkflowAssignmentReorderView,
    WorkflowAssignmentViewSet,
)

DETAIL = {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}

assignment_list = WorkflowAssignmentViewSet.as_view({"get": "list", "post": "create"})
assignment_detail = WorkflowAssignmentViewSet.as_view(DETAIL)
group_list = SecurityGroupViewSet.as_view({"get": "list", "post": "create"})
group_detail = SecurityGroupViewSet.as_view(DETAIL)
member_list = SecurityGroupMemberViewSet.as_view({"get": "list", "post": "create"})
member_detail = SecurityGroupMemberViewSet.as_view({"delete": "destroy"})

urlpatterns = [
    path("workflow-assignments/", assignment_list, name="workflow-assignment-list"),
    path(
        "workflow-assignments/bulk-assign/",
        WorkflowAssignmentBulkAssignView.as_view(),
        name="workflow-assignment-bulk-assign",
    ),
    path(
        "workflow-assignments/reorder/",
        WorkflowAssignmentReorderView.as_view(),
        name="workflow-assignment-reorder",
    ),
    path("workflow-assignments/<int:pk>/", assignment_detail, name="workflow-assignment-detail"),
    path("security-groups/", group_list, name="security-group-list"),
    path("security-groups/<int:pk>/", group_detail, name="security-group-detail"),
    path("security-groups/<int:group_id>/members/", member_list, name="security-group-member-list"),
    path(
        "security-groups/<int:group_id>/members/<int:user_id>/",
        member_detail,
        name="security-group-member-detail",
    ),
    path("transfers/", TransferListCreateView.as_view(), name="transfer-list"),
    path("transfers/<int:pk>/", TransferDetailView.as_view(), name="transfer-detail"),
    path("transfers/<int:pk>/approve/", TransferApproveView.as_view(), name="transfer-approve"),
    path("transfers/<int:pk>/reject/", TransferRejectView.as_view(), name="transfer-reject"),
    path("transfers/<int:pk>/cancel/", TransferCancelView.as_view(), name="transfer-cancel"),
]
