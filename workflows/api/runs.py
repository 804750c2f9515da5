"""Runs (`/api/runs/{id}/`) and the inbox of human tasks (`/api/tasks/`)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role
from accounts.permissions import IsTenantAdmin, IsTenantMember
from core.api.schema import error_response
from core.api.views import TenantScopedMixin
from core.db_router import replica_reads
from core.errors import Forbidden
from core.idempotency import idempotent
from workflows import selectors, services
from workflows.api.run_serializers import (
    RunDetailSerializer,
    TaskCompleteInputSerializer,
    TaskDecisionInputSerializer,
    TaskInboxFilterSerializer,
    TaskReassignInputSerializer,
    TaskRejectInputSerializer,
    TaskReleaseInputSerializer,
    TaskSerializer,
)
from workflows.engine.subjects import describe_subjects
from workflows.models import HumanTask, WorkflowRun

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description="A retry with the same key returns the first answer instead of acting again.",
)


def run_detail_data(tenant: Any, run_id: int) -> Any:
    """The pinned run shape with its history: what every run endpoint answers."""
    run = selectors.run_get(tenant=tenant, run_id=run_id)
    history = selectors.run_history(tenant=tenant, run=run)
    return RunDetailSerializer(run, context={"history": history}).data


class RunDetailView(TenantScopedMixin, APIView):
    permission_classes = [IsTenantMember]

    @extend_schema(responses={200: RunDetailSerializer}, summary="A run with its step history")
    def get(self, request: Request, pk: int) -> Response:
        return Response(run_detail_data(self.tenant, pk))


class RunCancelView(TenantScopedMixin, APIView):
    permission_classes = [IsTenantMember]
    path_model = WorkflowRun

    @extend_schema(
        request=TaskDecisionInputSerializer,
        responses={200: RunDetailSerializer, 409: error_response(409)},
        summary="Cancel a running run (SUPERVISOR, ADMIN)",
    )
    def post(self, request: Request, pk: int) -> Response:
        if request.user.role not in (Role.ADMIN, Role.SUPERVISOR):
            raise Forbidden("Only a SUPERVISOR or ADMIN may cancel a run.")
        data = TaskDecisionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.run_cancel(
            tenant=self.tenant,
            run_id=pk,
            comment=data.validated_data["comment"],
            actor=request.user,
        )
        return Response(run_detail_data(self.tenant, pk))


class RunRetryView(TenantScopedMixin, APIView):
    permission_classes = [IsTenantAdmin]
    path_model = WorkflowRun

    @extend_schema(
        request=None,
        responses={200: RunDetailSerializer, 409: error_response(409)},
        summary="Retry a failed run from its failed step (ADMIN)",
    )
    def post(self, request: Request, pk: int) -> Response:
        services.run_retry(tenant=self.tenant, run_id=pk, actor=request.user)
        return Response(run_detail_data(self.tenant, pk))


def _task_context(tenant_id: int, tasks: list[Any]) -> dict[str, Any]:
    refs = [(t.subject_type, t.subject_id) for t in tasks]
    return {"subjects": describe_subjects(tenant_id, refs)}


@extend_schema(
    parameters=[TaskInboxFilterSerializer],
    responses={200: TaskSerializer(many=True)},
    summary="Pending tasks you may act on",
)
@replica_reads
class TaskInboxView(TenantScopedMixin, generics.GenericAPIView):
    """`GET /api/tasks/`: pending tasks the caller may act on, newest first."""

    permission_classes = [IsTenantMember]
    serializer_class = TaskSerializer
    # The schema's model look-up only (filters, path types); requests use `self.tenant`.
    queryset = HumanTask.objects.none()

    def get(self, request: Request) -> Response:
        filters = TaskInboxFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        inbox = selectors.task_inbox(
            tenant=self.tenant, user=request.user, filters=filters.validated_data
        )
        page = list(self.paginate_queryset(inbox))
        context = _task_context(self.tenant.pk, page)
        return self.get_paginated_response(TaskSerializer(page, many=True, context=context).data)


class TaskDetailView(TenantScopedMixin, APIView):
    permission_classes = [IsTenantMember]

    @extend_schema(responses={200: TaskSerializer})
    def get(self, request: Request, pk: int) -> Response:
        task = selectors.task_get(tenant=self.tenant, task_id=pk)
        return Response(TaskSerializer(task, context=_task_context(self.tenant.pk, [task])).data)


def _task_response(tenant: Any, task_id: int) -> Response:
    task = selectors.task_get(tenant=tenant, task_id=task_id)
    return Response(TaskSerializer(task, context=_task_context(tenant.pk, [task])).data)


class _TaskDecisionView(TenantScopedMixin, APIView):
    permission_classes = [IsTenantMember]
    path_model = HumanTask
    decision = ""
    input_serializer: Any = TaskDecisionInputSerializer

    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        if request.user.role == Role.VIEWER:
            raise Forbidden("A VIEWER cannot act on tasks.")
        data = self.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.task_decide(
            tenant=self.tenant,
            task_id=pk,
            decision=self.decision,
            comment=data.validated_data.get("comment", ""),
            data=data.validated_data.get("data"),
            actor=request.user,
        )
        return _task_response(self.tenant, pk)


@extend_schema(
    request=TaskDecisionInputSerializer,
    parameters=[IDEMPOTENCY_KEY],
    responses={200: TaskSerializer, 409: error_response(409)},
    summary="Approve an approval task",
)
class TaskApproveView(_TaskDecisionView):
    decision = "approve"


@extend_schema(
    request=TaskRejectInputSerializer,
    parameters=[IDEMPOTENCY_KEY],
    responses={200: TaskSerializer, 409: error_response(409)},
    summary="Reject an approval task (comment required)",
)
class TaskRejectView(_TaskDecisionView):
    decision = "reject"
    input_serializer = TaskRejectInputSerializer


@extend_schema(
    request=TaskCompleteInputSerializer,
    parameters=[IDEMPOTENCY_KEY],
    responses={200: TaskSerializer, 409: error_response(409)},
    summary="Complete a form task (check_safety, verify_contact)",
)
class TaskCompleteView(_TaskDecisionView):
    decision = "complete"
    input_serializer = TaskCompleteInputSerializer


@extend_schema(
    request=None,
    parameters=[IDEMPOTENCY_KEY],
    responses={200: TaskSerializer, 403: error_response(403), 409: error_response(409)},
    summary="Claim a group task: it leaves the others' inbox until released",
)
class TaskClaimView(TenantScopedMixin, APIView):
    permission_classes = [IsTenantMember]
    path_model = HumanTask

    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        if request.user.role == Role.VIEWER:
            raise Forbidden("A VIEWER cannot act on tasks.")
        services.task_claim(tenant=self.tenant, task_id=pk, actor=request.user)
        return _task_response(self.tenant, pk)


@extend_schema(
    request=TaskReleaseInputSerializer,
    parameters=[IDEMPOTENCY_KEY],
    responses={200: TaskSerializer, 403: error_response(403), 409: error_response(409)},
    summary="Release a claimed task (the claimer, a SUPERVISOR or an ADMIN)",
)
class TaskReleaseView(TenantScopedMixin, APIView):
    permission_classes = [IsTenantMember]
    path_model = HumanTask

    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        data = TaskReleaseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.task_release(
            tenant=self.tenant,
            task_id=pk,
            actor=request.user,
            comment=data.validated_data["comment"],
        )
        return _task_response(self.tenant, pk)


@extend_schema(
    request=TaskReassignInputSerializer,
    parameters=[IDEMPOTENCY_KEY],
    responses={
        200: TaskSerializer,
        400: error_response(400),
        403: error_response(403),
        409: error_response(409),
    },
    summary="Reassign a pending task to someone else, with a reason (SUPERVISOR, ADMIN)",
)
class TaskReassignView(TenantScopedMixin, APIView):
    permission_classes = [IsTenantMember]
    path_model = HumanTask

    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        if request.user.role not in (Role.ADMIN, Role.SUPERVISOR):
            raise Forbidden("Only a SUPERVISOR or ADMIN may reassign a task.")
        data = TaskReassignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.task_reassign(
            tenant=self.tenant,
            task_id=pk,
            to_user_id=data.validated_data["to_user"],
            from_user_id=data.validated_data["from_user"],
            reason=data.validated_data["reason"],
            actor=request.user,
        )
        return _task_response(self.tenant, pk)
