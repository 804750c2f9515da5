"""OpenAPI documents every cases operation with its real request and response shapes."""

import pytest
from drf_spectacular.generators import SchemaGenerator

REF = "#/components/schemas/"
OPERATIONS = {
    # (path, method): (request component or None, success code, response component or None)
    ("/api/cases/", "get"): (None, "200", "PaginatedCaseList"),
    ("/api/cases/", "post"): ("CaseCreateInputRequest", "201", "CaseDetail"),
    ("/api/cases/{id}/", "get"): (None, "200", "CaseDetail"),
    ("/api/cases/{id}/", "put"): ("CaseUpdateInputRequest", "200", "CaseDetail"),
    ("/api/cases/{id}/", "patch"): ("PatchedCaseUpdateInputRequest", "200", "CaseDetail"),
    ("/api/cases/{id}/", "delete"): (None, "204", None),
    ("/api/cases/{id}/runs/", "post"): ("CaseRunStartInputRequest", "201", "RunDetail"),
}


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def json_schema(node):
    return node["content"]["application/json"]["schema"]


@pytest.mark.parametrize(("key", "expected"), OPERATIONS.items())
def test_operation_documents_request_and_response(schema, key, expected):
    path, method = key
    request, code, response = expected
    operation = schema["paths"][path][method]
    if request:
        assert json_schema(operation["requestBody"]) == {"$ref": REF + request}
    if response:
        assert json_schema(operation["responses"][code]) == {"$ref": REF + response}
    else:
        assert "content" not in operation["responses"][code]
    for error_code, error in operation["responses"].items():
        if error_code.startswith("4"):
            assert "content" in error, (path, method, error_code)


def test_components_spell_out_the_fields(schema):
    components = schema["components"]["schemas"]
    assert set(components["CaseDetail"]["properties"]) >= {
        "id",
        "reference",
        "title",
        "status",
        "priority",
        "assignee",
        "data",
        "runs",
    }
    assert components["CaseDetail"]["properties"]["runs"]["items"] == {"$ref": REF + "Run"}
    assert set(components["CaseCreateInputRequest"]["required"]) == {"title"}
    assert components["CaseStatusEnum"]["enum"] == ["open", "in_progress", "closed"]
    assert components["PriorityEnum"]["enum"] == ["low", "normal", "high", "urgent"]
    assert components["CaseRunStartInputRequest"]["required"] == ["workflow"]


def test_list_documents_its_filters(schema):
    params = {p["name"] for p in schema["paths"]["/api/cases/"]["get"]["parameters"]}
    assert params >= {"status", "priority", "assignee", "search", "page", "page_size"}
    run_params = {p["name"] for p in schema["paths"]["/api/cases/{id}/runs/"]["post"]["parameters"]}
    assert "Idempotency-Key" in run_params
