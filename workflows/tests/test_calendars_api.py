"""`/api/calendars/`: CRUD, validation in words, one default per tenant, roles, tenants."""

from datetime import time

import pytest
from django.db import IntegrityError, transaction

from accounts.models import Role
from core.models import AuditEvent
from workflows.models import BusinessCalendar

pytestmark = pytest.mark.django_db

PARIS = {
    "name": "Paris office",
    "time_zone": "Europe/Paris",
    "working_days": [5, 1, 2, 3, 4],
    "start_time": "08:30",
    "end_time": "17:30",
    "holidays": [
        {"date": "2026-12-25", "name": "Noël"},
        {"date": "2026-05-01"},
    ],
}


def test_admin_creates_reads_updates_and_deletes(admin_client, tenant):
    created = admin_client.post("/api/calendars/", PARIS, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["name"] == "Paris office"
    assert body["time_zone"] == "Europe/Paris"
    assert body["working_days"] == [1, 2, 3, 4, 5]
    assert (body["start_time"], body["end_time"]) == ("08:30:00", "17:30:00")
    assert body["holidays"] == [
        {"date": "2026-05-01", "name": ""},
        {"date": "2026-12-25", "name": "Noël"},
    ]
    assert body["is_default"] is False
    row = BusinessCalendar.objects.get(pk=body["id"])
    assert row.tenant_id == tenant.pk
    assert row.start_time == time(8, 30)

    listed = admin_client.get("/api/calendars/")
    assert listed.status_code == 200
    assert [c["id"] for c in listed.json()["results"]] == [body["id"]]
    assert admin_client.get(f"/api/calendars/{body['id']}/").json() == body

    patched = admin_client.patch(
        f"/api/calendars/{body['id']}/", {"end_time": "18:00"}, format="json"
    )
    assert patched.status_code == 200, patched.content
    assert patched.json()["end_time"] == "18:00:00"
    assert patched.json()["holidays"] == body["holidays"]

    # PUT replaces: what it leaves out goes back to the defaults.
    put = admin_client.put(
        f"/api/calendars/{body['id']}/",
        {"name": "Paris", "time_zone": "Europe/Paris"},
        format="json",
    )
    assert put.status_code == 200, put.content
    assert put.json()["working_days"] == [1, 2, 3, 4, 5]
    assert (put.json()["start_time"], put.json()["end_time"]) == ("09:00:00", "17:00:00")
    assert put.json()["holidays"] == []

    assert admin_client.delete(f"/api/calendars/{body['id']}/").status_code == 204
    assert not BusinessCalendar.objects.filter(pk=body["id"]).exists()
    # Audited like every tenant table.
    assert (
        AuditEvent.objects.filter(
            tenant_id=tenant.pk, table__name="workflows_businesscalendar", object_id=body["id"]
        ).count()
        == 4
    )


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone", "Unknown time zone"),
        ({"time_zone": "../../etc/passwd"}, "time_zone", "Unknown time zone"),
        ({"working_days": [0, 1]}, "working_days", "greater than or equal to 1"),
        ({"working_days": [1, 8]}, "working_days", "less than or equal to 7"),
        ({"working_days": []}, "working_days", "at least 1"),
        ({"working_days": [1, 1]}, "working_days", "at most once"),
        ({"start_time": "17:00", "end_time": "09:00"}, "end_time", "after start_time"),
        ({"start_time": "09:00", "end_time": "09:00"}, "end_time", "after start_time"),
        ({"start_time": "25:00"}, "start_time", "Time has wrong format"),
        ({"holidays": [{"date": "2026-02-30"}]}, "holidays", "Date has wrong format"),
        (
            {"holidays": [{"date": "2026-01-01"}, {"date": "2026-01-01", "name": "x"}]},
            "holidays",
            "at most once",
        ),
        ({"name": ""}, "name", "may not be blank"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(
    admin_client, change, field, words
):
    response = admin_client.post("/api/calendars/", {**PARIS, **change}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert words in str(response.json()[field])
    assert not BusinessCalendar.objects.exists()


def test_patch_checks_end_after_start_against_the_stored_hours(admin_client):
    calendar_id = admin_client.post("/api/calendars/", PARIS, format="json").json()["id"]
    response = admin_client.patch(
        f"/api/calendars/{calendar_id}/", {"start_time": "18:00"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"end_time": ["end_time must be after start_time."]}
    assert BusinessCalendar.objects.get(pk=calendar_id).start_time == time(8, 30)


def test_names_are_unique_per_tenant(admin_client, client_for, other_admin):
    assert admin_client.post("/api/calendars/", PARIS, format="json").status_code == 201
    again = admin_client.post("/api/calendars/", PARIS, format="json")
    assert again.status_code == 400
    assert "already exists" in again.json()["name"][0]
    # Another tenant may use the same name.
    assert client_for(other_admin).post("/api/calendars/", PARIS, format="json").status_code == 201


def test_one_default_per_tenant(admin_client, client_for, other_admin, tenant):
    first = admin_client.post(
        "/api/calendars/", {**PARIS, "is_default": True}, format="json"
    ).json()
    second = admin_client.post(
        "/api/calendars/", {**PARIS, "name": "New York", "is_default": True}, format="json"
    ).json()
    assert second["is_default"] is True
    assert admin_client.get(f"/api/calendars/{first['id']}/").json()["is_default"] is False
    defaults = admin_client.get("/api/calendars/", {"is_default": "true"}).json()["results"]
    assert [c["id"] for c in defaults] == [second["id"]]
    # Each tenant has its own default.
    other = client_for(other_admin).post(
        "/api/calendars/", {**PARIS, "is_default": True}, format="json"
    )
    assert other.json()["is_default"] is True
    assert BusinessCalendar.objects.filter(is_default=True).count() == 2
    # The database holds the rule even for a write that skips the service.
    with pytest.raises(IntegrityError), transaction.atomic():
        BusinessCalendar.objects.filter(pk=first["id"]).update(is_default=True)


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.AGENT, Role.VIEWER])
def test_other_roles_read_but_do_not_write(admin_client, make_user, client_for, role):
    calendar_id = admin_client.post("/api/calendars/", PARIS, format="json").json()["id"]
    client = client_for(make_user(role))
    assert client.get("/api/calendars/").json()["count"] == 1
    assert client.get(f"/api/calendars/{calendar_id}/").status_code == 200
    assert client.post("/api/calendars/", {**PARIS, "name": "x"}, format="json").status_code == 403
    assert (
        client.patch(f"/api/calendars/{calendar_id}/", {"name": "y"}, format="json").status_code
        == 403
    )
    assert client.delete(f"/api/calendars/{calendar_id}/").status_code == 403
    assert BusinessCalendar.objects.get().name == "Paris office"


def test_another_tenants_calendar_is_a_404(admin_client, client_for, other_admin):
    theirs = client_for(other_admin).post("/api/calendars/", PARIS, format="json").json()["id"]
    for method in ("get", "put", "patch", "delete"):
        response = getattr(admin_client, method)(
            f"/api/calendars/{theirs}/", {"name": "mine now"}, format="json"
        )
        assert response.status_code == 404, (method, response.content)
        assert response.json() == {"detail": "Not found."}
    assert admin_client.get("/api/calendars/").json()["count"] == 0
    assert BusinessCalendar.objects.get(pk=theirs).name == "Paris office"


def test_list_query_budget(admin_client, django_assert_max_num_queries):
    for index in range(5):
        admin_client.post("/api/calendars/", {**PARIS, "name": f"c{index}"}, format="json")
    # Auth and tenant context, count, page: not one query per calendar.
    with django_assert_max_num_queries(8):
        response = admin_client.get("/api/calendars/")
    assert response.json()["count"] == 5
