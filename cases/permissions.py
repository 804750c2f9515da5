"""Who may do what with cases (DESIGN §4): every role reads; ADMIN, SUPERVISOR and AGENT open,
change cases and start workflows on them; only ADMIN and SUPERVISOR delete."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.models import Role
from accounts.permissions import IsTenantMember

WRITERS = (Role.ADMIN, Role.SUPERVISOR, Role.AGENT)
DELETERS = (Role.ADMIN, Role.SUPERVISOR)


class CasePermission(BasePermission):
    message = "A VIEWER may only read cases."

    def has_permission(self, request: Any, view: Any) -> bool:
        if not IsTenantMember().has_permission(request, view):
            return False
        if request.method in SAFE_METHODS:
            return True
        if request.method == "DELETE":
            self.message = "Only a SUPERVISOR or ADMIN may delete a case."
            return request.user.role in DELETERS
        return request.user.role in WRITERS
