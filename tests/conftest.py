"""Prints the schemathesis summary (operations, examples, failures) after the test run, and
writes it to `var/schemathesis-summary.txt`, which `.ci/run` shows in its own section."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tests.fuzz_stats import FUZZ_STATS

SUMMARY_FILE = (
    Path(os.environ.get("WORKFLOWS_VAR_DIR") or Path(__file__).resolve().parent.parent / "var")
    / "schemathesis-summary.txt"
)
SUMMARY_FILE.unlink(missing_ok=True)  # a summary is only ever this run's


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = FUZZ_STATS.summary_lines()
    if not lines:
        return
    terminalreporter.write_sep("=", "schemathesis summary")
    for line in lines:
        terminalreporter.write_line(line)
    SUMMARY_FILE.parent.mkdir(parents=True, exist_ok=True)
    SUMMARY_FILE.write_text("\n".join(lines) + "\n", encoding="utf-8")
