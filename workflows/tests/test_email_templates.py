"""Email templates: `{name}` and nothing more; bounded output; one-line subjects."""

import pytest
from django.core import mail

from accounts.models import Role
from cases.tests.conftest import runs_url
from tests.factories import CaseFactory, StepFactory, WorkflowFactory
from workflows.engine.templating import (
    BODY_MAX,
    SUBJECT_MAX,
    VALUE_MAX,
    render_body,
    render_subject,
)
from workflows.models import RunStatus, WorkflowRun

pytestmark = pytest.mark.django_db

FIELDS = {"title": "Caller at risk", "reference": "CASE-1", "subject_id": 7}


@pytest.mark.parametrize(
    "template",
    [
        "{title:>400000000}",
        "{title.__class__.__mro__}",
        "{title.__class__.__init__.__globals__}",
        "{title[0]}",
        "{title!r}",
        "{0}",
        "{}",
        "{ title }",
        "{nope}",
        "{",
        "}{",
    ],
)
def test_anything_but_a_known_name_stays_as_written(template):
    assert render_body(template, FIELDS) == template
    assert render_subject(template, FIELDS) == template


def test_known_names_are_replaced():
    assert render_body("{reference}: {title} #{subject_id} {nope}", FIELDS) == (
        "CASE-1: Caller at risk #7 {nope}"
    )


def test_values_and_results_are_capped():
    huge = {"title": "x" * 10_000_000}
    assert render_body("{title}", huge) == "x" * VALUE_MAX
    body = render_body("{title}" * 20_000, huge)
    assert len(body) == BODY_MAX
    assert len(render_subject("{title}" * 100, huge)) == SUBJECT_MAX


def test_control_characters_leave_the_subject_not_the_body():
    fields = {"title": "Help\r\nBcc: victim@example.test\x00\u2028now"}
    assert render_subject("Case {title}", fields) == "Case HelpBcc: victim@example.testnow"
    assert render_body("{title}", fields) == fields["title"]


def test_a_case_title_with_cr_lf_is_mailed_with_a_clean_subject(
    tenant, make_user, client_for, django_capture_on_commit_callbacks
):
    """Django refuses a header with a newline: the step used to fail. Now the subject loses
    the CR/LF and the mail goes out."""
    make_user(Role.SUPERVISOR, email="sup@example.test")
    agent = make_user(Role.AGENT)
    case = CaseFactory(tenant=tenant, reference="CASE-CRLF", title="Hi\r\nBcc: evil@example.test")
    workflow = WorkflowFactory(tenant=tenant, name="Notify")
    StepFactory(
        workflow=workflow,
        order=0,
        name="Mail",
        action="send_email",
        config={
            "to": {"role": "SUPERVISOR"},
            "subject": "{reference} {title} {title:>400000000}",
            "body": "{title.__class__.__mro__}",
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(agent).post(runs_url(case.pk), {"workflow": workflow.pk}, "json")
    assert response.status_code == 201, response.json()
    assert WorkflowRun.objects.get(pk=response.json()["id"]).status == RunStatus.COMPLETED
    (message,) = mail.outbox
    assert message.subject == "CASE-CRLF HiBcc: evil@example.test {title:>400000000}"
    assert message.body == "{title.__class__.__mro__}"
    assert message.to == ["sup@example.test"]


@pytest.mark.parametrize(
    ("key", "size"), [("subject", 501), ("body", 20_001)], ids=["subject", "body"]
)
def test_a_template_too_long_is_a_400_when_the_step_is_defined(admin_client, tenant, key, size):
    workflow = WorkflowFactory(tenant=tenant)
    config = {"to": {"role": "SUPERVISOR"}, "subject": "s", "body": "b", key: "x" * size}
    response = admin_client.post(
        f"/api/workflows/{workflow.pk}/steps/",
        {"name": "Mail", "order": 0, "action": "send_email", "config": config},
        format="json",
    )
    assert response.status_code == 400
    assert "no more than" in response.json()["config"][key][0]
    assert not workflow.steps.exists()
