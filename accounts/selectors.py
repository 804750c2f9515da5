from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import QuerySet

from accounts.models import Delegation, NotificationKind, NotificationPreference, User
from core.errors import NotFound
from tenants.models import Tenant


def user_list(*, tenant: Tenant) -> QuerySet[User]:
    return User.objects.filter(tenant=tenant).order_by("id")


def user_get(*, tenant: Tenant, user_id: int) -> User:
    try:
        return user_list(tenant=tenant).get(pk=user_id)
    except User.DoesNotExist as exc:
        raise NotFound("Not found.") from exc


# --- Out-of-office delegation ---------------------------------------------------------------
# A delegation is active at `at` when `starts_at <= at < ends_at` (start inclusive, end
# exclusive), its delegate is active, and both people are the tenant's. Delegation is not
# transitive: if B delegates to C while A delegates to B, A's tasks go to B only, never to C
# (a chain would let one absence hand work to someone the delegator never chose).


def _active_at(tenant_id: int, at: datetime) -> QuerySet[Delegation]:
    return Delegation.objects.filter(
        tenant_id=tenant_id, starts_at__lte=at, ends_at__gt=at, delegate__is_active=True
    )


def active_delegators(tenant_id: int, delegate_id: int, at: datetime) -> list[int]:
    """Ids of the users whose delegation to `delegate_id` is active at `at` (one query)."""
    return sorted(
        _active_at(tenant_id, at)
        .filter(delegate_id=delegate_id, user__is_active=True)
        .values_list("user_id", flat=True)
    )


def delegates_of(tenant_id: int, user_ids: Iterable[int], at: datetime) -> set[int]:
    """The delegates the users of `user_ids` have at `at` (one query)."""
    return set(
        _active_at(tenant_id, at)
        .filter(user_id__in=list(user_ids))
        .values_list("delegate_id", flat=True)
    )


def delegate_of(tenant_id: int, user_id: int, at: datetime) -> int | None:
    """The id of the person `user_id` delegates to at `at`, if any (one query)."""
    return (
        _active_at(tenant_id, at).filter(user_id=user_id).values_list("delegate_id", flat=True)
    ).first()


def delegation_get(*, tenant: Tenant, user: User) -> Delegation | None:
    return Delegation.objects.filter(tenant=tenant, user=user).select_related("delegate").first()


# --- Notification preferences ---------------------------------------------------------------


def notification_preferences(*, tenant: Tenant, user: User) -> dict[str, bool]:
    """Every kind with the person's choice (on unless they turned it off)."""
    row = (
        NotificationPreference.objects.filter(tenant=tenant, user=user)
        .values(*NotificationKind.values)
        .first()
    )
    return {kind: True for kind in NotificationKind.values} | (row or {})
