"""Reads that may go to a PostgreSQL streaming replica (`DATABASE_REPLICA_URL`).

Only inside an explicit scope: a view marked `@replica_reads` answering a GET (lists, the
inbox, reports; `core.api.views.TenantScopedMixin` runs it in a transaction on the replica,
with the same tenant context, and opens the scope after authentication). Everything else
reads the primary: writes, any read while the primary's connection is in a transaction block
(a read a write depends on must see that write, and take its locks), and every read when no
replica is configured. A replica lags: what a client just wrote may show in a list a moment
later, never in a decision.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections, router

REPLICA_DB_ALIAS = "replica"

_replica_scope: ContextVar[bool] = ContextVar("replica_scope", default=False)

V = TypeVar("V", bound=type)


def replica_configured() -> bool:
    return REPLICA_DB_ALIAS in connections.settings


def replica_reads(view: V) -> V:
    """Class decorator: the view's GET reads from the replica when there is one.

    Only for views whose GET writes nothing and opens no transaction of its own on the
    primary (a read in one goes to the primary, which has no tenant context then)."""
    view.replica_reads = True  # type: ignore[attr-defined]
    return view


@contextmanager
def reading_from_replica() -> Iterator[None]:
    """Reads inside may be served by the replica (see `ReplicaRouter`)."""
    token = _replica_scope.set(True)
    try:
        yield
    finally:
        _replica_scope.reset(token)


def in_replica_scope() -> bool:
    return _replica_scope.get()


def read_connection(model: Any) -> Any:
    """The connection an ORM read of `model` would use now: for raw SQL in a read path."""
    return connections[router.db_for_read(model)]


class ReplicaRouter:
    """DATABASE_ROUTERS entry: the replica for scoped reads, the primary for everything else."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        if (
            _replica_scope.get()
            and replica_configured()
            and not connections[DEFAULT_DB_ALIAS].in_atomic_block
        ):
            return REPLICA_DB_ALIAS
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model: Any, **hints: Any) -> str:
        # Explicit: Django would otherwise write an instance back where it was read from.
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # One database, two connections to it.
        aliases = {DEFAULT_DB_ALIAS, REPLICA_DB_ALIAS}
        if obj1._state.db in aliases and obj2._state.db in aliases:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return False if db == REPLICA_DB_ALIAS else None
