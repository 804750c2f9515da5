"""JWT authentication that also refuses users whose tenant has been deactivated."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings


class TenantJWTAuthentication(JWTAuthentication):
    """One query per request: the user with their tenant. Inactive user or tenant -> 401."""

    def get_user(self, validated_token: Any) -> Any:
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise InvalidToken("Token contained no recognizable user identification") from exc
        user_model = get_user_model()
        try:
            user = user_model.objects.select_related("tenant").get(
                **{api_settings.USER_ID_FIELD: user_id}
            )
        except (user_model.DoesNotExist, ValueError, TypeError) as exc:
            raise AuthenticationFailed("User not found", code="user_not_found") from exc
        if not user.is_active:
            raise AuthenticationFailed("User is inactive", code="user_inactive")
        if user.tenant_id is not None and not user.tenant.is_active:
            raise AuthenticationFailed("Tenant is inactive", code="tenant_inactive")
        return user
