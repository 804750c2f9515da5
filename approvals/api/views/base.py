"""What every approvals view shares: tenant resolution, permissions, input parsing, OpenAPI bits."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.permissions import IsAdminOrReadOnly
from approvals.api.envelope import error_responses
from core.api.views import TenantScopedMixin

TAG = ["approvals"]
READ_ERRORS = error_responses(400, 401, 404)
WRITE_ERRORS = error_responses(400, 401, 403, 404)
MESSAGE = serializers.CharField()


def valid(
    serializer_class: type[serializers.Serializer], data: Any, *, partial: bool = False
) -> dict[str, Any]:
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class ApprovalsView(TenantScopedMixin):
    """Tenant from the user; every role of the tenant reads, only ADMIN writes."""

    permission_classes = [IsAdminOrReadOnly]
    swagger_fake_view: bool = False  # set by drf-spectacular while it builds the schema
