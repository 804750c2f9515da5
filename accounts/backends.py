"""Who may sign in: one rule for password logins (JWT and session) and for session requests."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


def user_may_sign_in(user: Any) -> bool:
    """An active user of an active tenant (platform staff have no tenant).

    simplejwt's `USER_AUTHENTICATION_RULE`, and what `TenantModelBackend` checks at login and on
    every session request, so each failure answers like a wrong password.
    """
    if user is None or not getattr(user, "is_active", False):
        return False
    return user.tenant_id is None or user.tenant.is_active


class TenantModelBackend(ModelBackend):
    """Django's backend with `user_may_sign_in`; a session's user comes with their tenant."""

    def user_can_authenticate(self, user: Any) -> bool:
        return user_may_sign_in(user)

    def get_user(self, user_id: Any) -> Any:
        user_model = get_user_model()
        try:
            user = user_model._default_manager.select_related("tenant").get(pk=user_id)
        except (user_model.DoesNotExist, ValueError, TypeError):
            return None
        return user if self.user_can_authenticate(user) else None
