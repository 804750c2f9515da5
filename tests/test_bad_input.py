"""Bad input is a 4xx naming what is wrong, never a 500 (issue 11 item 8).

Oversized bodies (413 in the API's error shape, on every endpoint and whatever the content
type), JSON nested too deep (400), Unicode digits where an integer is expected (400: integers
are ASCII digits), NUL characters in text (400 naming the field) and control characters in the
`Idempotency-Key` header (400 naming the header).
"""

from __future__ import annotations

import io
import json
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings
from drf_spectacular.generators import SchemaGenerator
from rest_framework import exceptions
from rest_framework.test import APIClient

from accounts.models import Role
from approvals.services import transfers as transfer_services
from cases.models import Case
from core.api.parsers import JSONParser
from tests.factories import (
    PASSWORD,
    SecurityGroupFactory,
    SecurityGroupMemberFactory,
    StepFactory,
    UserFactory,
    WorkflowFactory,
)
from tests.test_cross_tenant import _far_chain
from workflows.models import HumanTask, TaskStatus, WebhookSubscription

pytestmark = pytest.mark.django_db

MIB = 1024 * 1024
UNICODE_DIGITS = ["²", "٣", "１", "߂"]  # superscript, Arabic-Indic, full-width, NKo


def nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = [value]
    return value


def nested_text(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.fixture
def world(tenant, make_user) -> Any:
    admin = make_user(Role.ADMIN)
    agent = make_user(Role.AGENT)
    group = SecurityGroupFactory(tenant=tenant, name="finance")
    for member in (admin, agent, make_user(Role.SUPERVISOR)):
        SecurityGroupMemberFactory(security_group=group, user=member)
    _far_chain(tenant, group, "alpha", 1)
    workflow = WorkflowFactory(tenant=tenant, name="intake")
    StepFactory(workflow=workflow, order=0, name="safety", action="check_safety")
    case = Case.objects.create(tenant=tenant, reference="C-1", title="a case", created_by=admin)
    from cases import services as case_services

    run = case_services.case_start_run(
        tenant=tenant, case_id=case.pk, workflow_id=workflow.pk, actor=admin
    )
    with transaction.atomic():
        transfer = transfer_services.transfer_create(
            tenant=tenant,
            transfer_type="FAR",
            reference="T-1",
            amount=Decimal("10.00"),
            currency="USD",
            security_group_id=group.pk,
            description="x",
            actor=admin,
        )
    task = HumanTask.objects.get(run=run, status=TaskStatus.PENDING)
    webhook = WebhookSubscription.objects.create(
        tenant=tenant, url="https://hooks.example.test/", events=["task.created"], secret="s"
    )
    return type(
        "World",
        (),
        {
            "webhook": webhook,
            "tenant": tenant,
            "admin": admin,
            "agent": agent,
            "group": group,
            "workflow": workflow,
            "case": case,
            "run": run,
            "task": task,
            "transfer": transfer,
        },
    )


def error_shape(path: str, body: Any) -> dict[str, Any]:
    """The errors of a body in the API's error shape (the envelope under approvals)."""
    if path.startswith("/api/approvals/"):
        assert body["success"] is False, body
        assert set(body) == {"success", "errors"}, body
        return body["errors"]
    return body


# ---------------------------------------------------------------------------------------------
# Body size


BIG_BODY_ROUTES = [
    ("/api/auth/token/", False),
    ("/api/auth/session/", False),
    ("/api/cases/", True),
    ("/api/approvals/transfers/", True),
    ("/api/tasks/1/complete/", True),
    ("/api/approvals/workflow-assignments/reorder/", True),
]


@pytest.mark.parametrize(("path", "authenticated"), BIG_BODY_ROUTES)
@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "multipart/form-data"])
def test_a_5_mib_body_is_a_413_in_the_api_shape(
    world, client_for, path, authenticated, content_type
):
    client = client_for(world.admin) if authenticated else APIClient()
    body = json.dumps({"email": "x@example.test", "password": "x", "title": "t" * (5 * MIB)})
    method = client.put if path.endswith("reorder/") else client.post
    response = method(path, data=body.encode(), content_type=content_type)
    assert response.status_code == 413, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    errors = error_shape(path, response.json())
    assert "1048576 bytes" in str(errors["detail"]), errors


