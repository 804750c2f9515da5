"""Workflow and step serializers. Field names follow seed 1 exactly."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.api.fields import IntegerField, StorableJSONField
from workflows.engine.registry import registry
from workflows.models import Step, Workflow


class StepSerializer(serializers.ModelSerializer):
    class Meta:
        model = Step
        fields = [
            "id",
            "workflow",
            "name",
            "order",
            "action",
            "config",
            "created_at",
            "updated_at",
            "created_by",
            "updated_by",
        ]
        read_only_fields = fields


class WorkflowSerializer(serializers.ModelSerializer):
    steps = StepSerializer(many=True, read_only=True)

    class Meta:
        model = Workflow
        fields = [
            "id",
            "tenant",
            "name",
            "description",
            "is_active",
            "code",
            "transfer_type",
            "steps",
            "created_at",
            "updated_at",
            "created_by",
            "updated_by",
        ]
        read_only_fields = fields


class WorkflowInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=10000, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)
    code = serializers.RegexField(
        r"^[A-Za-z0-9_.-]+$",
        max_length=64,
        required=False,
        allow_null=True,
        allow_blank=True,
        error_messages={"invalid": "Use letters, digits, '_', '-' and '.' only."},
    )
    transfer_type = serializers.RegexField(
        r"^[A-Za-z0-9_.-]*$",
        max_length=32,
        required=False,
        allow_blank=True,
        error_messages={"invalid": "Use letters, digits, '_', '-' and '.' only."},
    )


class StepInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    order = IntegerField(min_value=0, max_value=1_000_000)
    action = serializers.CharField(max_length=64)
    config = StorableJSONField(
        required=False,
        help_text=(
            "The action's settings, validated per action; `GET /api/actions/` lists each "
            "action's keys and defaults. `approval`: `approvers` (one of `default`, "
            "`security_group`, `role`, `users`), `rule` (`any`, `all`, `quorum` with `quorum`: "
            "N approvals, or `percent` with `percent`: 1-100 % of the eligible, rounded up), "
            '`reject_rule` (`"first"` or N rejections; by default the first for any/all, '
            "otherwise once approval is out of reach), `allow_self_approval`, "
            "`exclude_previous_deciders` (true: whoever decided an earlier step of the "
            "subject's chain may not decide this one), `due_in_hours` and timers "
            "(`remind_every_hours`, `escalate_after_hours` with `escalate_to`, `on_timeout`: "
            "`reject`, `approve`, `escalate` or `fail`, `business_hours`). Form actions "
            "(`check_safety`, `verify_contact`): `due_in_hours`, `remind_every_hours`, "
            "`on_timeout` (`fail` only), `business_hours`."
        ),
    )

    def validate_action(self, value: str) -> str:
        if registry.get(value) is None:
            raise serializers.ValidationError(
                f"Unknown action '{value}'. Known actions: {', '.join(registry.keys())}."
            )
        return value

    def validate_config(self, value: Any) -> Any:
        if value is not None and not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        return value
