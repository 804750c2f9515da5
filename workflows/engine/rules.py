"""Approval rules: how many approvals a vote needs, and what its counts decide.

A rule is a small object registered by key (the approval step's `rule`): `need(value)` says
how many approvals are required, as `Need` (at least `at_least`, and at least `share` of the
eligible, rounded up), where `value` is the step config's `param` (e.g. `quorum`); `outcome`
decides from the counts. `Need` is one formula for every rule, so the statement that opens a
task computes the required count from the eligible count it inserts, with no rule in its
text. A new rule is one module with a subclass of `ApprovalRule` and `register_rule(...)`
(see `rule_percent.py`).

Rejections: by default a rule's task is rejected when approval is out of reach (too few
voters left), and for any/all at the first rejection; a step's `reject_rule` ("first", or a
number N of rejections) says otherwise (`reject_after`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar

from rest_framework import serializers

from core.api.fields import IntegerField

APPROVED, REJECTED = "approved", "rejected"  # TaskStatus values (no model import here)


@dataclass(frozen=True, slots=True)
class Need:
    """Approvals required: at least `at_least`, and at least `share` of the eligible."""

    at_least: int = 0
    share: Fraction = Fraction(0)

    def of(self, eligible: int) -> int:
        # -(-a // b): a / b rounded up, exactly (no floating point).
        share = -(-eligible * self.share.numerator // self.share.denominator)
        return max(self.at_least, share)

    def sql_params(self) -> list[int]:
        """The parameters of `REQUIRED_SQL`."""
        den = self.share.denominator
        return [self.at_least, self.share.numerator, den, den]


# `Need.of` in SQL, of the eligible count `{count}` (integer division rounds down; the
# numerator added first rounds up).
REQUIRED_SQL = (
    "GREATEST(CAST(%s AS INTEGER), CAST(({count} * CAST(%s AS INTEGER) "
    "+ CAST(%s AS INTEGER) - 1) / CAST(%s AS INTEGER) AS INTEGER))"
)


class ApprovalRule:
    key: ClassVar[str]
    label: ClassVar[str] = ""
    # The config key that parametrises the rule (e.g. "quorum"), and its field.
    param: ClassVar[str | None] = None
    # Rejections that reject when the step sets no `reject_rule` (None: only once approval
    # is out of reach).
    default_reject_after: ClassVar[int | None] = None

    def param_field(self) -> serializers.Field | None:
        return None

    def need(self, value: Any) -> Need:
        raise NotImplementedError

    def check(self, value: Any, named_users: int | None) -> str | None:
        """Why `value` cannot work with `named_users` approvers named by id (None: the
        approvers are a role or group), or None."""
        return None

    def outcome(
        self,
        *,
        approvals: int,
        rejections: int,
        eligible: int,
        required: int,
        reject_after: int | None,
    ) -> str | None:
        """The task's outcome after a vote ("approved" / "rejected"), None while undecided."""
        if approvals >= required:
            return APPROVED
        if reject_after is not None and rejections >= reject_after:
            return REJECTED
        if eligible - rejections < required:
            return REJECTED
        return None


class AnyRule(ApprovalRule):
    key, label = "any", "The first decision settles it"
    default_reject_after = 1

    def need(self, value: Any) -> Need:
        return Need(at_least=1)


class AllRule(ApprovalRule):
    key, label = "all", "Every eligible person approves"
    default_reject_after = 1

    def need(self, value: Any) -> Need:
        return Need(share=Fraction(1))


class QuorumRule(ApprovalRule):
    key, label, param = "quorum", "A number of approvals", "quorum"

    def param_field(self) -> serializers.Field:
        return IntegerField(min_value=1, max_value=1000, required=False)

    def need(self, value: Any) -> Need:
        return Need(at_least=int(value or 1))

    def check(self, value: Any, named_users: int | None) -> str | None:
        if named_users is not None and value > named_users:
            return "Cannot exceed the number of named approvers."
        return None


_rules: dict[str, ApprovalRule] = {}


def register_rule(rule: ApprovalRule) -> ApprovalRule:
    if rule.key in _rules:
        raise ValueError(f"Approval rule {rule.key!r} is already registered")
    _rules[rule.key] = rule
    return rule


def get_rule(key: str) -> ApprovalRule:
    return _rules[key]


def all_rules() -> list[ApprovalRule]:
    return list(_rules.values())


def need_for(config: Mapping[str, Any]) -> tuple[ApprovalRule, Need]:
    rule = _rules[config.get("rule", "any")]
    return rule, rule.need(config.get(rule.param) if rule.param else None)


def reject_after(rule: ApprovalRule, config: Mapping[str, Any]) -> int | None:
    """Rejections that reject a task of this step (see the module's doc)."""
    setting = config.get("reject_rule")
    if setting is None:
        return rule.default_reject_after
    return 1 if setting == "first" else int(setting)


register_rule(AnyRule())
register_rule(AllRule())
register_rule(QuorumRule())
