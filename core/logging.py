"""Log records that can be searched: who asked (request, tenant, user), and as JSON lines.

`ContextFilter` (on the console handler in `LOGGING`) puts the request id and the fields of the
current log scope on every record. A scope is opened per request (`core.middleware`) and per
Celery task (the signals below); inside it `bind` adds fields, e.g. `core.tenancy` binds the
tenant and the user once the request is authenticated. Outside a scope `bind` does nothing, so
a long-running poller never carries one job's tenant into the next job's lines.

`JsonFormatter` writes one JSON object per line (`WORKFLOWS_LOG_FORMAT=json`, the production
default): timestamp, level, logger, message, the context fields and any `extra=` given to the
call (`run_id`, `step_run_id`, ...). JSON escapes control characters, so nothing a client sends
can start a line of its own.
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_scope: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "log_scope", default=None
)

# Fields every JSON line has (null when unknown), so a query never needs "has key".
CONTEXT_FIELDS = ("request_id", "tenant_id", "user_id")

# A LogRecord's own attributes: everything else on a record came from `extra=` or the filter.
_RECORD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys()
    | {"message", "asctime", "taskName"}
)


def open_scope(**fields: Any) -> contextvars.Token[dict[str, Any] | None]:
    """A new scope holding `fields` (None values dropped); close it with `close_scope`."""
    return _scope.set({k: v for k, v in fields.items() if v is not None})


def close_scope(token: contextvars.Token[dict[str, Any] | None]) -> None:
    _scope.reset(token)


@contextmanager
def log_scope(**fields: Any) -> Iterator[dict[str, Any]]:
    token = open_scope(**fields)
    try:
        yield _scope.get() or {}
    finally:
        close_scope(token)


def bind(**fields: Any) -> None:
    """Add fields to the open scope (None values ignored); without a scope, nothing."""
    scope = _scope.get()
    if scope is not None:
        scope.update({k: v for k, v in fields.items() if v is not None})


def current_scope() -> dict[str, Any]:
    return dict(_scope.get() or {})


def run_fields(step_run: Any = None, *, run: Any = None) -> dict[str, Any]:
    """`extra=` for a line about a run or one of its step runs (neither: nothing)."""
    if step_run is not None:
        return {
            "run_id": step_run.run_id,
            "step_run_id": step_run.pk,
            "tenant_id": step_run.tenant_id,
        }
    if run is not None:
        return {"run_id": run.pk, "tenant_id": run.tenant_id}
    return {}


class ContextFilter(logging.Filter):
    """Request id (or "-") and the scope's fields, unless the call's `extra=` gave them."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        scope = _scope.get()
        if scope:
            for key, value in scope.items():
                if key not in record.__dict__:
                    setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; see the module docstring for its fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in CONTEXT_FIELDS:
            value = record.__dict__.get(field)
            data[field] = None if value == "-" else value
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRS and key not in data:
                data[key] = value
        if record.exc_info:
            data["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            data["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(data, default=str, ensure_ascii=False)


# Celery tasks: a scope per task with its id, name and (when the message carries it) tenant.
_task_tokens: dict[str, contextvars.Token[dict[str, Any] | None]] = {}


def _task_started(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    if task_id is None:
        return
    task_kwargs = kwargs.get("kwargs") or {}
    _task_tokens[task_id] = open_scope(
        task_id=task_id,
        task_name=getattr(task, "name", None),
        tenant_id=task_kwargs.get("tenant_id") if isinstance(task_kwargs, dict) else None,
    )


def _task_finished(task_id: str | None = None, **_: Any) -> None:
    token = _task_tokens.pop(task_id or "", None)
    if token is not None:
        try:
            close_scope(token)
        except ValueError:  # made in another context (a pool that switched): drop it
            _scope.set(None)


def connect_celery() -> None:
    try:
        from celery import signals
    except ImportError:  # pragma: no cover  (celery is a dependency; a host may lack it)
        return
    signals.task_prerun.connect(_task_started, dispatch_uid="core.logging.task_started")
    signals.task_postrun.connect(_task_finished, dispatch_uid="core.logging.task_finished")
