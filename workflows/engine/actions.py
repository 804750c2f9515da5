"""Built-in actions and their config shapes (DESIGN §4)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from rest_framework import serializers

from accounts.models import Role
from core.api.fields import IntegerField
from workflows.engine import handlers, rules, templating, timers, webhooks
from workflows.engine.approvers import DEFAULT_APPROVERS, check_approvers
from workflows.engine.registry import (
    ActionKind,
    ActionSpec,
    StrictSerializer,
    register_action,
)


def _known_to_tenant(serializer: serializers.Serializer, attrs: dict[str, Any]) -> None:
    """The one approver reference in `attrs` names what the tenant has (see
    `approvers.check_approvers`); checked when the config is saved with a tenant in context."""
    tenant = serializer.context.get("tenant")
    if tenant is None:
        return
    for kind, value in attrs.items():
        problem = check_approvers(tenant.pk, kind, value)
        if problem:
            raise serializers.ValidationError({kind: [problem]})


class ApproversSerializer(StrictSerializer):
    # The subject's own: a transfer's security group, the tenant's SUPERVISORs otherwise.
    default = serializers.BooleanField(required=False)
    security_group = IntegerField(min_value=1, required=False)
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    users = serializers.ListField(
        child=IntegerField(min_value=1), required=False, min_length=1, max_length=100
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if len(attrs) != 1:
            raise serializers.ValidationError(
                "Give exactly one of 'default', 'security_group', 'role' or 'users'."
            )
        if attrs.get("default") is False:
            raise serializers.ValidationError({"default": ["Only true is allowed."]})
        _known_to_tenant(self, {k: v for k, v in attrs.items() if k != "default"})
        return attrs


class RejectRuleField(serializers.Field):
    """`"first"` (the first rejection rejects) or a number of rejections that rejects."""

    default_error_messages = {
        "invalid": 'Give "first" or a whole number of rejections from 1 to 1000.',
    }

    def to_internal_value(self, data: Any) -> str | int:
        if data == "first":
            return "first"
        if isinstance(data, bool) or not isinstance(data, int) or not 1 <= data <= 1000:
            self.fail("invalid")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class ApprovalConfigSerializer(StrictSerializer):
    approvers = ApproversSerializer(default=lambda: dict(DEFAULT_APPROVERS))
    # Choices and the rules' own keys (quorum, percent, ...) come from the rule registry.
    rule = serializers.ChoiceField(choices=[], default="any")
    # Default: the rule's own (any, all: the first rejection; quorum, percent: once approval
    # is out of reach).
    reject_rule = RejectRuleField(required=False)
    allow_self_approval = serializers.BooleanField(default=False)
    # Separation of duties: who decided an earlier step of the subject's chain may not decide
    # this one. Left out of a config that does not set it (false).
    exclude_previous_deciders = serializers.BooleanField(
        required=False,
        help_text=(
            "Whoever decided an earlier step of the same subject's chain (any of its "
            "workflows) gets no ballot on this one and is refused (403 previous_decider)."
        ),
    )
    due_in_hours = IntegerField(min_value=1, max_value=24 * 365, required=False)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        choice: Any = fields["rule"]
        choice.choices = [rule.key for rule in rules.all_rules()]
        for rule in rules.all_rules():
            field = rule.param_field()
            if rule.param and field is not None:
                fields[rule.param] = field
        fields.update(timers.config_fields())
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        chosen = rules.get_rule(attrs.get("rule", "any"))
        for rule in rules.all_rules():
            if rule.param is None:
                continue
            if rule is chosen and rule.param not in attrs:
                raise serializers.ValidationError(
                    {rule.param: [f"Required when rule is '{rule.key}'."]}
                )
            if rule is not chosen and rule.param in attrs:
                raise serializers.ValidationError(
                    {rule.param: [f"Only allowed when rule is '{rule.key}'."]}
                )
        users = attrs["approvers"].get("users")
        if chosen.param is not None:
            problem = chosen.check(attrs[chosen.param], len(users) if users else None)
            if problem:
                raise serializers.ValidationError({chosen.param: [problem]})
        timers.check_config(self, attrs)
        return attrs


class EmailRecipientsSerializer(StrictSerializer):
    emails = serializers.ListField(
        child=serializers.EmailField(), required=False, min_length=1, max_length=50
    )
    security_group = IntegerField(min_value=1, required=False)
    role = serializers.ChoiceField(choices=Role.choices, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if len(attrs) != 1:
            raise serializers.ValidationError(
                "Give exactly one of 'emails', 'security_group' or 'role'."
            )
        _known_to_tenant(self, {k: v for k, v in attrs.items() if k != "emails"})
        return attrs


DEFAULT_EMAIL_SUBJECT = "{workflow}: {step} ({subject_type} #{subject_id})"
DEFAULT_EMAIL_BODY = (
    "Workflow: {workflow}\nStep: {step}\nSubject: {subject_type} #{subject_id}\nRun: {run_id}\n"
)


class SendEmailConfigSerializer(StrictSerializer):
    # Defaults that work, so the seed's bare {"name", "order", "action"} step is accepted.
    to = EmailRecipientsSerializer(default=lambda: {"role": Role.SUPERVISOR.value})
    subject = serializers.CharField(
        max_length=templating.SUBJECT_TEMPLATE_MAX, default=DEFAULT_EMAIL_SUBJECT
    )
    body = serializers.CharField(
        max_length=templating.BODY_TEMPLATE_MAX, default=DEFAULT_EMAIL_BODY
    )


class WebhookConfigSerializer(StrictSerializer):
    url = serializers.URLField(max_length=2000)  # no default: no URL is a safe guess
    timeout_s = IntegerField(min_value=1, max_value=60, default=10)
    max_attempts = IntegerField(min_value=1, max_value=20, default=5)

    def validate_url(self, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme.lower() not in ("http", "https"):
            raise serializers.ValidationError("Only http and https URLs are allowed.")
        if not parts.hostname:
            raise serializers.ValidationError("The URL needs a host.")
        try:
            parts.port  # noqa: B018  (raises on a port out of range)
        except ValueError as exc:
            raise serializers.ValidationError("The URL's port is not valid.") from exc
        literal = webhooks.literal_address(parts.hostname)
        allowed = settings.WEBHOOK_ALLOW_PRIVATE
        if literal is not None and not allowed and not webhooks.is_public(literal):
            raise serializers.ValidationError("Not a public address.")
        return value


class FormConfigSerializer(StrictSerializer):
    """A form step's config: its timers, without escalation (see `timers`)."""

    due_in_hours = timers.hours_field()

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields.update(timers.config_fields(escalation=False))
        return fields

    def to_internal_value(self, data: Any) -> Any:
        timers.refuse_escalation(data)
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        timers.check_config(self, attrs)
        return attrs


