"""`retry_on_deadlock`: a deadlock PostgreSQL detects is run again once, then a 409."""

import threading

import pytest
from django.db import OperationalError, connection, transaction
from psycopg.errors import DeadlockDetected

from core.db import retry_on_deadlock
from core.errors import Conflict

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_transactions_locking_in_opposite_orders_both_succeed_once_retried():
    """Real threads, real locks (advisory, held to the end of the transaction): PostgreSQL
    aborts one of the two; it runs again and succeeds once the other has committed."""
    barrier = threading.Barrier(2)
    attempts = {1: 0, 2: 0}
    results = {}

    @retry_on_deadlock
    def work(first, second):
        with transaction.atomic(durable=True):
            attempts[first] += 1
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(7700, %s)", [first])
                if attempts[first] == 1:
                    barrier.wait(timeout=10)  # both hold their first lock
                cursor.execute("SELECT pg_advisory_xact_lock(7700, %s)", [second])
        return first

    def worker(first, second):
        try:
            results[first] = work(first, second)
        except Exception as exc:  # surfaced by the assertion below
            results[first] = repr(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=pair) for pair in ((1, 2), (2, 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == {1: 1, 2: 2}
    assert sorted(attempts.values()) == [1, 2]  # one of the two lost and ran again


def _deadlock():
    try:
        raise DeadlockDetected("deadlock detected")
    except DeadlockDetected as exc:
        raise OperationalError("deadlock detected") from exc


def test_losing_twice_is_a_409_and_other_errors_pass_through():
    calls = []

    @retry_on_deadlock
    def always_loses():
        calls.append(1)
        _deadlock()

    with pytest.raises(Conflict) as raised:
        always_loses()
    assert len(calls) == 2
    assert raised.value.status_code == 409

    @retry_on_deadlock
    def other_error():
        calls.append(2)
        raise OperationalError("server closed the connection unexpectedly")

    with pytest.raises(OperationalError):
        other_error()
    assert calls.count(2) == 1
