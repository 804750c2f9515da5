from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Any

from django.utils import timezone
from rest_framework import serializers
from rest_framework_simplejwt.serializers import (
    TokenObtainPairSerializer,
    TokenObtainSerializer,
)

from accounts.models import Delegation, Role, User
from core.api.fields import IntegerField


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "full_name", "tenant", "role", "is_active", "created_at"]
        read_only_fields = fields


class MeSerializer(UserSerializer):
    tenant_name = serializers.CharField(source="tenant.name", read_only=True, default=None)
    tenant_slug = serializers.CharField(source="tenant.slug", read_only=True, default=None)

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "tenant_name", "tenant_slug", "is_staff"]
        read_only_fields = fields


class SessionStateSerializer(serializers.Serializer):
    """Who the session cookie signs in, if anyone: the console's first question."""

    user = MeSerializer(allow_null=True)


class UserCreateInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)
    full_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    role = serializers.ChoiceField(choices=Role.choices, default=Role.AGENT)


class UserUpdateInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254, required=False)
    password = serializers.CharField(
        max_length=128, write_only=True, required=False, trim_whitespace=False
    )
    full_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    is_active = serializers.BooleanField(required=False)


class EmailLoginSerializer(TokenObtainSerializer):
    """`{"email", "password"}` checked by the authentication backend; `self.user` when valid.

    Shared by the token and the session login. Every failure (unknown email, wrong password,
    inactive user or tenant: `accounts.backends.user_may_sign_in`, simplejwt's
    `USER_AUTHENTICATION_RULE`) raises DRF's `AuthenticationFailed` with one message.
    """

    default_error_messages = {
        "no_active_account": "No active account found with the given credentials",
    }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs[self.username_field] = str(attrs.get(self.username_field, "")).strip().lower()
        return super().validate(attrs)


class EmailTokenObtainSerializer(EmailLoginSerializer, TokenObtainPairSerializer):
    """`{"email", "password"}` -> `{"access", "refresh"}`; one answer for every failure."""


class TokenRefreshInputSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class LogoutInputSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class CsrfTokenSerializer(serializers.Serializer):
    csrf_token = serializers.CharField(
        help_text="Send it back as the `X-CSRFToken` header on unsafe requests (also in the "
        "`csrftoken` cookie, which changes at sign-in: read the cookie before each request)."
    )


def no_control_characters(value: str) -> None:
    if any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in value):
        raise serializers.ValidationError("Control characters and line breaks are not allowed.")


class AwareDateTimeField(serializers.DateTimeField):
    """A datetime with its UTC offset (`2026-07-01T09:00:00+02:00`): a bare local time would
    be read in the server's zone, which is rarely the user's."""

    def enforce_timezone(self, value: datetime) -> datetime:
        if timezone.is_naive(value):
            raise serializers.ValidationError("Give the time zone offset (e.g. +02:00 or Z).")
        return super().enforce_timezone(value)


class DelegationSerializer(serializers.ModelSerializer):
    delegate_email = serializers.EmailField(source="delegate.email", read_only=True)
    delegate_name = serializers.CharField(source="delegate.full_name", read_only=True)

    class Meta:
        model = Delegation
        fields = [
            "delegate",
            "delegate_email",
            "delegate_name",
            "starts_at",
            "ends_at",
            "reason",
            "created_at",
        ]
        read_only_fields = fields


class DelegationStateSerializer(serializers.Serializer):
    delegation = DelegationSerializer(
        allow_null=True, help_text="Your delegation, or null when you have none."
    )


class DelegationInputSerializer(serializers.Serializer):
    delegate = IntegerField(min_value=1, help_text="A user of your organisation (not you).")
    starts_at = AwareDateTimeField(help_text="Start of the window (inclusive).")
    ends_at = AwareDateTimeField(help_text="End of the window (exclusive).")
    reason = serializers.CharField(
        max_length=500,
        required=False,
        allow_blank=True,
        default="",
        validators=[no_control_characters],
    )


class StrictBooleanField(serializers.BooleanField):
    """`true` or `false` only (DRF also takes "yes", "on", 1...)."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class NotificationPreferencesSerializer(serializers.Serializer):
    """One switch per kind of email; every kind is on until turned off. A PATCH names only
    the kinds it changes; an unknown key is a 400 naming it."""

    task_opened = StrictBooleanField(required=False, help_text="A task awaits you.")
    task_reassigned = StrictBooleanField(required=False, help_text="A task was reassigned to you.")
    task_due_soon = StrictBooleanField(required=False, help_text="A task of yours is due soon.")
    task_escalated = StrictBooleanField(required=False, help_text="A task was escalated to you.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                {key: ["Unknown notification kind."] for key in unknown}
            )
        return attrs
