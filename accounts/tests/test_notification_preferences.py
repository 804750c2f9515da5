"""`/api/auth/me/notifications/`: one switch per kind of email, on until turned off."""

from __future__ import annotations

import pytest

from accounts.models import NotificationPreference, Role

pytestmark = pytest.mark.django_db
URL = "/api/auth/me/notifications/"
ALL_ON = {
    "task_opened": True,
    "task_reassigned": True,
    "task_due_soon": True,
    "task_escalated": True,
}


def test_every_kind_is_on_by_default(client_for, make_user):
    assert client_for(make_user(Role.AGENT)).get(URL).json() == ALL_ON


def test_patch_changes_only_what_it_names(client_for, make_user):
    user = make_user(Role.AGENT)
    client = client_for(user)
    response = client.patch(URL, {"task_due_soon": False}, format="json")
    assert response.status_code == 200
    assert response.json() == {**ALL_ON, "task_due_soon": False}
    response = client.patch(URL, {"task_opened": False, "task_due_soon": True}, format="json")
    assert response.json() == {**ALL_ON, "task_opened": False}
    assert client.get(URL).json() == {**ALL_ON, "task_opened": False}
    assert NotificationPreference.objects.filter(user=user).count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"task_sneezed": False}, "task_sneezed"),
        ({"task_opened": False, "weekly_digest": True}, "weekly_digest"),
        ({"task_opened": "no"}, "task_opened"),
        ({"task_opened": 0}, "task_opened"),
        ({"task_opened": None}, "task_opened"),
    ],
)
def test_unknown_kinds_and_non_booleans_are_400s_that_change_nothing(
    client_for, make_user, body, field
):
    user = make_user(Role.AGENT)
    response = client_for(user).patch(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not NotificationPreference.objects.exists()


def test_a_list_body_is_a_400(client_for, make_user):
    response = client_for(make_user(Role.AGENT)).patch(URL, [1], format="json")
    assert response.status_code == 400


def test_platform_staff_have_none(client_for, make_user):
    staff = make_user(Role.ADMIN, tenant=None, is_staff=True)
    assert client_for(staff).get(URL).status_code == 403
