"""JWT authentication that refuses tokens of inactive users or tenants and of old passwords."""

from __future__ import annotations

from typing import Any

from rest_framework_simplejwt.authentication import JWTAuthentication

from accounts.tokens import token_user


class TenantJWTAuthentication(JWTAuthentication):
    """One query per request: the user with their tenant (rules in `accounts.tokens`)."""

    def get_user(self, validated_token: Any) -> Any:
        return token_user(validated_token)