def test_a_body_just_over_the_limit_is_refused_and_one_at_it_is_read(world, client_for):
    client = client_for(world.admin)
    padding = json.dumps({"title": "ok", "description": ""})
    at_limit = padding.replace('""', '"' + "d" * (MIB - len(padding)) + '"')
    assert len(at_limit.encode()) == MIB
    response = client.post("/api/cases/", data=at_limit, content_type="application/json")
    assert response.status_code == 400, response.content[:300]  # read: description too long
    assert "description" in response.json()
    over = at_limit[:-2] + 'd"}'
    response = client.post("/api/cases/", data=over, content_type="application/json")
    assert response.status_code == 413


@override_settings(API_MAX_BODY_BYTES=100)
def test_the_parser_enforces_the_limit_on_what_it_reads():
    """Without a Content-Length to go by (a stream), the parser stops reading at the limit."""
    parser = JSONParser()
    with pytest.raises(exceptions.APIException) as caught:
        parser.parse(io.BytesIO(b'{"a": "' + b"x" * 200 + b'"}'), "application/json", {})
    assert caught.value.status_code == 413
    assert parser.parse(io.BytesIO(b'{"a": 1}'), "application/json", {}) == {"a": 1}


# ---------------------------------------------------------------------------------------------
# Depth


def _deep_requests(w: Any) -> list[tuple[str, str, dict[str, Any], dict[str, str]]]:
    deep = nested(400)
    return [
        ("post", f"/api/tasks/{w.task.pk}/complete/", {"data": {"x": deep}}, {}),
        (
            "post",
            f"/api/tasks/{w.task.pk}/complete/",
            {"data": {"x": deep}},
            {"HTTP_IDEMPOTENCY_KEY": "deep-1"},
        ),
        (
            "post",
            "/api/approvals/transfers/",
            {
                "transfer_type": "FAR",
                "reference": "T-DEEP",
                "amount": "1.00",
                "currency": "USD",
                "payload": {"x": deep},
            },
            {"HTTP_IDEMPOTENCY_KEY": "deep-2"},
        ),
        ("post", "/api/cases/", {"title": "deep", "data": {"x": deep}}, {}),
        (
            "post",
            f"/api/workflows/{w.workflow.pk}/steps/",
            {"name": "s", "order": 9, "action": "check_safety", "config": {"x": deep}},
            {},
        ),
        ("patch", f"/api/cases/{w.case.pk}/", {"data": deep}, {}),
        ("post", "/api/auth/token/", {"email": deep, "password": "x"}, {}),
        ("post", "/api/auth/session/", {"email": deep, "password": "x"}, {}),
    ]


@pytest.mark.parametrize("index", range(8))
@pytest.mark.parametrize("depth", [65, 400, 100_000])
def test_json_nested_too_deep_is_a_400(world, client_for, index, depth):
    method, path, body, headers = _deep_requests(world)[index]
    if depth != 400:  # the same request, nested `depth` levels (as text: json.dumps recurses)
        text = json.dumps(body).replace(json.dumps(nested(400)), nested_text(depth))
    else:
        text = json.dumps(body)
    client = client_for(world.admin)
    before = (Case.objects.count(), HumanTask.objects.filter(status=TaskStatus.PENDING).count())
    response = getattr(client, method)(path, data=text, content_type="application/json", **headers)
    assert response.status_code == 400, response.content[:500]
    errors = error_shape(path, response.json())
    assert "64 levels" in json.dumps(errors), errors
    after = (Case.objects.count(), HumanTask.objects.filter(status=TaskStatus.PENDING).count())
    assert after == before


def test_json_64_levels_deep_is_accepted(world, client_for):
    client = client_for(world.admin)
    # the body object is level 1, "data" level 2: 62 more lists fit in 64
    body = {"title": "deep enough", "data": {"x": json.loads(nested_text(62))}}
    response = client.post("/api/cases/", body, format="json")
    assert response.status_code == 201, response.content[:500]


# ---------------------------------------------------------------------------------------------
# Unicode digits in integer query parameters, over every list operation of the schema


