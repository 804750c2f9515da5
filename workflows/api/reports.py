"""`/api/reports/...`: cycle times, overdue tasks, approvers. ADMIN and SUPERVISOR only."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role
from core.api.fields import IntegerField
from core.api.views import TenantScopedMixin
from core.db_router import replica_reads
from workflows import reports
from workflows.api.run_serializers import TaskSubjectSerializer
from workflows.engine.subjects import describe_subjects
from workflows.models import HumanTask


class CanReadReports(BasePermission):
    message = "Only an ADMIN or SUPERVISOR may read reports."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and user.tenant_id is not None
            and user.role in (Role.ADMIN, Role.SUPERVISOR)
        )


class WorkflowFilterSerializer(serializers.Serializer):
    workflow = IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, help_text="Only this workflow's runs."
    )


class ReportFilterSerializer(WorkflowFilterSerializer):
    """`from` and `to`: ISO dates (UTC days, both included) on the decision time."""

    to = serializers.DateField(
        required=False, help_text="Decided on or before this day (UTC), e.g. 2026-06-30."
    )

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        # `from` is a Python keyword: it cannot be a class attribute.
        return {
            "from": serializers.DateField(
                required=False, help_text="Decided on or after this day (UTC), e.g. 2026-06-01."
            ),
            **fields,
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("from"), attrs.get("to")
        if start and end and end < start:
            raise serializers.ValidationError({"to": ["Must be on or after `from`."]})
        return attrs

    def filters(self) -> reports.ReportFilters:
        data = self.validated_data
        return reports.ReportFilters(
            date_from=data.get("from"), date_to=data.get("to"), workflow_id=data.get("workflow")
        )


def _filters(request: Request) -> reports.ReportFilters:
    query = ReportFilterSerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.filters()


class StepCycleTimeSerializer(serializers.Serializer):
    position = serializers.IntegerField(help_text="0-based position of the step in its run.")
    name = serializers.CharField()
    count = serializers.IntegerField(help_text="Tasks decided.")
    median_seconds = serializers.FloatField()
    p90_seconds = serializers.FloatField()


class WorkflowCycleTimeSerializer(serializers.Serializer):
    workflow = serializers.IntegerField(
        allow_null=True, help_text="null: runs of workflows since deleted."
    )
    workflow_name = serializers.CharField()
    count = serializers.IntegerField(help_text="Tasks decided.")
    median_seconds = serializers.FloatField()
    p90_seconds = serializers.FloatField()
    steps = StepCycleTimeSerializer(many=True)


class CycleTimesSerializer(serializers.Serializer):
    workflows = WorkflowCycleTimeSerializer(many=True)


@replica_reads
class CycleTimesView(TenantScopedMixin, APIView):
    permission_classes = [CanReadReports]

    @extend_schema(
        parameters=[ReportFilterSerializer],
        responses={200: CycleTimesSerializer},
        summary="Open-to-decision times per workflow and step: count, median, 90th percentile",
    )
    def get(self, request: Request) -> Response:
        """Decided tasks only (not cancelled ones); not paginated: one item per workflow."""
        rows = reports.cycle_times(tenant=self.tenant, filters=_filters(request))
        return Response(CycleTimesSerializer({"workflows": rows}).data)


class OverdueStepSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    name = serializers.CharField()


class OverdueTaskSerializer(serializers.ModelSerializer):
    overdue_seconds = serializers.SerializerMethodField()
    workflow = serializers.IntegerField(source="run.workflow_id", allow_null=True)
    workflow_name = serializers.CharField(source="run.workflow_name")
    step = OverdueStepSerializer(source="step_run")
    subject = serializers.SerializerMethodField()

    class Meta:
        model = HumanTask
        fields = [
            "id",
            "name",
            "action",
            "run",
            "workflow",
            "workflow_name",
            "step",
            "subject",
            "created_at",
            "due_at",
            "overdue_seconds",
            "eligible_count",
            "required_approvals",
            "approvals_count",
            "rejections_count",
        ]
        read_only_fields = fields

    def get_overdue_seconds(self, task: HumanTask) -> float:
        return (self.context["now"] - task.due_at).total_seconds()

    @extend_schema_field(TaskSubjectSerializer)
    def get_subject(self, task: HumanTask) -> dict[str, Any]:
        return self.context["subjects"].get(
            (task.subject_type, task.subject_id), {"type": task.subject_type, "id": task.subject_id}
        )


@extend_schema(
    parameters=[WorkflowFilterSerializer],
    responses={200: OverdueTaskSerializer(many=True)},
    summary="Pending tasks past their due time, the longest overdue first",
)
@replica_reads
class OverdueView(TenantScopedMixin, generics.GenericAPIView):
    permission_classes = [CanReadReports]
    serializer_class = OverdueTaskSerializer
    # The schema's model look-up only; requests use `self.tenant`.
    queryset = HumanTask.objects.none()

    def get(self, request: Request) -> Response:
        query = WorkflowFilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        now = timezone.now()
        tasks = reports.overdue_tasks(
            tenant=self.tenant, workflow_id=query.validated_data.get("workflow"), now=now
        )
        page = list(self.paginate_queryset(tasks))
        subjects = describe_subjects(self.tenant.pk, [(t.subject_type, t.subject_id) for t in page])
        data = OverdueTaskSerializer(page, many=True, context={"now": now, "subjects": subjects})
        return self.get_paginated_response(data.data)


class ApproverSerializer(serializers.Serializer):
    user = serializers.IntegerField(source="user_id")
    email = serializers.EmailField(source="user__email")
    full_name = serializers.CharField(source="user__full_name")
    decisions = serializers.IntegerField()
    approved = serializers.IntegerField()
    rejected = serializers.IntegerField()
    completed = serializers.IntegerField(help_text="Form tasks completed.")
    median_seconds = serializers.FloatField(
        help_text="Median seconds from a task's opening to this person's decision on it."
    )


@extend_schema(
    parameters=[ReportFilterSerializer],
    responses={200: ApproverSerializer(many=True)},
    summary="Decisions and median response time per person",
)
@replica_reads
class ApproversView(TenantScopedMixin, generics.GenericAPIView):
    permission_classes = [CanReadReports]
    serializer_class = ApproverSerializer
    # The schema's model look-up only; requests use `self.tenant`.
    queryset = HumanTask.objects.none()

    def get(self, request: Request) -> Response:
        rows = reports.approvers(tenant=self.tenant, filters=_filters(request))
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(ApproverSerializer(page, many=True).data)
