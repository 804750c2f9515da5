"""Housekeeping of engine rows that migrations run (each function safe to run again)."""

from __future__ import annotations

from typing import Any

BATCH = 10_000


def delete_closed_ballots(
    connection: Any,
    *,
    ballots: str = "workflows_taskballot",
    tasks: str = "workflows_humantask",
    batch: int = BATCH,
) -> int:
    """Delete the ballots nobody decided on tasks that are no longer pending: what the engine
    left before a task that closes deleted them itself (`ballots.close_ballots`). In ranges of
    `batch` ballot ids, one statement each (its own transaction under autocommit, so a big
    table is never locked or rewritten at once). Returns how many were deleted.

    The tables are parameters so that a migration can pass its historical models' names."""
    # The table names are model metadata, never input; every value is a parameter.
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT min(id), max(id) FROM "{ballots}"')  # noqa: S608
        low, high = cursor.fetchone()
        if low is None:
            return 0
        b = f'"{ballots}"'
        delete = (
            f"DELETE FROM {b} WHERE {b}.id >= %s AND {b}.id < %s AND {b}.decision IS NULL "  # noqa: S608
            f'AND EXISTS (SELECT 1 FROM "{tasks}" t WHERE t.id = {b}.task_id '
            "AND t.status <> 'pending')"
        )
        deleted = 0
        for start in range(low, high + 1, batch):
            cursor.execute(delete, [start, start + batch])
            deleted += max(cursor.rowcount, 0)
    return deleted
