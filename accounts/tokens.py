"""Which tokens still work: the rules shared by authentication and refresh.

A token carries a digest of the user's password hash (simplejwt's `CHECK_REVOKE_TOKEN` claim,
set by every `for_user`). Any change of the stored hash (the API, `create_user`,
`changepassword`, `set_password()` + `save()`, even a raw UPDATE) makes every token issued
before it, access and refresh, answer 401. So does a deactivated user or tenant.

Refreshing is one transaction: lock the refresh token's `OutstandingToken` row
(SELECT ... FOR UPDATE), refuse it if already blacklisted, blacklist it, mint the new pair. Of
simultaneous refreshes of one token, the first to get the lock wins; the others wait for it and
then find the token blacklisted.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken, Token
from rest_framework_simplejwt.utils import get_md5_hash_password


def token_user(token: Token) -> Any:
    """The token's user, with their tenant, if the token may still act for them; else 401."""
    try:
        user_id = token[api_settings.USER_ID_CLAIM]
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
    if token.get(api_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(user.password):
        raise AuthenticationFailed("The user's password has been changed.", code="password_changed")
    return user


def refresh_rotate(raw: str) -> dict[str, str]:
    """`{"access", "refresh"}` for a valid refresh token, which is used up; else 401."""
    with transaction.atomic():
        refresh = RefreshToken(raw)  # signature, expiry, type (and a first blacklist look)
        jti = refresh[api_settings.JTI_CLAIM]
        outstanding = (
            OutstandingToken.objects.select_for_update(of=("self",))
            .filter(jti=jti)
            .order_by()
            .first()
        )
        if outstanding is None or BlacklistedToken.objects.filter(token_id=outstanding.pk).exists():
            raise InvalidToken("Token is blacklisted", code="token_not_valid")
        token_user(refresh)
        BlacklistedToken.objects.create(token=outstanding)
        access = refresh.access_token
        refresh.set_jti()
        refresh.set_exp()
        refresh.set_iat()
        refresh.outstand()
        return {"access": str(access), "refresh": str(refresh)}
