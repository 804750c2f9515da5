"""Security groups and their members: CRUD through `/api/approvals/security-groups/`."""

import pytest

from accounts.models import Role
from approvals.models import SecurityGroup, SecurityGroupMember, WorkflowAssignment
from approvals.tests.conftest import GROUPS_URL, group_url, members_url
from tests.factories import (
    SecurityGroupFactory,
    SecurityGroupMemberFactory,
    WorkflowAssignmentFactory,
)

pytestmark = pytest.mark.django_db


def test_create_group(admin_client, admin, tenant):
    response = admin_client.post(
        GROUPS_URL, {"name": "Finance Team", "description": "Approves FAR"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    group = SecurityGroup.objects.get(pk=body["security_group"]["id"])
    assert body["success"] is True
    assert body["message"] == "Security group created successfully"
    assert {
        k: v for k, v in body["security_group"].items() if k not in ("created_at", "updated_at")
    } == {
        "id": group.id,
        "name": "Finance Team",
        "description": "Approves FAR",
        "is_active": True,
        "member_count": 0,
        "created_by": admin.id,
        "updated_by": admin.id,
    }
    assert group.tenant_id == tenant.id


def test_group_name_is_unique_per_tenant_only(admin_client, finance, other_group):
    response = admin_client.post(GROUPS_URL, {"name": "Finance Team"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "errors": {
            "name": ["A security group named 'Finance Team' already exists in this tenant."]
        },
    }
    assert SecurityGroup.objects.filter(name="Finance Team").count() == 2  # ours and theirs


def test_group_input_is_validated(admin_client):
    response = admin_client.post(GROUPS_URL, {"name": "", "is_active": "no"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "errors": {
            "name": ["This field may not be blank."],
            "is_active": ["Must be a valid boolean."],
        },
    }


def test_list_is_paginated_in_the_envelope_and_counts_members(
    admin_client, tenant, finance, other_group
):
    SecurityGroupMemberFactory(security_group=finance)
    SecurityGroupMemberFactory(security_group=finance)
    empty = SecurityGroupFactory(tenant=tenant, name="Empty")
    body = admin_client.get(GROUPS_URL).json()
    assert (body["success"], body["count"], body["next"], body["previous"]) == (True, 2, None, None)
    assert [(g["id"], g["member_count"]) for g in body["security_groups"]] == [
        (finance.id, 2),
        (empty.id, 0),
    ]
    page = admin_client.get(GROUPS_URL + "?page_size=1&page=2").json()
    assert [g["id"] for g in page["security_groups"]] == [empty.id]
    assert page["previous"] is not None


def test_retrieve_update_and_delete_group(admin_client, finance, far_template):
    WorkflowAssignmentFactory(security_group=finance, workflow_template=far_template)
    body = admin_client.get(group_url(finance.id)).json()
    assert (body["success"], body["security_group"]["name"]) == (True, "Finance Team")
    response = admin_client.put(
        group_url(finance.id),
        {"name": "Finance", "description": "d", "is_active": False},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["message"] == "Security group updated successfully"
    finance.refresh_from_db()
    assert (finance.name, finance.description, finance.is_active) == ("Finance", "d", False)
    response = admin_client.patch(group_url(finance.id), {"is_active": True}, format="json")
    assert response.json()["security_group"]["name"] == "Finance"
    response = admin_client.delete(group_url(finance.id))
    assert response.status_code == 200
    assert response.json() == {"success": True, "message": 'Deleted security group "Finance"'}
    assert not SecurityGroup.objects.filter(pk=finance.pk).exists()
    assert not WorkflowAssignment.objects.filter(security_group_id=finance.pk).exists()


def test_rename_onto_a_taken_name_is_a_400(admin_client, tenant, finance):
    auditors = SecurityGroupFactory(tenant=tenant, name="Auditors")
    response = admin_client.patch(group_url(auditors.id), {"name": "Finance Team"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "name": ["A security group named 'Finance Team' already exists in this tenant."]
    }


def test_add_list_and_remove_members(admin_client, make_user, finance):
    approver = make_user(Role.SUPERVISOR, email="approver@example.test", full_name="April")
    response = admin_client.post(members_url(finance.id), {"user": approver.id}, format="json")
    assert response.status_code == 201
    assert response.json() == {
        "success": True,
        "message": 'Added "approver@example.test" to security group "Finance Team"',
        "member": {
            "id": approver.id,
            "email": "approver@example.test",
            "full_name": "April",
            "role": "SUPERVISOR",
            "is_active": True,
        },
    }
    membership = SecurityGroupMember.objects.get(security_group=finance, user=approver)
    assert membership.tenant_id == finance.tenant_id
    body = admin_client.get(members_url(finance.id)).json()
    assert (body["success"], body["count"]) == (True, 1)
    assert [m["id"] for m in body["members"]] == [approver.id]
    response = admin_client.delete(members_url(finance.id, approver.id))
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "message": 'Removed "approver@example.test" from security group "Finance Team"',
    }
    assert not finance.members.exists()
    assert admin_client.delete(members_url(finance.id, approver.id)).json() == {
        "success": False,
        "errors": {"detail": "Not found."},
    }


def test_adding_a_member_twice_is_a_400(admin_client, make_user, finance):
    member = make_user(email="twice@example.test")
    SecurityGroupMemberFactory(security_group=finance, user=member)
    response = admin_client.post(members_url(finance.id), {"user": member.id}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "user": ["User 'twice@example.test' is already a member of security group 'Finance Team'."]
    }


def test_a_user_of_another_tenant_is_as_unknown_as_a_missing_one(
    admin_client, make_user, other_tenant, finance
):
    outsider = make_user(tenant=other_tenant)
    for user_id in (outsider.id, 99999999):
        response = admin_client.post(members_url(finance.id), {"user": user_id}, format="json")
        assert response.status_code == 400
        assert response.json() == {
            "success": False,
            "errors": {"user": [f'Invalid pk "{user_id}" - object does not exist.']},
        }
    response = admin_client.post(members_url(finance.id), {"user": "abc"}, format="json")
    assert response.json()["errors"] == {"user": ["A valid integer is required."]}
    assert not finance.members.exists()
