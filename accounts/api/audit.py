"""`GET /api/audit-log/`: the tenant's append-only history (ADMIN, SUPERVISOR). Read-only."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.apps import apps
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.permissions import BasePermission

from accounts.models import Role
from core.api.fields import ascii_integer
from core.api.views import TenantScopedMixin
from core.db_router import replica_reads
from core.errors import ValidationFailed
from core.models import AuditEvent


@cache
def _labels() -> tuple[dict[str, str], dict[str, str]]:
    """table name <-> "app_label.model" for every model."""
    by_table = {m._meta.db_table: m._meta.label_lower for m in apps.get_models()}
    return by_table, {label: table for table, label in by_table.items()}


class AuditEventSerializer(serializers.ModelSerializer):
    object_type = serializers.SerializerMethodField()
    operation = serializers.SerializerMethodField()
    # The payload written out whole again (AuditEvent.rows), as before core 0009.
    old_data = serializers.JSONField(source="old_row", read_only=True, allow_null=True)
    new_data = serializers.JSONField(source="new_row", read_only=True, allow_null=True)
    request_id = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "object_type",
            "object_id",
            "operation",
            "old_data",
            "new_data",
            "actor_id",
            "request_id",
            "created_at",
        ]
        read_only_fields = fields

    def get_object_type(self, event: AuditEvent) -> str:
        return _labels()[0].get(event.table.name, event.table.name)

    def get_operation(self, event: AuditEvent) -> str:
        return event.action.lower()


class CanReadAudit(BasePermission):
    message = "Only an ADMIN or SUPERVISOR may read the audit log."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and user.tenant_id is not None
            and user.role in (Role.ADMIN, Role.SUPERVISOR)
        )


@extend_schema(
    parameters=[
        OpenApiParameter(
            "object_type", str, description='A model label, e.g. "approvals.transfer"'
        ),
        OpenApiParameter("object_id", int),
    ],
    responses={200: AuditEventSerializer(many=True)},
)
@replica_reads
class AuditLogView(TenantScopedMixin, generics.ListAPIView):
    """Newest first; filter by `object_type` (a model label) and `object_id`."""

    permission_classes = [CanReadAudit]
    serializer_class = AuditEventSerializer

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request user
            return AuditEvent.objects.none()
        queryset = (
            AuditEvent.objects.filter(tenant_id=self.tenant.pk)
            .select_related("table")
            .order_by("-id")
        )
        params = self.request.query_params
        object_type = params.get("object_type")
        if object_type:
            table = _labels()[1].get(object_type.lower())
            if table is None:
                raise ValidationFailed(
                    f"Unknown object type '{object_type}'; use a label like 'workflows.workflow'.",
                    field="object_type",
                )
            queryset = queryset.filter(table__name=table)
        object_id = params.get("object_id")
        if object_id:
            queryset = queryset.filter(object_id=ascii_integer(object_id, field="object_id"))
        return queryset
