"""Seed 1 endpoints: workflows under a tenant, steps under a workflow."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import IsAdminOrReadOnly
from core.api.views import TenantScopedMixin
from workflows import selectors, services
from workflows.api.filters import WorkflowFilter
from workflows.api.serializers import (
    StepInputSerializer,
    StepSerializer,
    WorkflowInputSerializer,
    WorkflowSerializer,
)
from workflows.models import Step, Workflow

TENANT_PARAM = OpenApiParameter(
    "tenant_id",
    int,
    OpenApiParameter.PATH,
    description="Your own tenant's id; any other answers 404.",
)
WORKFLOW_PARAM = OpenApiParameter("workflow_id", int, OpenApiParameter.PATH)


@extend_schema_view(
    list=extend_schema(parameters=[TENANT_PARAM], summary="List the tenant's workflows"),
    create=extend_schema(
        parameters=[TENANT_PARAM],
        request=WorkflowInputSerializer,
        responses={201: WorkflowSerializer},
        summary="Create a workflow",
    ),
    retrieve=extend_schema(parameters=[TENANT_PARAM], summary="Workflow with its steps"),
    update=extend_schema(
        parameters=[TENANT_PARAM],
        request=WorkflowInputSerializer,
        responses={200: WorkflowSerializer},
        summary="Replace a workflow",
    ),
    partial_update=extend_schema(
        parameters=[TENANT_PARAM],
        request=WorkflowInputSerializer,
        responses={200: WorkflowSerializer},
        summary="Update a workflow",
    ),
    destroy=extend_schema(
        parameters=[TENANT_PARAM], responses={204: None}, summary="Delete a workflow and its steps"
    ),
)
class WorkflowViewSet(TenantScopedMixin, viewsets.GenericViewSet):
    """`/api/tenants/{tenant_id}/workflows/`: every role reads, ADMIN writes."""

    permission_classes = [IsAdminOrReadOnly]
    serializer_class = WorkflowSerializer
    # The schema's model look-up only (filters, path types); requests use `self.tenant`.
    queryset = Workflow.objects.none()
    filterset_class = WorkflowFilter
    lookup_url_kwarg = "pk"

    def get_queryset(self) -> Any:
        return selectors.workflow_list(tenant=self.tenant)

    def list(self, request: Request, tenant_id: int) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(WorkflowSerializer(page, many=True).data)

    def retrieve(self, request: Request, tenant_id: int, pk: int) -> Response:
        workflow = selectors.workflow_get(tenant=self.tenant, workflow_id=pk)
        return Response(WorkflowSerializer(workflow).data)

    def create(self, request: Request, tenant_id: int) -> Response:
        data = WorkflowInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        workflow = services.workflow_create(
            tenant=self.tenant, **data.validated_data, actor=request.user
        )
        workflow = selectors.workflow_get(tenant=self.tenant, workflow_id=workflow.pk)
        return Response(WorkflowSerializer(workflow).data, status=status.HTTP_201_CREATED)

    def _update(self, request: Request, pk: int, *, partial: bool) -> Response:
        workflow = selectors.workflow_get_plain(tenant=self.tenant, workflow_id=pk)
        data = WorkflowInputSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        services.workflow_update(
            tenant=self.tenant,
            workflow=workflow,
            data=dict(data.validated_data),
            actor=request.user,
        )
        workflow = selectors.workflow_get(tenant=self.tenant, workflow_id=pk)
        return Response(WorkflowSerializer(workflow).data)

    def update(self, request: Request, tenant_id: int, pk: int) -> Response:
        return self._update(request, pk, partial=False)

    def partial_update(self, request: Request, tenant_id: int, pk: int) -> Response:
        return self._update(request, pk, partial=True)

    def destroy(self, request: Request, tenant_id: int, pk: int) -> Response:
        workflow = selectors.workflow_get_plain(tenant=self.tenant, workflow_id=pk)
        services.workflow_delete(tenant=self.tenant, workflow=workflow, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(parameters=[WORKFLOW_PARAM], summary="List a workflow's steps by order"),
    create=extend_schema(
        parameters=[WORKFLOW_PARAM],
        request=StepInputSerializer,
        responses={201: StepSerializer},
        summary="Add a step",
    ),
    retrieve=extend_schema(parameters=[WORKFLOW_PARAM], summary="Step detail"),
    update=extend_schema(
        parameters=[WORKFLOW_PARAM],
        request=StepInputSerializer,
        responses={200: StepSerializer},
        summary="Replace a step",
    ),
    partial_update=extend_schema(
        parameters=[WORKFLOW_PARAM],
        request=StepInputSerializer,
        responses={200: StepSerializer},
        summary="Update a step",
    ),
    destroy=extend_schema(
        parameters=[WORKFLOW_PARAM], responses={204: None}, summary="Remove a step"
    ),
)
class StepViewSet(TenantScopedMixin, viewsets.GenericViewSet):
    """`/api/workflows/{workflow_id}/steps/`: the tenant comes via the workflow, not the client."""

    permission_classes = [IsAdminOrReadOnly]
    serializer_class = StepSerializer
    # The schema's model look-up only (filters, path types); requests use `self.tenant`.
    queryset = Step.objects.none()

    def _workflow(self, workflow_id: int) -> Any:
        return selectors.workflow_get_plain(tenant=self.tenant, workflow_id=workflow_id)

    def get_queryset(self) -> Any:
        return selectors.step_list(
            tenant=self.tenant, workflow=self._workflow(self.kwargs["workflow_id"])
        )

    def list(self, request: Request, workflow_id: int) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(StepSerializer(page, many=True).data)

    def retrieve(self, request: Request, workflow_id: int, pk: int) -> Response:
        step = selectors.step_get(
            tenant=self.tenant, workflow=self._workflow(workflow_id), step_id=pk
        )
        return Response(StepSerializer(step).data)

    def create(self, request: Request, workflow_id: int) -> Response:
        workflow = self._workflow(workflow_id)
        data = StepInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        step = services.step_create(
            tenant=self.tenant, workflow=workflow, **data.validated_data, actor=request.user
        )
        return Response(StepSerializer(step).data, status=status.HTTP_201_CREATED)

    def _update(self, request: Request, workflow_id: int, pk: int, *, partial: bool) -> Response:
        step = selectors.step_get(
            tenant=self.tenant, workflow=self._workflow(workflow_id), step_id=pk
        )
        data = StepInputSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        step = services.step_update(
            tenant=self.tenant, step=step, data=dict(data.validated_data), actor=request.user
        )
        return Response(StepSerializer(step).data)

    def update(self, request: Request, workflow_id: int, pk: int) -> Response:
        return self._update(request, workflow_id, pk, partial=False)

    def partial_update(self, request: Request, workflow_id: int, pk: int) -> Response:
        return self._update(request, workflow_id, pk, partial=True)

    def destroy(self, request: Request, workflow_id: int, pk: int) -> Response:
        step = selectors.step_get(
            tenant=self.tenant, workflow=self._workflow(workflow_id), step_id=pk
        )
        services.step_delete(tenant=self.tenant, step=step, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
