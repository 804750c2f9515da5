"""What the jobs of one batch share (`jobs`: a tenant's due jobs run in one transaction)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_batch_memo: ContextVar[dict[Any, Any] | None] = ContextVar("job_batch_memo", default=None)


def batch_memo() -> dict[Any, Any]:
    """A dict the handlers of one transaction's jobs share (a tenant's batch): what one job
    read and the next may reuse, as of the batch (e.g. the tenant's webhook subscribers, read
    once for a batch of events instead of once per event). Outside a batch, an empty dict that
    nothing else sees."""
    memo = _batch_memo.get()
    return {} if memo is None else memo


@contextmanager
def memo_for_the_batch() -> Iterator[None]:
    """`batch_memo()` is one dict inside (`jobs` runs each batch's transaction in this)."""
    token = _batch_memo.set({})
    try:
        yield
    finally:
        _batch_memo.reset(token)
