"""Retry policies: how long to wait before the next attempt, and whether there is one.

One policy object per action (`ActionSpec.retry`) and per job kind (`jobs.register_job`).
Delays grow geometrically: attempt 1 failed → `initial_delay`, attempt 2 → `initial_delay *
coefficient`, … capped at `max_delay`. `initial_delay`/`max_delay` left as None are read from
settings when used (WORKFLOWS_RETRY_BASE_SECONDS, WORKFLOWS_RETRY_MAX_DELAY), so one default
serves every environment and a test may change the settings.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class RetryPolicy:
    initial_delay: float | None = None  # seconds; None: WORKFLOWS_RETRY_BASE_SECONDS
    coefficient: float = 2.0
    max_delay: float | None = None  # seconds; None: WORKFLOWS_RETRY_MAX_DELAY
    max_attempts: int = 3  # attempts in all, the first included
    non_retryable: tuple[type[BaseException], ...] = ()

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.coefficient < 1:
            raise ValueError("coefficient must be at least 1")
        for value in (self.initial_delay, self.max_delay):
            if value is not None and value < 0:
                raise ValueError("delays cannot be negative")

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1 for the first)."""
        initial = (
            float(settings.WORKFLOWS_RETRY_BASE_SECONDS)
            if self.initial_delay is None
            else self.initial_delay
        )
        cap = (
            float(settings.WORKFLOWS_RETRY_MAX_DELAY) if self.max_delay is None else self.max_delay
        )
        exponent = max(attempt - 1, 0)
        # Cap the exponent too: coefficient ** 2000 overflows a float.
        if exponent > 64:
            return cap
        return min(initial * self.coefficient**exponent, cap)

    def should_retry(self, attempt: int, exc: BaseException | None = None) -> bool:
        """Whether attempt number `attempt`, failed with `exc`, gets another attempt."""
        if exc is not None and isinstance(exc, self.non_retryable):
            return False
        return attempt < self.max_attempts

    def with_attempts(self, max_attempts: int | None) -> RetryPolicy:
        """The same policy with another number of attempts (a step's `max_attempts`)."""
        if max_attempts is None or max_attempts == self.max_attempts:
            return self
        return dataclasses.replace(self, max_attempts=int(max_attempts))


DEFAULT = RetryPolicy()