def _integer_query_parameters() -> list[Any]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    params = []
    for path, operations in schema["paths"].items():
        get = operations.get("get")
        if not get:
            continue
        for parameter in get.get("parameters", []):
            if parameter["in"] == "query" and parameter["schema"].get("type") == "integer":
                for digit in UNICODE_DIGITS:
                    params.append(
                        pytest.param(
                            path, parameter["name"], digit, id=f"{path}?{parameter['name']}={digit}"
                        )
                    )
    return params


INTEGER_QUERY_PARAMETERS = _integer_query_parameters()


def test_the_schema_has_the_integer_query_parameters_we_expect():
    seen = {(p.values[0], p.values[1]) for p in INTEGER_QUERY_PARAMETERS}
    for expected in [
        ("/api/audit-log/", "object_id"),
        ("/api/audit-log/", "page"),
        ("/api/cases/", "assignee"),
        ("/api/cases/", "page_size"),
        ("/api/approvals/transfers/", "security_group"),
        ("/api/approvals/workflow-assignments/", "security_group"),
        ("/api/tasks/", "page"),
    ]:
        assert expected in seen, sorted(seen)


def _fill_path(path: str, w: Any) -> str:
    return (
        path.replace("{tenant_id}", str(w.tenant.pk))
        .replace("{workflow_id}", str(w.workflow.pk))
        .replace("{group_id}", str(w.group.pk))
        .replace("{subscription_id}", str(w.webhook.pk))
    )


@pytest.mark.parametrize(("path", "name", "digit"), INTEGER_QUERY_PARAMETERS)
def test_unicode_digits_in_an_integer_query_parameter_are_a_400(
    world, client_for, path, name, digit
):
    """Integers are ASCII digits: `int()` takes '٣' and '１' but not '²'; we take none."""
    url = _fill_path(path, world)
    staff = UserFactory(tenant=None, is_staff=True)  # /api/tenants/ is theirs
    client = client_for(staff if path == "/api/tenants/" else world.admin)
    for value in (digit, f"1{digit}", f"{digit}0"):
        response = client.get(url, {name: value})
        assert response.status_code == 400, (value, response.status_code, response.content[:300])
        errors = error_shape(url, response.json())
        assert name in errors, errors
    assert client.get(url, {name: "1"}).status_code in (200, 404)  # ASCII digits still work


