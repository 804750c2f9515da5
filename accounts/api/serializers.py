from __future__ import annotations

from typing import Any

from rest_framework import exceptions, serializers
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer

from accounts.models import Role, User


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


class EmailTokenObtainSerializer(TokenObtainPairSerializer):
    """`{"email", "password"}` -> `{"access", "refresh"}`; one answer for every failure."""

    default_error_messages = {
        "no_active_account": "No active account found with the given credentials",
    }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs[self.username_field] = str(attrs.get(self.username_field, "")).strip().lower()
        data = super().validate(attrs)
        tenant = self.user.tenant
        if tenant is not None and not tenant.is_active:
            # DRF's exception, exactly as simplejwt raises it for a wrong password: simplejwt's
            # own subclass would add a "code" key and tell this case apart.
            raise exceptions.AuthenticationFailed(
                self.error_messages["no_active_account"], "no_active_account"
            )
        return data


class TokenRefreshInputSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class LogoutInputSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
