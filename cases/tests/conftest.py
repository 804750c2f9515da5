"""Cases fixtures: people of every role in `tenant`, a two-step human workflow, and the same
again in `other_tenant`, so every test can assert the other tenant's rows stay out of reach."""

import pytest

from accounts.models import Role
from tests.factories import CaseFactory, StepFactory, WorkflowFactory

LIST_URL = "/api/cases/"


def case_url(pk):
    return f"{LIST_URL}{pk}/"


def runs_url(pk):
    return f"{LIST_URL}{pk}/runs/"


def intake_workflow(tenant, **kwargs):
    """Two human steps: check_safety, then verify_contact."""
    workflow = WorkflowFactory(tenant=tenant, name="Intake", **kwargs)
    StepFactory(workflow=workflow, order=0, name="Check safety", action="check_safety")
    StepFactory(workflow=workflow, order=1, name="Verify contact", action="verify_contact")
    return workflow


@pytest.fixture
def agent(make_user):
    return make_user(Role.AGENT)


@pytest.fixture
def supervisor(make_user):
    return make_user(Role.SUPERVISOR)


@pytest.fixture
def viewer(make_user):
    return make_user(Role.VIEWER)


@pytest.fixture
def agent_client(client_for, agent):
    return client_for(agent)


@pytest.fixture
def intake(tenant):
    return intake_workflow(tenant)


@pytest.fixture
def case(tenant):
    return CaseFactory(tenant=tenant, reference="CASE-A1", title="Caller at risk")


@pytest.fixture
def other_case(other_tenant):
    return CaseFactory(tenant=other_tenant, reference="CASE-A1", title="Caller at risk")


@pytest.fixture
def other_intake(other_tenant):
    return intake_workflow(other_tenant)
