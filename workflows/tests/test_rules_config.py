"""An approval step's rule settings through the API: percent and reject_rule are validated."""

from __future__ import annotations

import pytest

from tests.factories import WorkflowFactory
from workflows.models import Step

pytestmark = pytest.mark.django_db


def post_step(client, workflow, config):
    return client.post(
        f"/api/workflows/{workflow.id}/steps/",
        {"name": "Approve", "order": 0, "action": "approval", "config": config},
        format="json",
    )


@pytest.mark.parametrize(
    "extra",
    [
        {"rule": "percent", "percent": 60},
        {"rule": "percent", "percent": 100, "reject_rule": 2},
        {"rule": "quorum", "quorum": 2, "reject_rule": "first"},
        {"reject_rule": 3},
    ],
)
def test_good_rule_settings_are_stored(admin_client, tenant, extra):
    workflow = WorkflowFactory(tenant=tenant)
    response = post_step(admin_client, workflow, {"approvers": {"role": "SUPERVISOR"}, **extra})
    assert response.status_code == 201, response.json()
    stored = Step.objects.get(pk=response.json()["id"]).config
    for key, value in extra.items():
        assert stored[key] == value


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ({"rule": "percent"}, "percent"),
        ({"rule": "percent", "percent": 0}, "percent"),
        ({"rule": "percent", "percent": 101}, "percent"),
        ({"rule": "any", "percent": 60}, "percent"),
        ({"rule": "quorum", "quorum": 2, "percent": 50}, "percent"),
        ({"rule": "percent", "percent": 50, "quorum": 2}, "quorum"),
        ({"rule": "most"}, "rule"),
        ({"reject_rule": "second"}, "reject_rule"),
        ({"reject_rule": 0}, "reject_rule"),
        ({"reject_rule": 1001}, "reject_rule"),
        ({"reject_rule": True}, "reject_rule"),
        ({"reject_rule": 1.5}, "reject_rule"),
        ({"reject_rule": None}, "reject_rule"),
    ],
)
def test_bad_rule_settings_are_400_naming_the_key(admin_client, tenant, extra, key):
    workflow = WorkflowFactory(tenant=tenant)
    response = post_step(admin_client, workflow, {"approvers": {"role": "SUPERVISOR"}, **extra})
    assert response.status_code == 400
    assert key in response.json()["config"], response.json()
    assert not Step.objects.exists()


def test_the_action_registry_lists_the_rule_keys(admin_client):
    approval = next(a for a in admin_client.get("/api/actions/").json() if a["key"] == "approval")
    assert {"rule", "quorum", "percent", "reject_rule"} <= set(approval["config_fields"])
    assert approval["config_defaults"]["rule"] == "any"
