"""The `percent` approval rule: a share of the eligible approves (e.g. 60: 60 % of them,
rounded up, at least one). One module and a registration, as every rule."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from rest_framework import serializers

from core.api.fields import IntegerField
from workflows.engine.rules import ApprovalRule, Need, register_rule


class PercentRule(ApprovalRule):
    key, label, param = "percent", "A share of the eligible, in percent", "percent"

    def param_field(self) -> serializers.Field:
        return IntegerField(min_value=1, max_value=100, required=False)

    def need(self, value: Any) -> Need:
        return Need(at_least=1, share=Fraction(int(value), 100))


PERCENT = register_rule(PercentRule())