class CheckSafetyFormSerializer(StrictSerializer):
    risk_level = serializers.ChoiceField(choices=["low", "medium", "high", "critical"])


class VerifyContactFormSerializer(StrictSerializer):
    contact_verified = serializers.BooleanField()


APPROVAL = register_action(
    ActionSpec(
        key="approval",
        kind=ActionKind.HUMAN,
        label="Approval",
        description="Eligible approvers approve or reject; rule any, all, quorum or percent.",
        config_serializer=ApprovalConfigSerializer,
        decisions=("approve", "reject"),
        step_kind="vote",
    )
)
register_action(
    ActionSpec(
        key="check_safety",
        kind=ActionKind.HUMAN,
        label="Check safety",
        description="A person assesses the risk level.",
        config_serializer=FormConfigSerializer,
        form_serializer=CheckSafetyFormSerializer,
    )
)
register_action(
    ActionSpec(
        key="verify_contact",
        kind=ActionKind.HUMAN,
        label="Verify contact",
        description="A person confirms the contact details.",
        config_serializer=FormConfigSerializer,
        form_serializer=VerifyContactFormSerializer,
    )
)
register_action(
    ActionSpec(
        key="send_email",
        kind=ActionKind.AUTOMATED,
        label="Send email",
        description="Sends a templated email to addresses, a security group or a role.",
        config_serializer=SendEmailConfigSerializer,
        handler=handlers.send_email,
    )
)
register_action(
    ActionSpec(
        key="webhook",
        kind=ActionKind.AUTOMATED,
        label="Webhook",
        description="POSTs signed JSON to a URL, with retries.",
        config_serializer=WebhookConfigSerializer,
        handler=handlers.webhook,
    )
)
