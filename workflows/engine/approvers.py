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

# An approval step's approvers when its config names none: the subject's own. A subject that
# has its own (a transfer: its security group) fills them in when its runs are created
# (`with_default_approvers`); for any other the tenant's SUPERVISORs decide.
DEFAULT_APPROVERS = {"default": True}
DEFAULT_ROLE = "SUPERVISOR"

# (tenant_id, value) -> queryset of users
Resolver = Callable[[int, Any], QuerySet]
# (tenant_id, value) -> an error message when `value` names what the tenant does not have
Check = Callable[[int, Any], str | None]
_resolvers: dict[str, Resolver] = {}
_checks: dict[str, Check] = {}


def register_approver_resolver(kind: str, resolver: Resolver, check: Check | None = None) -> None:
    """`check`, if given, is asked when a step config is saved, so that a reference to what the
    tenant does not have is a 400 then, not a run that finds nobody to ask later."""
    _resolvers[kind] = resolver
    if check is not None:
        _checks[kind] = check
    _eligible_sql.cache_clear()


def check_approvers(tenant_id: int, kind: str, value: Any) -> str | None:
    """Why `{kind: value}` names nobody of this tenant's, or None."""
    check = _checks.get(kind)
    return check(tenant_id, value) if check is not None else None


def _by_role(tenant_id: int, role: str) -> QuerySet:
    return get_user_model().objects.filter(tenant_id=tenant_id, role=role)


def _by_users(tenant_id: int, user_ids: list[int]) -> QuerySet:
    return get_user_model().objects.filter(tenant_id=tenant_id, pk__in=user_ids)


def _users_exist(tenant_id: int, user_ids: list[int]) -> str | None:
    found = set(_by_users(tenant_id, user_ids).values_list("pk", flat=True))
    missing = [pk for pk in user_ids if pk not in found]
    if missing:  # DRF's wording for an unknown id (or another tenant's)
        return f'Invalid pk "{missing[0]}" - object does not exist.'
    return None


def with_default_approvers(config: dict[str, Any], approvers: dict[str, Any]) -> dict[str, Any]:
    """An approval step's `config` with `approvers` in place of the default ones, if it has
    those; otherwise `config` as it is."""
    if (config or {}).get("approvers") == DEFAULT_APPROVERS:
        return {**config, "approvers": approvers}
    return config


def _by_default(tenant_id: int, value: Any) -> QuerySet:
    return _by_role(tenant_id, DEFAULT_ROLE)


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


register_approver_resolver("default", _by_default)
register_approver_resolver("role", _by_role)
register_approver_resolver("users", _by_users, _users_exist)
