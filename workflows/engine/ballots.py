"""The statements on a task's ballots: a vote, the clean-up when the task closes, a
reassignment, and the separation-of-duties question (`PREVIOUS_DECIDER_SQL`)."""

from __future__ import annotations

from typing import Any

from workflows.engine.rows import as_stored
from workflows.engine.sql import Statement, cached, execute, qn
from workflows.engine.store import PREVIOUS_DECIDER_SQL
from workflows.models import HumanTask, TaskBallot


@cached
def _vote_sql() -> str:
    return (
        f"UPDATE {qn(TaskBallot._meta.db_table)} SET decision = %s, comment = %s, "
        "decided_at = %s, acted_by_id = %s WHERE tenant_id = %s AND task_id = %s "
        "AND user_id = %s AND decision IS NULL"
    )


def vote(
    task: HumanTask, holder_id: int, ballot: tuple[str, str, Any], acted_by: int | None = None
) -> Statement:
    """The statement that writes `ballot` (decision, comment, decided_at) over `holder_id`'s
    open ballot on `task`; `acted_by`: the delegate deciding it for them."""
    decision, comment, decided_at = ballot
    decided_at = as_stored(TaskBallot, "decided_at", decided_at)
    params = [decision, comment, decided_at, acted_by, task.tenant_id, task.pk, holder_id]
    return _vote_sql(), params


@cached
def _close_ballots_sql(keep_voter: bool) -> str:
    voter = " AND user_id <> %s" if keep_voter else ""
    return (
        f"DELETE FROM {qn(TaskBallot._meta.db_table)} WHERE tenant_id = %s AND task_id = %s "
        f"AND decision IS NULL{voter}"
    )


def close_ballots(task: HumanTask, voter_id: int | None = None) -> Statement:
    """The statement that deletes the open ballots of a task that closes: who never voted
    keeps no row (the inbox then reads only open work; `eligible_count` keeps how many could
    have decided, the audit trail who). `voter_id`: the ballot the same batch writes (see
    `vote`), left alone, as `batch` wants."""
    params = [task.tenant_id, task.pk]
    if voter_id is not None:
        params.append(voter_id)
    return _close_ballots_sql(voter_id is not None), params


def ballot_holders(task: HumanTask) -> dict[int, bool]:
    """Who holds a ballot on `task`, and whether it is open."""
    rows, _ = execute(
        f"SELECT user_id, decision IS NULL FROM {qn(TaskBallot._meta.db_table)} "
        "WHERE tenant_id = %s AND task_id = %s",
        [task.tenant_id, task.pk],
    )
    return {user_id: bool(is_open) for user_id, is_open in rows}


def move_ballot(task: HumanTask, from_id: int, to_id: int) -> Statement:
    """The statement that gives `from_id`'s open ballot on `task` to `to_id` (a reassignment)."""
    return (
        f"UPDATE {qn(TaskBallot._meta.db_table)} SET user_id = %s WHERE tenant_id = %s "
        "AND task_id = %s AND user_id = %s AND decision IS NULL",
        [to_id, task.tenant_id, task.pk, from_id],
    )


def decided_before(task: HumanTask, user_id: int) -> bool:
    """Whether `user_id` decided another task of `task`'s subject (see PREVIOUS_DECIDER_SQL)."""
    decided = PREVIOUS_DECIDER_SQL.format(
        tenant="%s", subject_type="%s", subject_id="%s", extra=" AND pt.id <> %s", uid="%s"
    )
    params = [task.tenant_id, task.subject_type, task.subject_id, task.pk, *[user_id] * 3]
    rows, _ = execute(f"SELECT EXISTS ({decided})", params)
    return bool(rows[0][0])
