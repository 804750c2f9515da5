"""The OpenAPI document is strict 3.0, and real answers of the main flows match it.

Generated clients trust the document: a body, header or `null` the document does not allow
breaks them, so each answer here is checked against its operation's documented response with
a strict OpenAPI 3.0 validator (`openapi-schema-validator`, read direction).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from openapi_schema_validator import OAS30ReadValidator
from openapi_spec_validator import OpenAPIV30SpecValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import Role
from approvals.tests.test_transfers import Chain
from tests.factories import PASSWORD
from workflows.models import WorkflowRun

DOC_URI = "urn:workflows-openapi"
TRANSFERS = "/api/approvals/transfers/"
JSON_BODY = "/content/application~1json/schema"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    # Rendered as the API serves it (lazy strings and the like become plain JSON).
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(schema))


@pytest.fixture(scope="module")
def registry(document) -> Registry:
    return Registry().with_resource(
        DOC_URI, Resource.from_contents(document, default_specification=DRAFT4)
    )


def _walk(node: Any, where: str = "#"):
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from _walk(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{where}/{index}")


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


# --- the document -----------------------------------------------------------------------------


def test_the_document_is_valid_openapi_30(document):
    errors = [e.message for e in OpenAPIV30SpecValidator(document).iter_errors()]
    assert errors == []


def test_nullable_is_never_beside_a_composition(document):
    """3.0: `nullable` only widens a sibling `type`; beside `allOf` (spectacular's form for a
    nullable nested serializer) a strict validator still rejects `null`."""
    offenders = [
        where
        for where, node in _walk(document)
        if node.get("nullable") is True
        and "type" not in node
        and {"allOf", "oneOf", "anyOf", "$ref"} & set(node)
    ]
    assert offenders == []


def test_every_enum_has_a_stable_name(document):
    enums = {
        name
        for name, schema in document["components"]["schemas"].items()
        if "enum" in schema and name.endswith("Enum")
    }
    assert enums
    assert enums <= set(settings.SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]), sorted(enums)
    assert "RunStatusEnum" in enums


def _query_names(document, path, method="get") -> set[str]:
    parameters = document["paths"][path][method].get("parameters", [])
    return {p["name"] for p in parameters if p["in"] == "query"}


def test_list_filters_and_paging_are_documented(document):
    assert {"page", "page_size", "status", "mine", "awaiting_me"} <= _query_names(
        document, TRANSFERS
    )
    assert {"page", "page_size", "code", "search", "transfer_type", "is_active"} <= _query_names(
        document, "/api/tenants/{tenant_id}/workflows/"
    )


def test_headers_are_documented(document):
    missing = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            takes_key = any(
                p["in"] == "header" and p["name"] == "Idempotency-Key"
                for p in operation.get("parameters", [])
            )
            for code, response in operation["responses"].items():
                headers = response.get("headers", {})
                if code in ("429", "503") and "Retry-After" not in headers:
                    missing.append((method, path, code, "Retry-After"))
                if takes_key and code.startswith("2") and "Idempotent-Replayed" not in headers:
                    missing.append((method, path, code, "Idempotent-Replayed"))
    assert missing == []


def test_token_errors_have_bodies(document):
    for path, code in [
        ("/api/auth/token/", "401"),
        ("/api/auth/token/", "429"),
        ("/api/auth/token/refresh/", "401"),
    ]:
        response = document["paths"][path]["post"]["responses"][code]
        assert "application/json" in response.get("content", {}), (path, code)


# --- real answers -----------------------------------------------------------------------------


class Checker:
    def __init__(self, document: dict[str, Any], registry: Registry) -> None:
        self.document = document
        self.registry = registry
        self.checked: list[tuple[str, str, int]] = []

    def __call__(self, response: Any, method: str, path: str) -> Any:
        """Asserts the answer is one the document describes for `method path`; returns it."""
        operation = self.document["paths"][path][method]
        code = str(response.status_code)
        assert code in operation["responses"], (method, path, code, list(operation["responses"]))
        documented = _resolve(self.document, operation["responses"][code])
        content = documented.get("content", {})
        if response.status_code != 204:
            assert "application/json" in content, (method, path, code, "no documented body")
            pointer = f"#/paths/{path.replace('~', '~0').replace('/', '~1')}/{method}"
            schema = {"$ref": f"{DOC_URI}{pointer}/responses/{code}{JSON_BODY}"}
            validator = OAS30ReadValidator(
                schema,
                registry=self.registry,
                format_checker=OAS30ReadValidator.FORMAT_CHECKER,
            )
            errors = [
                f"{list(e.absolute_path)}: {e.message}"
                for e in validator.iter_errors(response.json())
            ]
            assert errors == [], (method, path, code)
        headers = {
            name.lower(): _resolve(self.document, header)
            for name, header in documented.get("headers", {}).items()
        }
        for name, header in headers.items():
            value = response.headers.get(name)
            if value is None:
                assert not header.get("required"), (method, path, code, f"{name} missing")
                continue
            parsed: Any = int(value) if header["schema"].get("type") == "integer" else value
            errors = [e.message for e in OAS30ReadValidator(header["schema"]).iter_errors(parsed)]
            assert errors == [], (method, path, code, name)
        for name in ("retry-after", "idempotent-replayed"):
            if name in response.headers:
                assert name in headers, (method, path, code, f"{name} not documented")
        self.checked.append((method, path, response.status_code))
        return response


@pytest.fixture
def check(document, registry) -> Checker:
    return Checker(document, registry)


def _client_ip() -> str:
    n = uuid.uuid4().int
    return f"10.{n % 256}.{(n >> 8) % 256}.{(n >> 16) % 256}"


@pytest.mark.django_db
def test_the_main_flows_answer_as_documented(tenant, make_user, client_for, check):
    chain = Chain(tenant, make_user, client_for)
    token = "/api/auth/token/"
    anon = APIClient(REMOTE_ADDR=_client_ip())

    body = {"email": chain.submitter.email, "password": PASSWORD}
    assert check(anon.post(token, body, format="json"), "post", token).status_code == 200
    wrong = {**body, "password": "Wrong-Pass-2026!"}
    assert check(anon.post(token, wrong, format="json"), "post", token).status_code == 401

    key = {"HTTP_IDEMPOTENCY_KEY": "contract-1"}
    created = check(chain.create(reference="C-1"), "post", TRANSFERS)
    assert created.status_code == 201, created.json()
    transfer_id = created.json()["transfer"]["id"]
    assert created.json()["transfer"]["chain"][1]["current_step"] is None
    request = {
        "security_group": chain.group.pk,
        "transfer_type": "FAR",
        "reference": "C-2",
        "amount": "10.00",
        "currency": "EUR",
    }
    first = chain.submitter_client.post(TRANSFERS, request, format="json", **key)
    replay = chain.submitter_client.post(TRANSFERS, request, format="json", **key)
    check(first, "post", TRANSFERS)
    check(replay, "post", TRANSFERS)
    assert replay.headers["Idempotent-Replayed"] == "true"

    listed = chain.submitter_client.get(TRANSFERS, {"page": 1, "page_size": 1, "status": "pending"})
    assert check(listed, "get", TRANSFERS).status_code == 200
    assert listed.json()["count"] == 2
    assert len(listed.json()["transfers"]) == 1
    detail = chain.submitter_client.get(f"{TRANSFERS}{transfer_id}/")
    assert check(detail, "get", TRANSFERS + "{id}/").status_code == 200

    tasks = chain.approver_clients[0].get("/api/tasks/")
    assert check(tasks, "get", "/api/tasks/").status_code == 200
    assert tasks.json()["count"] >= 1

    approved = chain.approve(transfer_id)
    assert check(approved, "post", TRANSFERS + "{id}/approve/").status_code == 200

    workflows = f"/api/tenants/{tenant.pk}/workflows/"
    filters = {"code": "FAR_2", "search": "step", "transfer_type": "FAR", "is_active": "true"}
    listed = chain.submitter_client.get(workflows, filters)
    assert check(listed, "get", "/api/tenants/{tenant_id}/workflows/").status_code == 200
    assert [w["code"] for w in listed.json()["results"]] == ["FAR_2"]

    run = WorkflowRun.objects.filter(subject_type="transfer", subject_id=transfer_id).first()
    run_detail = chain.submitter_client.get(f"/api/runs/{run.pk}/")
    assert check(run_detail, "get", "/api/runs/{id}/").status_code == 200

    unauthenticated = APIClient().get(TRANSFERS)
    assert check(unauthenticated, "get", TRANSFERS).status_code == 401

    assert len(check.checked) == 12


@pytest.mark.django_db
def test_a_throttled_login_answers_as_documented(monkeypatch, check):
    base = {"anon": "1000/minute", "user": "1000/minute", "login": "1/minute"}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", base)
    client = APIClient(REMOTE_ADDR=_client_ip())
    body = {"email": f"{uuid.uuid4().hex}@example.com", "password": "Wrong-Pass-2026!"}
    token = "/api/auth/token/"
    assert check(client.post(token, body, format="json"), "post", token).status_code == 401
    throttled = check(client.post(token, body, format="json"), "post", token)
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) >= 1


def test_the_session_endpoints_and_cookie_auth_are_documented(document):
    schemes = document["components"]["securitySchemes"]
    assert schemes["cookieAuth"] == {
        **schemes["cookieAuth"],
        "type": "apiKey",
        "in": "cookie",
        "name": settings.SESSION_COOKIE_NAME,
    }
    login = document["paths"]["/api/auth/session/"]["post"]
    assert _resolve(document, login["requestBody"]["content"]["application/json"]["schema"])[
        "required"
    ] == ["email", "password"]
    for code in ("200", "401", "403", "429"):
        assert "application/json" in login["responses"][code].get("content", {}), code
    logout = document["paths"]["/api/auth/session/"]["delete"]
    assert {"204", "403"} <= set(logout["responses"])
    me = document["paths"]["/api/auth/me/"]["get"]
    assert {"cookieAuth": []} in me["security"]
    assert {"jwtAuth": []} in me["security"]


@pytest.mark.django_db
def test_the_session_flow_answers_as_documented(tenant, make_user, check):
    user = make_user(Role.AGENT)
    browser = Client(enforce_csrf_checks=True, REMOTE_ADDR=_client_ip())
    csrf, session, me = "/api/auth/csrf/", "/api/auth/session/", "/api/auth/me/"
    body = {"email": user.email, "password": PASSWORD}

    assert check(browser.get(csrf), "get", csrf).status_code == 200
    no_csrf = browser.post(session, body, content_type="application/json")
    assert check(no_csrf, "post", session).status_code == 403
    headers = {"HTTP_X_CSRFTOKEN": browser.cookies["csrftoken"].value}
    wrong = {**body, "password": "Wrong-Pass-2026!"}
    failed = browser.post(session, wrong, content_type="application/json", **headers)
    assert check(failed, "post", session).status_code == 401
    signed_in = browser.post(session, body, content_type="application/json", **headers)
    assert check(signed_in, "post", session).status_code == 200
    assert check(browser.get(me), "get", me).status_code == 200
    headers = {"HTTP_X_CSRFTOKEN": browser.cookies["csrftoken"].value}  # new at sign-in
    assert check(browser.delete(session), "delete", session).status_code == 403
    assert check(browser.delete(session, **headers), "delete", session).status_code == 204
    assert check(browser.get(me), "get", me).status_code == 401
