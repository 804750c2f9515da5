"""Who may decide an approval step: resolvers turn a config's `approvers` into user ids.

`role` and `users` are resolved here; other kinds (`security_group`) are registered by the
app that owns them, so the engine never imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

# (tenant_id, value) -> queryset of users
Resolver = Callable[[int, Any], QuerySet]
_resolvers: dict[str, Resolver] = {}


def register_approver_resolver(kind: str, resolver: Resolver) -> None:
    _resolvers[kind] = resolver


def _by_role(tenant_id: int, role: str) -> QuerySet:
    return get_user_model().objects.filter(tenant_id=tenant_id, role=role)


def _by_users(tenant_id: int, user_ids: list[int]) -> QuerySet:
    return get_user_model().objects.filter(tenant_id=tenant_id, pk__in=user_ids)


register_approver_resolver("role", _by_role)
register_approver_resolver("users", _by_users)


def eligible_users(tenant_id: int, approvers: dict[str, Any]) -> QuerySet | None:
    """Active users of the tenant named by `approvers`; None if its kind is unknown."""
    for kind, value in approvers.items():
        resolver = _resolvers.get(kind)
        if resolver is None:
            return None
        return resolver(tenant_id, value).filter(tenant_id=tenant_id, is_active=True)
    return None
