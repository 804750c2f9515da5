"""OpenAPI documents each approvals operation with its real envelope, not a generic shape."""

import pytest
from drf_spectacular.generators import SchemaGenerator

EXPECTED = {
    ("/api/approvals/workflow-assignments/", "get", "200"): "WorkflowAssignmentListEnvelope",
    ("/api/approvals/workflow-assignments/", "post", "201"): "WorkflowAssignmentMessageEnvelope",
    ("/api/approvals/workflow-assignments/{id}/", "get", "200"): "WorkflowAssignmentEnvelope",
    (
        "/api/approvals/workflow-assignments/{id}/",
        "put",
        "200",
    ): "WorkflowAssignmentMessageEnvelope",
    (
        "/api/approvals/workflow-assignments/{id}/",
        "patch",
        "200",
    ): "WorkflowAssignmentMessageEnvelope",
    (
        "/api/approvals/workflow-assignments/{id}/",
        "delete",
        "200",
    ): "WorkflowAssignmentDeleteEnvelope",
    ("/api/approvals/workflow-assignments/bulk-assign/", "post", "201"): (
        "WorkflowAssignmentBulkAssignEnvelope"
    ),
    ("/api/approvals/workflow-assignments/reorder/", "put", "200"): (
        "WorkflowAssignmentReorderEnvelope"
    ),
    ("/api/approvals/security-groups/", "get", "200"): "SecurityGroupPageEnvelope",
    ("/api/approvals/security-groups/{group_id}/members/{user_id}/", "delete", "200"): (
        "SecurityGroupMemberDeleteEnvelope"
    ),
}


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def response_ref(operation, code):
    return operation["responses"][code]["content"]["application/json"]["schema"]["$ref"]


@pytest.mark.parametrize(("key", "component"), EXPECTED.items())
def test_operation_documents_its_envelope(schema, key, component):
    path, method, code = key
    assert response_ref(schema["paths"][path][method], code) == f"#/components/schemas/{component}"


def test_envelopes_spell_out_the_seed_fields(schema):
    components = schema["components"]["schemas"]
    bulk = components["WorkflowAssignmentBulkAssignEnvelope"]["properties"]
    assert set(bulk) == {"success", "message", "deleted_count", "created_count", "assignments"}
    assert set(components["WorkflowAssignmentListEnvelope"]["properties"]) == {
        "success",
        "count",
        "assignments",
    }
    assert set(components["WorkflowAssignment"]["properties"]) == {
        "id",
        "security_group",
        "security_group_name",
        "workflow_template",
        "workflow_template_name",
        "workflow_template_code",
        "transfer_type",
        "execution_order",
        "is_active",
        "created_at",
        "created_by",
    }


def test_every_approvals_error_is_the_error_envelope(schema):
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/approvals/"):
            continue
        for method, operation in operations.items():
            if method == "parameters":
                continue
            assert "401" in operation["responses"], (path, method)
            for code in operation["responses"]:
                if code.startswith("4"):
                    ref = response_ref(operation, code)
                    assert ref == "#/components/schemas/ApprovalsErrorEnvelope", (
                        path,
                        method,
                        code,
                    )
