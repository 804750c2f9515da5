"""The database's view of who is asking: role, tenant, actor and request id, per transaction.

PostgreSQL row-level security (see `core.rls`) lets a connection see only the rows of the
tenant in `app.tenant_id`; audit triggers read `app.actor_id` and `app.request_id`. They are
set with `set_config(..., true)`, i.e. for the current transaction only, so nothing leaks to
the next user of a pooled or persistent connection. An empty tenant means no tenant: no rows.

Each context also names the role the transaction runs as: the application role for tenant
work, the platform role for cross-tenant platform code (the outbox relay, a worker finding
which tenant a step run belongs to, management commands), which says so with `bypass=True`.
Becoming the platform role needs a login that is a member of it (`core.db_roles`); the API's
login is not, so a bypass asked for on its connection fails instead of opening every tenant.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections

from core.logging import bind
from core.rls import app_role, platform_role


def set_db_context(
    *,
    tenant_id: int | None = None,
    actor_id: int | None = None,
    request_id: str | None = None,
    bypass: bool = False,
    using: str = DEFAULT_DB_ALIAS,
) -> None:
    """Set the context for the rest of the current transaction (PostgreSQL only) on the
    connection `using` names (the read replica's for a request served from it)."""
    if not bypass:
        bind(tenant_id=tenant_id, user_id=actor_id)  # on the request's or task's log lines
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    if not connection.in_atomic_block:
        raise RuntimeError("set_db_context needs a transaction: it is transaction-scoped")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('role', %s, true), set_config('app.tenant_id', %s, true),"
            " set_config('app.actor_id', %s, true), set_config('app.request_id', %s, true)",
            [
                platform_role() if bypass else app_role(),
                "" if tenant_id is None else str(int(tenant_id)),
                "" if actor_id is None else str(int(actor_id)),
                (request_id or "")[:64],
            ],
        )
