"""Approvals fixtures: the seed's Finance Team with its FAR templates, in `tenant`, and the same
names again in `other_tenant` so every test can assert the other tenant's rows stay invisible."""

import pytest

from accounts.models import Role
from tests.factories import SecurityGroupFactory, WorkflowTemplateFactory

LIST_URL = "/api/approvals/workflow-assignments/"
BULK_URL = "/api/approvals/workflow-assignments/bulk-assign/"
REORDER_URL = "/api/approvals/workflow-assignments/reorder/"
GROUPS_URL = "/api/approvals/security-groups/"


def detail_url(pk):
    return f"{LIST_URL}{pk}/"


def group_url(pk):
    return f"{GROUPS_URL}{pk}/"


def members_url(group_pk, user_pk=None):
    base = f"{GROUPS_URL}{group_pk}/members/"
    return base if user_pk is None else f"{base}{user_pk}/"


@pytest.fixture
def finance(tenant):
    return SecurityGroupFactory(tenant=tenant, name="Finance Team")


@pytest.fixture
def far_template(tenant):
    return WorkflowTemplateFactory(
        tenant=tenant, name="FAR Approval Workflow", code="FAR_WF_V1", transfer_type="FAR"
    )


@pytest.fixture
def review_template(tenant):
    return WorkflowTemplateFactory(
        tenant=tenant, name="Secondary Review Workflow", code="FAR_WF_REVIEW", transfer_type="FAR"
    )


@pytest.fixture
def signoff_template(tenant):
    return WorkflowTemplateFactory(
        tenant=tenant, name="Final Sign-off", code="FAR_WF_SIGNOFF", transfer_type="FAR"
    )


@pytest.fixture
def other_group(other_tenant):
    return SecurityGroupFactory(tenant=other_tenant, name="Finance Team")


@pytest.fixture
def other_template(other_tenant):
    return WorkflowTemplateFactory(
        tenant=other_tenant, name="FAR Approval Workflow", code="FAR_WF_V1"
    )


@pytest.fixture
def viewer(make_user):
    return make_user(Role.VIEWER)


@pytest.fixture
def agent(make_user):
    return make_user(Role.AGENT)


@pytest.fixture
def supervisor(make_user):
    return make_user(Role.SUPERVISOR)
