"""Role permissions, in the seed's `IsTenantAdmin` style."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.models import Role


class IsTenantMember(BasePermission):
    """Authenticated and inside a tenant (platform staff have none)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.tenant_id is not None)


class IsTenantAdmin(BasePermission):
    message = "Only a tenant ADMIN may do this."

    def has_permission(self, request: Any, view: Any) -> bool:
        return IsTenantMember().has_permission(request, view) and request.user.role == Role.ADMIN


class IsAdminOrReadOnly(BasePermission):
    """Every role of the tenant reads; only ADMIN writes."""

    message = "Only a tenant ADMIN may change this."

    def has_permission(self, request: Any, view: Any) -> bool:
        if not IsTenantMember().has_permission(request, view):
            return False
        return request.method in SAFE_METHODS or request.user.role == Role.ADMIN
