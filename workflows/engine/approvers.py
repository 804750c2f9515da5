"""Who may decide an approval step: resolvers turn a config's `approvers` into user ids.

`role` and `users` are resolved here; other kinds (`security_group`) are registered by the
app that owns them, so the engine never imports it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import F, QuerySet

# (tenant_id, value) -> queryset of users
Resolver = Callable[[int, Any], QuerySet]
_resolvers: dict[str, Resolver] = {}


def register_approver_resolver(kind: str, resolver: Resolver) -> None:
    _resolvers[kind] = resolver
    _eligible_sql.cache_clear()


def _by_role(tenant_id: int, role: str) -> QuerySet:
    return get_user_model().objects.filter(tenant_id=tenant_id, role=role)


def _by_users(tenant_id: int, user_ids: list[int]) -> QuerySet:
    return get_user_model().objects.filter(tenant_id=tenant_id, pk__in=user_ids)


def eligible_users(tenant_id: int, approvers: dict[str, Any]) -> QuerySet | None:
    """Active users of the tenant named by `approvers`; None if its kind is unknown."""
    for kind, value in approvers.items():
        resolver = _resolvers.get(kind)
        if resolver is None:
            return None
        return resolver(tenant_id, value).filter(tenant_id=tenant_id, is_active=True)
    return None


def eligible_sql(tenant_id: int, approvers: dict[str, Any]) -> tuple[str, tuple] | None:
    """`eligible_users` as SQL selecting their ids as `uid`, to embed in a statement.

    Compiled once per (tenant, approvers): the text and parameters depend on nothing else,
    and who matches is decided when the statement runs."""
    return _eligible_sql(tenant_id, json.dumps(approvers, sort_keys=True), connection.vendor)


@lru_cache(maxsize=1024)
def _eligible_sql(tenant_id: int, approvers: str, vendor: str) -> tuple[str, tuple] | None:
    users = eligible_users(tenant_id, json.loads(approvers))
    if users is None:
        return None
    sql, params = users.order_by().annotate(uid=F("pk")).values("uid").query.sql_with_params()
    return sql, tuple(params)


register_approver_resolver("role", _by_role)
register_approver_resolver("users", _by_users)
