"""JWT (API clients) and session (the console) authentication, both refusing inactive users or
tenants; JWT also refuses tokens older than the password (session: Django's session hash)."""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication

from accounts.backends import user_may_sign_in
from accounts.tokens import token_user


class TenantJWTAuthentication(JWTAuthentication):
    """One query per request: the user with their tenant (rules in `accounts.tokens`)."""

    def get_user(self, validated_token: Any) -> Any:
        return token_user(validated_token)


class TenantSessionAuthentication(SessionAuthentication):
    """The session cookie of `POST /api/auth/session/`, CSRF checked on unsafe methods.

    The user is loaded by `accounts.backends.TenantModelBackend` (one query, with the tenant);
    Django drops a session whose password hash changed. A user or tenant deactivated since
    sign-in is not authenticated (401), checked again here whatever backend loaded the user.
    """

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        user = getattr(request._request, "user", None)
        if not (user is not None and user.is_authenticated and user_may_sign_in(user)):
            return None
        self.enforce_csrf(request)
        return (user, None)
