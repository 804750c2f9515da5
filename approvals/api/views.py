"""Approvals endpoints: security groups and members, and the seed's workflow assignments.

Views parse, authorise (every role of the tenant reads, ADMIN writes), call one service or
selector and render through `envelope`; errors are enveloped by `core.api.exceptions`.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdminOrReadOnly
from approvals import selectors, services
from approvals.api.envelope import (
    error_responses,
    page_schema,
    success,
    success_page,
    success_schema,
)
from approvals.api.serializers import (
    BulkAssignInputSerializer,
    ReorderInputSerializer,
    SecurityGroupInputSerializer,
    SecurityGroupMemberInputSerializer,
    SecurityGroupMemberSerializer,
    SecurityGroupSerializer,
    WorkflowAssignmentInputSerializer,
    WorkflowAssignmentListQuerySerializer,
    WorkflowAssignmentSerializer,
)
from approvals.models import SecurityGroup, WorkflowAssignment
from core.api.views import TenantScopedMixin

TAG = ["approvals"]
READ_ERRORS = error_responses(400, 401, 404)
WRITE_ERRORS = error_responses(400, 401, 403, 404)
MESSAGE = serializers.CharField()


def _valid(
    serializer_class: type[serializers.Serializer], data: Any, *, partial: bool = False
) -> dict[str, Any]:
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class ApprovalsView(TenantScopedMixin):
    """Tenant from the user; every role of the tenant reads, only ADMIN writes."""

    permission_classes = [IsAdminOrReadOnly]
    swagger_fake_view: bool = False  # set by drf-spectacular while it builds the schema


# Workflow assignments (the seed)

ASSIGNMENT = WorkflowAssignmentSerializer()
ASSIGNMENT_RESPONSE = success_schema("WorkflowAssignmentEnvelope", assignment=ASSIGNMENT)
ASSIGNMENT_MESSAGE_RESPONSE = success_schema(
    "WorkflowAssignmentMessageEnvelope", message=MESSAGE, assignment=ASSIGNMENT
)


@extend_schema_view(
    list=extend_schema(
        tags=TAG,
        summary="List workflow assignments (by group, then execution_order)",
        parameters=[OpenApiParameter("security_group", int, description="Filter by group id")],
        responses={
            200: success_schema(
                "WorkflowAssignmentListEnvelope",
                count=serializers.IntegerField(),
                assignments=WorkflowAssignmentSerializer(many=True),
            ),
            **READ_ERRORS,
        },
    ),
    create=extend_schema(
        tags=TAG,
        summary="Assign a workflow template to a security group",
        request=WorkflowAssignmentInputSerializer,
        responses={201: ASSIGNMENT_MESSAGE_RESPONSE, **WRITE_ERRORS},
    ),
    retrieve=extend_schema(
        tags=TAG,
        summary="Workflow assignment detail",
        responses={200: ASSIGNMENT_RESPONSE, **READ_ERRORS},
    ),
    update=extend_schema(
        tags=TAG,
        summary="Update a workflow assignment",
        request=WorkflowAssignmentInputSerializer,
        responses={200: ASSIGNMENT_MESSAGE_RESPONSE, **WRITE_ERRORS},
    ),
    partial_update=extend_schema(
        tags=TAG,
        summary="Update some fields of a workflow assignment",
        request=WorkflowAssignmentInputSerializer,
        responses={200: ASSIGNMENT_MESSAGE_RESPONSE, **WRITE_ERRORS},
    ),
    destroy=extend_schema(
        tags=TAG,
        summary="Remove a workflow from a security group",
        responses={
            200: success_schema("WorkflowAssignmentDeleteEnvelope", message=MESSAGE),
            **WRITE_ERRORS,
        },
    ),
)
class WorkflowAssignmentViewSet(ApprovalsView, viewsets.GenericViewSet):
    """`/api/approvals/workflow-assignments/` and `/{id}/`."""

    serializer_class = WorkflowAssignmentSerializer
    pagination_class = None  # the seed's list shape is {"success", "count", "assignments"}

    def get_queryset(self) -> Any:
        if self.swagger_fake_view:
            return WorkflowAssignment.objects.none()
        return selectors.assignment_list(tenant=self.tenant)

    def list(self, request: Request) -> Response:
        query = _valid(WorkflowAssignmentListQuerySerializer, request.query_params)
        assignments = selectors.assignment_list(
            tenant=self.tenant, security_group_id=query.get("security_group")
        )
        data = WorkflowAssignmentSerializer(assignments, many=True).data
        return success(count=len(data), assignments=data)

    def create(self, request: Request) -> Response:
        data = _valid(WorkflowAssignmentInputSerializer, request.data)
        assignment = services.assignment_create(
            tenant=self.tenant,
            security_group_id=data["security_group"],
            workflow_template_id=data["workflow_template"],
            execution_order=data["execution_order"],
            is_active=data.get("is_active", True),
            actor=request.user,
        )
        return success(
            status_code=status.HTTP_201_CREATED,
            message="Workflow assignment created successfully",
            assignment=WorkflowAssignmentSerializer(assignment).data,
        )

    def retrieve(self, request: Request, pk: int) -> Response:
        assignment = selectors.assignment_get(tenant=self.tenant, assignment_id=pk)
        return success(assignment=WorkflowAssignmentSerializer(assignment).data)

    def _update(self, request: Request, pk: int, *, partial: bool) -> Response:
        assignment = selectors.assignment_get(tenant=self.tenant, assignment_id=pk)
        data = _valid(WorkflowAssignmentInputSerializer, request.data, partial=partial)
        assignment = services.assignment_update(
            tenant=self.tenant, assignment=assignment, data=data, actor=request.user
        )
        return success(
            message="Assignment updated successfully",
            assignment=WorkflowAssignmentSerializer(assignment).data,
        )

    def update(self, request: Request, pk: int) -> Response:
        return self._update(request, pk, partial=False)

    def partial_update(self, request: Request, pk: int) -> Response:
        return self._update(request, pk, partial=True)

    def destroy(self, request: Request, pk: int) -> Response:
        assignment = selectors.assignment_get(tenant=self.tenant, assignment_id=pk)
        services.assignment_delete(tenant=self.tenant, assignment=assignment, actor=request.user)
        return success(
            message=(
                f'Removed workflow "{assignment.workflow_template.code or assignment.workflow_template.name}" '  # noqa: E501
                f'from security group "{assignment.security_group.name}"'
            )
        )


class WorkflowAssignmentBulkAssignView(ApprovalsView, APIView):
    """`POST /api/approvals/workflow-assignments/bulk-assign/`: replace a group's assignments."""

    @extend_schema(
        tags=TAG,
        summary="Replace all assignments of a security group (atomic)",
        request=BulkAssignInputSerializer,
        responses={
            201: success_schema(
                "WorkflowAssignmentBulkAssignEnvelope",
                message=MESSAGE,
                deleted_count=serializers.IntegerField(),
                created_count=serializers.IntegerField(),
                assignments=WorkflowAssignmentSerializer(many=True),
            ),
            **WRITE_ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        data = _valid(BulkAssignInputSerializer, request.data)
        result = services.assignment_bulk_assign(
            tenant=self.tenant,
            security_group_id=data["security_group_id"],
            workflow_assignments=data["workflow_assignments"],
            actor=request.user,
        )
        created = result.assignments
        return success(
            status_code=status.HTTP_201_CREATED,
            message=f'Assigned {len(created)} workflow(s) to "{result.security_group.name}"',
            deleted_count=result.deleted_count,
            created_count=len(created),
            assignments=WorkflowAssignmentSerializer(created, many=True).data,
        )


class WorkflowAssignmentReorderView(ApprovalsView, APIView):
    """`PUT /api/approvals/workflow-assignments/reorder/`: new orders within one group."""

    @extend_schema(
        tags=TAG,
        summary="Change the execution order of a group's assignments (atomic)",
        request=ReorderInputSerializer,
        responses={
            200: success_schema(
                "WorkflowAssignmentReorderEnvelope",
                message=MESSAGE,
                assignments=WorkflowAssignmentSerializer(many=True),
            ),
            **WRITE_ERRORS,
        },
    )
    def put(self, request: Request) -> Response:
        data = _valid(ReorderInputSerializer, request.data)
        result = services.assignment_reorder(
            tenant=self.tenant,
            security_group_id=data["security_group_id"],
            assignment_orders=data["assignment_orders"],
            actor=request.user,
        )
        return success(
            message=f"Reordered {result.reordered_count} workflow assignment(s)",
            assignments=WorkflowAssignmentSerializer(result.assignments, many=True).data,
        )


# Security groups and members

GROUP = SecurityGroupSerializer()
GROUP_MESSAGE_RESPONSE = success_schema(
    "SecurityGroupMessageEnvelope", message=MESSAGE, security_group=GROUP
)


@extend_schema_view(
    list=extend_schema(
        tags=TAG,
        summary="List security groups (paginated)",
        responses={
            200: page_schema(
                "SecurityGroupPageEnvelope", "security_groups", SecurityGroupSerializer(many=True)
            ),
            **READ_ERRORS,
        },
    ),
    create=extend_schema(
        tags=TAG,
        summary="Create a security group",
        request=SecurityGroupInputSerializer,
        responses={201: GROUP_MESSAGE_RESPONSE, **WRITE_ERRORS},
    ),
    retrieve=extend_schema(
        tags=TAG,
        summary="Security group detail",
        responses={
            200: success_schema("SecurityGroupEnvelope", security_group=GROUP),
            **READ_ERRORS,
        },
    ),
    update=extend_schema(
        tags=TAG,
        summary="Update a security group",
        request=SecurityGroupInputSerializer,
        responses={200: GROUP_MESSAGE_RESPONSE, **WRITE_ERRORS},
    ),
    partial_update=extend_schema(
        tags=TAG,
        summary="Update some fields of a security group",
        request=SecurityGroupInputSerializer,
        responses={200: GROUP_MESSAGE_RESPONSE, **WRITE_ERRORS},
    ),
    destroy=extend_schema(
        tags=TAG,
        summary="Delete a security group and its assignments",
        responses={
            200: success_schema("SecurityGroupDeleteEnvelope", message=MESSAGE),
            **WRITE_ERRORS,
        },
    ),
)
class SecurityGroupViewSet(ApprovalsView, viewsets.GenericViewSet):
    """`/api/approvals/security-groups/` and `/{id}/`."""

    serializer_class = SecurityGroupSerializer

    def get_queryset(self) -> Any:
        if self.swagger_fake_view:
            return SecurityGroup.objects.none()
        return selectors.group_list(tenant=self.tenant)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return success_page(
            view=self, key="security_groups", data=SecurityGroupSerializer(page, many=True).data
        )

    def create(self, request: Request) -> Response:
        data = _valid(SecurityGroupInputSerializer, request.data)
        group = services.group_create(tenant=self.tenant, **data, actor=request.user)
        group = selectors.group_get(tenant=self.tenant, group_id=group.pk)
        return success(
            status_code=status.HTTP_201_CREATED,
            message="Security group created successfully",
            security_group=SecurityGroupSerializer(group).data,
        )

    def retrieve(self, request: Request, pk: int) -> Response:
        group = selectors.group_get(tenant=self.tenant, group_id=pk)
        return success(security_group=SecurityGroupSerializer(group).data)

    def _update(self, request: Request, pk: int, *, partial: bool) -> Response:
        group = selectors.group_get(tenant=self.tenant, group_id=pk)
        data = _valid(SecurityGroupInputSerializer, request.data, partial=partial)
        group = services.group_update(
            tenant=self.tenant, group=group, data=data, actor=request.user
        )
        return success(
            message="Security group updated successfully",
            security_group=SecurityGroupSerializer(group).data,
        )

    def update(self, request: Request, pk: int) -> Response:
        return self._update(request, pk, partial=False)

    def partial_update(self, request: Request, pk: int) -> Response:
        return self._update(request, pk, partial=True)

    def destroy(self, request: Request, pk: int) -> Response:
        group = selectors.group_get(tenant=self.tenant, group_id=pk)
        services.group_delete(tenant=self.tenant, group=group, actor=request.user)
        return success(message=f'Deleted security group "{group.name}"')


MEMBER = SecurityGroupMemberSerializer()
GROUP_PARAM = OpenApiParameter("group_id", int, OpenApiParameter.PATH)
USER_PARAM = OpenApiParameter("user_id", int, OpenApiParameter.PATH)


@extend_schema_view(
    list=extend_schema(
        tags=TAG,
        parameters=[GROUP_PARAM],
        summary="List a security group's members (paginated)",
        responses={
            200: page_schema(
                "SecurityGroupMemberPageEnvelope",
                "members",
                SecurityGroupMemberSerializer(many=True),
            ),
            **READ_ERRORS,
        },
    ),
    create=extend_schema(
        tags=TAG,
        parameters=[GROUP_PARAM],
        summary="Add a user of your tenant to a security group",
        request=SecurityGroupMemberInputSerializer,
        responses={
            201: success_schema("SecurityGroupMemberEnvelope", message=MESSAGE, member=MEMBER),
            **WRITE_ERRORS,
        },
    ),
    destroy=extend_schema(
        tags=TAG,
        parameters=[GROUP_PARAM, USER_PARAM],
        summary="Remove a user from a security group",
        responses={
            200: success_schema("SecurityGroupMemberDeleteEnvelope", message=MESSAGE),
            **WRITE_ERRORS,
        },
    ),
)
class SecurityGroupMemberViewSet(ApprovalsView, viewsets.GenericViewSet):
    """`/api/approvals/security-groups/{group_id}/members/` and `/{user_id}/`."""

    serializer_class = SecurityGroupMemberSerializer

    def _group(self, group_id: int) -> Any:
        return selectors.group_get(tenant=self.tenant, group_id=group_id)

    def get_queryset(self) -> Any:
        if self.swagger_fake_view:
            return get_user_model().objects.none()
        return selectors.group_member_list(
            tenant=self.tenant, group=self._group(self.kwargs["group_id"])
        )

    def list(self, request: Request, group_id: int) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return success_page(
            view=self, key="members", data=SecurityGroupMemberSerializer(page, many=True).data
        )

    def create(self, request: Request, group_id: int) -> Response:
        group = self._group(group_id)
        data = _valid(SecurityGroupMemberInputSerializer, request.data)
        user = services.group_member_add(
            tenant=self.tenant, group=group, user_id=data["user"], actor=request.user
        )
        return success(
            status_code=status.HTTP_201_CREATED,
            message=f'Added "{user.email}" to security group "{group.name}"',
            member=SecurityGroupMemberSerializer(user).data,
        )

    def destroy(self, request: Request, group_id: int, user_id: int) -> Response:
        group = self._group(group_id)
        user = services.group_member_remove(
            tenant=self.tenant, group=group, user_id=user_id, actor=request.user
        )
        return success(message=f'Removed "{user.email}" from security group "{group.name}"')