@pytest.mark.parametrize("digit", UNICODE_DIGITS)
def test_unicode_digits_in_json_numbers_given_as_strings_are_a_400(world, client_for, digit):
    client = client_for(world.admin)
    response = client.post("/api/cases/", {"title": "x", "assignee": f"{digit}"}, format="json")
    assert response.status_code == 400, response.content
    assert "assignee" in response.json()
    response = client.post(
        f"/api/workflows/{world.workflow.pk}/steps/",
        {"name": "s", "order": digit, "action": "check_safety"},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "order" in response.json()
    response = client.post(
        "/api/approvals/transfers/",
        {"transfer_type": "FAR", "reference": "T-U", "amount": f"1{digit}", "currency": "USD"},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "amount" in response.json()["errors"]


@pytest.mark.parametrize("digit", UNICODE_DIGITS)
def test_unicode_digits_in_a_step_config_are_a_400_naming_the_key(world, client_for, digit):
    config = {"approvers": {"role": "SUPERVISOR"}, "rule": "quorum", "quorum": digit}
    response = client_for(world.admin).post(
        f"/api/workflows/{world.workflow.pk}/steps/",
        {"name": "Vote", "order": 7, "action": "approval", "config": config},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "quorum" in response.json()["config"], response.json()


def test_the_audit_log_object_id_refuses_a_superscript_digit(world, client_for):
    response = client_for(world.admin).get("/api/audit-log/", {"object_id": "²"})
    assert response.status_code == 400
    assert response.json() == {"object_id": ["A valid integer is required."]}


# ---------------------------------------------------------------------------------------------
# NUL characters


def _nul_requests(w: Any) -> list[tuple[str, str, dict[str, Any], str]]:
    nul = "bad\x00text"
    transfer = {"transfer_type": "FAR", "reference": "T-N", "amount": "1.00", "currency": "USD"}
    return [
        ("post", "/api/approvals/transfers/", {**transfer, "description": nul}, "description"),
        ("post", "/api/approvals/transfers/", {**transfer, "reference": nul}, "reference"),
        ("post", "/api/approvals/transfers/", {**transfer, "payload": {"k": nul}}, "payload"),
        ("post", "/api/approvals/transfers/", {**transfer, "payload": {nul: 1}}, "payload"),
        ("post", "/api/cases/", {"title": nul}, "title"),
        ("post", "/api/cases/", {"title": "x", "data": {"a": [nul]}}, "data"),
        ("patch", f"/api/cases/{w.case.pk}/", {"description": nul}, "description"),
        (
            "post",
            f"/api/workflows/{w.workflow.pk}/steps/",
            {"name": nul, "order": 5, "action": "check_safety"},
            "name",
        ),
        (
            "post",
            f"/api/workflows/{w.workflow.pk}/steps/",
            {"name": "s", "order": 5, "action": "check_safety", "config": {"x": nul}},
            "config",
        ),
        ("post", f"/api/tenants/{w.tenant.pk}/workflows/", {"name": nul}, "name"),
        ("post", f"/api/tasks/{w.task.pk}/complete/", {"data": {"x": nul}}, "data"),
        (
            "post",
            f"/api/tasks/{w.task.pk}/complete/",
            {"data": {"x": 1}, "comment": nul},
            "comment",
        ),
        ("post", f"/api/runs/{w.run.pk}/cancel/", {"comment": nul}, "comment"),
        ("post", f"/api/approvals/transfers/{w.transfer.pk}/approve/", {"comment": nul}, "comment"),
        ("post", "/api/approvals/security-groups/", {"name": nul}, "name"),
        (
            "post",
            f"/api/tenants/{w.tenant.pk}/users/",
            {"email": "n@example.test", "password": "Zq-Strong-2026!", "full_name": nul},
            "full_name",
        ),
        ("post", "/api/auth/token/", {"email": nul, "password": PASSWORD}, "email"),
        ("post", "/api/auth/token/", {"email": w.admin.email, "password": nul}, "password"),
    ]


@pytest.mark.parametrize("index", range(18))
def test_a_nul_character_in_a_string_field_is_a_400_naming_the_field(world, client_for, index):
    method, path, body, field_name = _nul_requests(world)[index]
    client = client_for(world.admin)
    response = getattr(client, method)(path, body, format="json")
    assert response.status_code == 400, response.content[:500]
    errors = error_shape(path, response.json())
    assert field_name in errors, errors


@pytest.mark.parametrize("value", ["bad\x00key", "bad\x01key", "tab\tkey", "bad\x7fkey", "é-key"])
def test_control_characters_in_the_idempotency_key_are_a_400_naming_the_header(
    world, client_for, value
):
    client = client_for(world.admin)
    response = client.post(
        f"/api/tasks/{world.task.pk}/complete/",
        {"data": {"risk_level": "low", "contact_verified": True}},
        format="json",
        HTTP_IDEMPOTENCY_KEY=value,
    )
    assert response.status_code == 400, response.content[:300]
    assert "Idempotency-Key" in response.json()
    world.task.refresh_from_db()
    assert world.task.status == TaskStatus.PENDING


@pytest.mark.parametrize("query", ["search=a%00b", "status=%00", "assignee=1%000"])
def test_a_nul_character_in_a_query_parameter_is_a_400(world, client_for, query):
    response = client_for(world.admin).get(f"/api/cases/?{query}")
    assert response.status_code == 400, response.content[:300]


def test_too_many_query_parameters_is_a_400_not_a_500(world, client_for):
    query = "&".join(f"f{i}=1" for i in range(1500))
    response = client_for(world.admin).get(f"/api/cases/?{query}")
    assert response.status_code == 400, response.content[:300]
    assert "detail" in response.json()


@pytest.mark.parametrize("length", ["9" * 5000, str(2 * MIB), "1" + "0" * 30])
def test_a_huge_content_length_is_a_413_before_anything_is_read(world, client_for, length):
    response = client_for(world.admin).generic(
        "POST", "/api/cases/", b"{}", content_type="application/json", CONTENT_LENGTH=length
    )
    assert response.status_code == 413, response.content[:300]


def test_the_schema_documents_413_for_bodies_and_503_everywhere():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    missing = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            if "503" not in codes:
                missing.append((method, path, "503"))
            if method in ("post", "put", "patch") and "413" not in codes:
                missing.append((method, path, "413"))
    assert missing == []
