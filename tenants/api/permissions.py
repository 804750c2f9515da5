"""Who manages tenants: platform staff (users with no tenant and `is_staff`), never a tenant's
own users."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission


class IsPlatformStaff(BasePermission):
    message = "Only platform staff may manage tenants."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff)
