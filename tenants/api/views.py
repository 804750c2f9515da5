"""`/api/tenants/`: platform staff create and manage tenants."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.fields import IntegerField
from core.errors import NotFound
from tenants import services
from tenants.api.permissions import IsPlatformStaff
from tenants.models import AUDIT_RETENTION_MAX_DAYS, AUDIT_RETENTION_MIN_DAYS, Tenant


class TenantSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tenant
        fields = [
            "id",
            "name",
            "slug",
            "is_active",
            "audit_retention_days",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class TenantInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=64, required=False)
    is_active = serializers.BooleanField(required=False, default=True)
    audit_retention_days = IntegerField(
        required=False,
        allow_null=True,
        min_value=AUDIT_RETENTION_MIN_DAYS,
        max_value=AUDIT_RETENTION_MAX_DAYS,
        help_text=(
            "Days the audit trail keeps this tenant's events (null: forever); older events are "
            "removed by the job poller within the hour."
        ),
    )


@extend_schema_view(
    create=extend_schema(request=TenantInputSerializer, responses={201: TenantSerializer}),
    update=extend_schema(request=TenantInputSerializer, responses={200: TenantSerializer}),
    partial_update=extend_schema(request=TenantInputSerializer, responses={200: TenantSerializer}),
)
class TenantViewSet(viewsets.GenericViewSet):
    """Tenants are platform data, not tenant data: only staff users reach them."""

    permission_classes = [IsPlatformStaff]
    serializer_class = TenantSerializer
    queryset = Tenant.objects.order_by("id")

    def _get(self, pk: int) -> Tenant:
        try:
            return Tenant.objects.get(pk=pk)
        except Tenant.DoesNotExist as exc:
            raise NotFound("Not found.") from exc

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(TenantSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: int) -> Response:
        return Response(TenantSerializer(self._get(pk)).data)

    def create(self, request: Request) -> Response:
        data = TenantInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tenant = services.tenant_create(**data.validated_data)
        return Response(TenantSerializer(tenant).data, status=status.HTTP_201_CREATED)

    def _update(self, request: Request, pk: int, partial: bool) -> Response:
        tenant = self._get(pk)
        data = TenantInputSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        changes: dict[str, Any] = dict(data.validated_data)
        return Response(TenantSerializer(services.tenant_update(tenant=tenant, data=changes)).data)

    def update(self, request: Request, pk: int) -> Response:
        return self._update(request, pk, partial=False)

    def partial_update(self, request: Request, pk: int) -> Response:
        return self._update(request, pk, partial=True)
