"""Prints the schemathesis summary (operations, examples, failures) after the test run."""

from __future__ import annotations

from typing import Any

from tests.fuzz_stats import FUZZ_STATS


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = FUZZ_STATS.summary_lines()
    if not lines:
        return
    terminalreporter.write_sep("=", "schemathesis summary")
    for line in lines:
        terminalreporter.write_line(line)
