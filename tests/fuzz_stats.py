"""What the schemathesis run saw, per operation; `tests/conftest.py` prints it at the end."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class OperationStats:
    examples: int
    statuses: Counter[int]
    failures: dict[str, str]


@dataclass
class FuzzStats:
    operations: dict[str, OperationStats] = field(default_factory=dict)

    def record(
        self, label: str, *, examples: int, statuses: Counter[int], failures: dict[str, str]
    ) -> None:
        self.operations[label] = OperationStats(examples, Counter(statuses), dict(failures))

    def summary_lines(self) -> list[str]:
        if not self.operations:
            return []
        statuses: Counter[int] = Counter()
        for stats in self.operations.values():
            statuses.update(stats.statuses)
        failures = [f for stats in self.operations.values() for f in stats.failures.values()]
        server_errors = sum(n for code, n in statuses.items() if code >= 500)
        by_class = ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items()))
        lines = [
            f"operations: {sum(1 for label in self.operations if not label.startswith('stateful'))}"
            + (
                " (+ stateful run)"
                if any(k.startswith("stateful") for k in self.operations)
                else ""
            ),
            f"examples:   {sum(stats.examples for stats in self.operations.values())}",
            f"failures:   {len(failures)} (server errors: {server_errors})",
            f"responses:  {by_class}",
        ]
        for label, stats in sorted(self.operations.items()):
            mark = "FAIL" if stats.failures else "ok  "
            codes = " ".join(f"{code}x{n}" for code, n in sorted(stats.statuses.items()))
            lines.append(f"  {mark} {label}: {stats.examples} examples ({codes})")
        for failure in failures:
            lines.extend(["", *failure.splitlines()])
        return lines


FUZZ_STATS = FuzzStats()
