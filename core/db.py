"""Transactions that may lose a deadlock: retried once, then a 409, never a 500.

The engine takes its row locks in one order (see `workflows/engine/runner.py`), so two of its
operations should not deadlock. If PostgreSQL still finds one (an operation outside the
engine, an order not foreseen), it aborts one of the two transactions: that one is run again
once from the start, on fresh data, and if it loses again the client gets a 409 and may retry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, IntegrityError, OperationalError, connections, transaction

from core.errors import Conflict

logger = logging.getLogger("core.db")

F = TypeVar("F", bound=Callable[..., Any])


def is_deadlock(exc: BaseException) -> bool:
    """A deadlock PostgreSQL detected (Django wraps psycopg's error; its cause is the original)."""
    try:
        from psycopg.errors import DeadlockDetected
    except ImportError:  # pragma: no cover  (no PostgreSQL driver: no PostgreSQL deadlock)
        return False
    return isinstance(exc, DeadlockDetected) or isinstance(exc.__cause__, DeadlockDetected)


def retry_on_deadlock(function: F) -> F:
    """Run `function` again if it loses a deadlock, once; if it loses again, raise `Conflict`.

    For service entry points whose writes are all in their own `transaction.atomic()` (durable,
    or a savepoint in the caller's transaction): leaving it with the error rolled it back,
    with every lock it took, so running the function again is safe and adds no statement.
    Inside an API request (`service_atomic` joins its transaction) a deadlock is a 409 at once."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for attempt in (1, 2):
            try:
                return function(*args, **kwargs)
            except OperationalError as exc:
                if not is_deadlock(exc):
                    raise
                if connections[DEFAULT_DB_ALIAS].needs_rollback:
                    # An enclosing atomic(savepoint=False) block is broken: nothing to retry in.
                    raise Conflict(_BUSY, "deadlock") from exc
                logger.warning("%s lost a deadlock (attempt %s)", function.__qualname__, attempt)
                if attempt == 2:
                    raise Conflict(_BUSY, "deadlock") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    return wrapper  # type: ignore[return-value]


_BUSY = "Another request changed the same records at the same moment; try again."


@contextmanager
def request_transaction(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """The API request's transaction (`core.api.views.TenantScopedMixin`), which every error
    response rolls back whole. Services called directly inside it join it (`service_atomic`).
    `using`: the database it runs on (a read replica for the reads that may use one)."""
    db = connections[using]
    previous = getattr(db, "request_atomic", None)
    with transaction.atomic(using=using):
        db.request_atomic = db.atomic_blocks[-1]
        try:
            yield
        finally:
            db.request_atomic = previous


def service_atomic() -> transaction.Atomic:
    """A service's `transaction.atomic()`: its own transaction, or a savepoint in the caller's,
    except directly inside a request's transaction, which it joins without one (a SAVEPOINT
    and a RELEASE less per request): the request rolls back every failure whole anyway, so the
    savepoint would undo nothing more. A deadlock there is a 409 at once (`retry_on_deadlock`:
    nothing to run again in)."""
    db = connections[DEFAULT_DB_ALIAS]
    joined = bool(db.atomic_blocks) and db.atomic_blocks[-1] is getattr(db, "request_atomic", None)
    return transaction.atomic(savepoint=not joined)


def unique_violated(exc: IntegrityError, model: Any, constraint: str) -> bool:
    """Whether `exc` is `model`'s unique constraint named `constraint` refusing a row:
    PostgreSQL names it (psycopg's diagnostics), SQLite (`make run`) lists its columns."""
    name = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
    if name is not None:
        return bool(name == constraint)
    (unique,) = [c for c in model._meta.constraints if c.name == constraint]
    table = model._meta.db_table
    columns = ", ".join(f"{table}.{model._meta.get_field(f).column}" for f in unique.fields)
    return f"UNIQUE constraint failed: {columns}" in str(exc)
