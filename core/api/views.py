"""Base API classes: the tenant comes from the authenticated user, never from the client."""

from __future__ import annotations

from typing import Any

from core.errors import NotFound


class TenantScopedMixin:
    """Resolves `self.tenant` from the user; a `tenant_id` in the path must be the user's own.

    A path naming another tenant answers 404 exactly like a missing one.
    """

    request: Any
    kwargs: dict[str, Any]

    def initial(self, request: Any, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        user = request.user
        path_tenant = self.kwargs.get("tenant_id")
        if path_tenant is not None and str(user.tenant_id) != str(path_tenant):
            raise NotFound("Not found.")
        self.tenant = user.tenant
