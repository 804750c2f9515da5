from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from core.errors import NotFound
from tenants.models import Tenant


def user_list(*, tenant: Tenant) -> QuerySet[User]:
    return User.objects.filter(tenant=tenant).order_by("id")


def user_get(*, tenant: Tenant, user_id: int) -> User:
    try:
        return user_list(tenant=tenant).get(pk=user_id)
    except User.DoesNotExist as exc:
        raise NotFound("Not found.") from exc
