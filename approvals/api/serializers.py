"""Approvals serializers. Output field names follow the seed to the letter; input serializers
check JSON types only, the services check the rules."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from approvals.models import SecurityGroup, WorkflowAssignment
from core.api.fields import IntegerField

MAX_ID = 2**63 - 1
MAX_ORDER = 2**31 - 1
SEED_DATETIME = "%Y-%m-%dT%H:%M:%SZ"


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: strings, booleans and fractions are refused, not coerced."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A JSON `true`/`false`: "yes", 1 and "false" are refused, not coerced."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


def id_field(**kwargs: Any) -> StrictIntegerField:
    return StrictIntegerField(min_value=-MAX_ID, max_value=MAX_ID, **kwargs)


def order_field(**kwargs: Any) -> StrictIntegerField:
    return StrictIntegerField(min_value=1, max_value=MAX_ORDER, **kwargs)


# Output


class WorkflowAssignmentSerializer(serializers.ModelSerializer):
    """The seed's assignment object; reads its group and template from `select_related`."""

    security_group_name = serializers.CharField(source="security_group.name", read_only=True)
    workflow_template_name = serializers.CharField(source="workflow_template.name", read_only=True)
    workflow_template_code = serializers.CharField(
        source="workflow_template.code", read_only=True, allow_null=True
    )
    transfer_type = serializers.CharField(source="workflow_template.transfer_type", read_only=True)
    created_at = serializers.DateTimeField(format=SEED_DATETIME, read_only=True)

    class Meta:
        model = WorkflowAssignment
        fields = [
            "id",
            "security_group",
            "security_group_name",
            "workflow_template",
            "workflow_template_name",
            "workflow_template_code",
            "transfer_type",
            "execution_order",
            "is_active",
            "created_at",
            "created_by",
        ]
        read_only_fields = fields


class SecurityGroupSerializer(serializers.ModelSerializer):
    member_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = SecurityGroup
        fields = [
            "id",
            "name",
            "description",
            "is_active",
            "member_count",
            "created_at",
            "updated_at",
            "created_by",
            "updated_by",
        ]
        read_only_fields = fields


class SecurityGroupMemberSerializer(serializers.ModelSerializer):
    class Meta:
        model = get_user_model()
        fields = ["id", "email", "full_name", "role", "is_active"]
        read_only_fields = fields


# Input


class WorkflowAssignmentInputSerializer(serializers.Serializer):
    security_group = id_field()
    workflow_template = id_field()
    execution_order = order_field()
    is_active = StrictBooleanField(required=False)


class WorkflowAssignmentListQuerySerializer(serializers.Serializer):
    security_group = IntegerField(required=False, min_value=-MAX_ID, max_value=MAX_ID)


class BulkAssignItemInputSerializer(serializers.Serializer):
    workflow_template_id = id_field()
    execution_order = order_field()


class BulkAssignInputSerializer(serializers.Serializer):
    security_group_id = id_field()
    workflow_assignments = BulkAssignItemInputSerializer(many=True, max_length=1000)


class ReorderItemInputSerializer(serializers.Serializer):
    assignment_id = id_field()
    execution_order = order_field()


class ReorderInputSerializer(serializers.Serializer):
    security_group_id = id_field()
    assignment_orders = ReorderItemInputSerializer(many=True, allow_empty=False, max_length=1000)


class SecurityGroupInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=150)
    description = serializers.CharField(max_length=10000, required=False, allow_blank=True)
    is_active = StrictBooleanField(required=False)


class SecurityGroupMemberInputSerializer(serializers.Serializer):
    user = id_field()
