"""RetryPolicy, pure: delays, caps, attempts, non-retryable errors, settings defaults."""

from __future__ import annotations

import dataclasses

import pytest

from workflows.engine.retry import DEFAULT, RetryPolicy


def test_delays_grow_by_the_coefficient_up_to_the_cap():
    policy = RetryPolicy(initial_delay=2, coefficient=3, max_delay=50, max_attempts=10)
    assert [policy.delay(n) for n in range(1, 6)] == [2, 6, 18, 50, 50]


def test_a_huge_attempt_number_is_the_cap_not_an_overflow():
    policy = RetryPolicy(initial_delay=1, coefficient=10, max_delay=60)
    assert policy.delay(5000) == 60


def test_coefficient_one_is_a_constant_delay():
    policy = RetryPolicy(initial_delay=5, coefficient=1, max_delay=60)
    assert {policy.delay(n) for n in range(1, 20)} == {5}


def test_attempts_count_the_first_one():
    policy = RetryPolicy(max_attempts=3)
    assert [policy.should_retry(n) for n in (1, 2, 3, 4)] == [True, True, False, False]
    assert RetryPolicy(max_attempts=1).should_retry(1) is False


def test_non_retryable_errors_and_their_subclasses_are_final():
    class Permanent(Exception):
        pass

    class MorePermanent(Permanent):
        pass

    policy = RetryPolicy(max_attempts=5, non_retryable=(Permanent,))
    assert policy.should_retry(1, RuntimeError("maybe later")) is True
    assert policy.should_retry(1, Permanent()) is False
    assert policy.should_retry(1, MorePermanent()) is False


def test_left_out_delays_come_from_settings_when_used(settings):
    settings.WORKFLOWS_RETRY_BASE_SECONDS = 3
    settings.WORKFLOWS_RETRY_MAX_DELAY = 10
    assert [DEFAULT.delay(n) for n in (1, 2, 3)] == [3, 6, 10]
    assert DEFAULT.max_attempts == 3
    settings.WORKFLOWS_RETRY_BASE_SECONDS = 1
    assert DEFAULT.delay(1) == 1


def test_with_attempts_overrides_only_the_attempts():
    policy = RetryPolicy(initial_delay=1, max_attempts=3, non_retryable=(KeyError,))
    assert policy.with_attempts(None) is policy
    assert policy.with_attempts(3) is policy
    five = policy.with_attempts(5)
    assert five == dataclasses.replace(policy, max_attempts=5)
    assert policy.max_attempts == 3


def test_policies_are_frozen_and_checked():
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT.max_attempts = 9  # type: ignore[misc]
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(coefficient=0.5)
    with pytest.raises(ValueError):
        RetryPolicy(initial_delay=-1)
