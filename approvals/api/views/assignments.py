"""The seed's workflow-assignment endpoints: CRUD, bulk-assign and reorder."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from approvals import selectors, services
from approvals.api.envelope import success, success_schema
from approvals.api.serializers import (
    BulkAssignInputSerializer,
    ReorderInputSerializer,
    WorkflowAssignmentInputSerializer,
    WorkflowAssignmentListQuerySerializer,
    WorkflowAssignmentSerializer,
)
from approvals.api.views.base import (
    MESSAGE,
    READ_ERRORS,
    TAG,
    WRITE_ERRORS,
    ApprovalsView,
    valid,
)
from approvals.models import WorkflowAssignment
from approvals.services.common import template_label

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
        query = valid(WorkflowAssignmentListQuerySerializer, request.query_params)
        assignments = selectors.assignment_list(
            tenant=self.tenant, security_group_id=query.get("security_group")
        )
        data = WorkflowAssignmentSerializer(assignments, many=True).data
        return success(count=len(data), assignments=data)

    def create(self, request: Request) -> Response:
        data = valid(WorkflowAssignmentInputSerializer, request.data)
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
        data = valid(WorkflowAssignmentInputSerializer, request.data, partial=partial)
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
                f'Removed workflow "{template_label(assignment.workflow_template)}" '
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
        data = valid(BulkAssignInputSerializer, request.data)
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
        data = valid(ReorderInputSerializer, request.data)
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
