"""Out-of-office delegation: `/api/auth/me/delegation/` and the selectors the engine asks.

The window is `starts_at <= t < ends_at`: open at its first instant, closed at its last.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from accounts import selectors, services
from accounts.models import Delegation, Role
from core.models import AuditEvent
from core.tenancy import set_db_context

pytestmark = pytest.mark.django_db
URL = "/api/auth/me/delegation/"


def iso(value: datetime) -> str:
    return value.isoformat()


@pytest.fixture
def window():
    start = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    return start, start + timedelta(days=7)


@pytest.fixture
def approver(make_user):
    return make_user(Role.AGENT, full_name="Ann Away")


@pytest.fixture
def deputy(make_user):
    return make_user(Role.SUPERVISOR, full_name="Dan Deputy")


def put(client, delegate_id, start, end, **extra):
    return client.put(
        URL,
        {"delegate": delegate_id, "starts_at": iso(start), "ends_at": iso(end), **extra},
        format="json",
    )


def test_set_read_replace_and_clear(client_for, approver, deputy, make_user, window):
    client = client_for(approver)
    assert client.get(URL).json() == {"delegation": None}

    start, end = window
    response = put(client, deputy.pk, start, end, reason="Holiday")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["delegate"] == deputy.pk
    assert body["delegate_email"] == deputy.email
    assert body["reason"] == "Holiday"
    assert client.get(URL).json()["delegation"]["delegate"] == deputy.pk

    other = make_user(Role.ADMIN)
    response = put(client, other.pk, start, end)
    assert response.status_code == 200
    assert Delegation.objects.filter(user=approver).count() == 1  # replaced, not added
    assert Delegation.objects.get(user=approver).delegate_id == other.pk

    assert client.delete(URL).status_code == 204
    assert client.get(URL).json() == {"delegation": None}
    assert client.delete(URL).status_code == 204  # nothing to end is not an error


def test_window_start_is_inclusive_and_end_exclusive(tenant, approver, deputy, window):
    start, end = window
    services.delegation_set(
        tenant=tenant, user=approver, delegate_id=deputy.pk, starts_at=start, ends_at=end
    )
    tick = timedelta(microseconds=1)
    for at, expected in [
        (start - tick, []),
        (start, [approver.pk]),
        (end - tick, [approver.pk]),
        (end, []),
    ]:
        assert selectors.active_delegators(tenant.pk, deputy.pk, at) == expected, at
        assert selectors.delegate_of(tenant.pk, approver.pk, at) == (
            deputy.pk if expected else None
        )


def test_no_chains_and_inactive_people_are_skipped(tenant, make_user, approver, deputy, window):
    start, end = window
    third = make_user(Role.AGENT)
    services.delegation_set(
        tenant=tenant, user=approver, delegate_id=deputy.pk, starts_at=start, ends_at=end
    )
    services.delegation_set(
        tenant=tenant, user=deputy, delegate_id=third.pk, starts_at=start, ends_at=end
    )
    # The deputy's own delegation does not pass the approver's tasks on to the third person.
    assert selectors.active_delegators(tenant.pk, third.pk, start) == [deputy.pk]
    assert selectors.active_delegators(tenant.pk, deputy.pk, start) == [approver.pk]

    deputy.is_active = False
    deputy.save()
    assert selectors.delegate_of(tenant.pk, approver.pk, start) is None
    assert selectors.active_delegators(tenant.pk, deputy.pk, start) == []
    assert selectors.active_delegators(tenant.pk, third.pk, start) == []  # deputy inactive


def test_selectors_take_one_query(django_assert_num_queries, tenant, approver, deputy, window):
    start, _ = window
    with django_assert_num_queries(1):
        selectors.active_delegators(tenant.pk, deputy.pk, start)
    with django_assert_num_queries(1):
        selectors.delegate_of(tenant.pk, approver.pk, start)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"delegate": "self"}, "delegate"),
        ({"delegate": 10**9}, "delegate"),
        ({"delegate": "viewer"}, "delegate"),
        ({"delegate": "inactive"}, "delegate"),
        ({"delegate": "x"}, "delegate"),
        ({"starts_at": "2030-01-01T09:00:00"}, "starts_at"),  # no offset
        ({"ends_at": "tomorrow"}, "ends_at"),
        ({"ends_at": "start"}, "ends_at"),  # not after the start
        ({"ends_at": "start-1h"}, "ends_at"),
        ({"ends_at": "start+366d"}, "ends_at"),
        ({"starts_at": "past-2d", "ends_at": "past-1d"}, "ends_at"),  # over already
        ({"reason": "x" * 501}, "reason"),
        ({"reason": "line\nbreak"}, "reason"),
        ({"reason": "bell\x07"}, "reason"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(
    client_for, make_user, approver, deputy, window, change, field
):
    start, end = window
    now = timezone.now()
    viewer = make_user(Role.VIEWER)
    inactive = make_user(Role.AGENT, is_active=False)
    names = {
        "self": approver.pk,
        "viewer": viewer.pk,
        "inactive": inactive.pk,
        "start": iso(start),
        "start-1h": iso(start - timedelta(hours=1)),
        "start+366d": iso(start + timedelta(days=366)),
        "past-2d": iso(now - timedelta(days=2)),
        "past-1d": iso(now - timedelta(days=1)),
    }
    body = {"delegate": deputy.pk, "starts_at": iso(start), "ends_at": iso(end)}
    body.update({key: names.get(value, value) for key, value in change.items()})
    response = client_for(approver).put(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]
    assert not Delegation.objects.exists()


def test_exactly_365_days_is_accepted(client_for, approver, deputy, window):
    start, _ = window
    response = put(client_for(approver), deputy.pk, start, start + timedelta(days=365))
    assert response.status_code == 200


def test_another_tenants_user_is_refused_like_a_missing_one(
    client_for, approver, other_admin, window
):
    start, end = window
    client = client_for(approver)
    foreign = put(client, other_admin.pk, start, end)
    missing = put(client, other_admin.pk + 10_000, start, end)
    assert foreign.status_code == missing.status_code == 400
    assert foreign.json() == missing.json()
    assert "delegate" in foreign.json()
    assert not Delegation.objects.exists()


def test_tenants_see_only_their_own(
    client_for, tenant, other_tenant, approver, deputy, other_admin, make_user, window
):
    start, end = window
    services.delegation_set(
        tenant=tenant, user=approver, delegate_id=deputy.pk, starts_at=start, ends_at=end
    )
    other_deputy = make_user(Role.AGENT, tenant=other_tenant)
    assert client_for(other_admin).get(URL).json() == {"delegation": None}
    # The selectors answer for the tenant they are given only (also under its RLS context).
    assert selectors.active_delegators(other_tenant.pk, deputy.pk, start) == []
    with transaction.atomic():
        set_db_context(tenant_id=other_tenant.pk)
        assert selectors.delegate_of(tenant.pk, approver.pk, start) is None
    assert other_deputy.pk not in selectors.active_delegators(tenant.pk, other_deputy.pk, start)


def test_platform_staff_have_no_delegation(client_for, make_user):
    staff = make_user(Role.ADMIN, tenant=None, is_staff=True)
    assert client_for(staff).get(URL).status_code == 403


def test_changes_are_audited_with_the_actor(client_for, approver, deputy, window):
    start, end = window
    client = client_for(approver)
    put(client, deputy.pk, start, end, reason="Away")
    client.delete(URL)
    events = list(AuditEvent.objects.filter(table__name="accounts_delegation").order_by("id"))
    assert [e.action for e in events] == ["INSERT", "DELETE"]
    assert {e.actor_id for e in events} == {approver.pk}
    assert events[0].new_data["delegate_id"] == deputy.pk
    assert events[0].tenant_id == approver.tenant_id


def test_aware_times_in_any_offset_are_kept_as_instants(client_for, approver, deputy):
    start = datetime(2031, 3, 1, 9, 0, tzinfo=UTC)
    body = {
        "delegate": deputy.pk,
        "starts_at": "2031-03-01T11:00:00+02:00",
        "ends_at": "2031-03-02T09:00:00Z",
    }
    assert client_for(approver).put(URL, body, format="json").status_code == 200
    assert Delegation.objects.get(user=approver).starts_at == start
