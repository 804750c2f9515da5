"""Health probes, the OpenAPI document, JSON 404s, and `manage.py test` handing over to pytest."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_healthz_and_readyz():
    client = APIClient()
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == "ok"


def test_openapi_schema_documents_seed_paths():
    response = APIClient().get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    for path in (
        "/api/tenants/{tenant_id}/workflows/",
        "/api/tenants/{tenant_id}/workflows/{id}/",
        "/api/workflows/{workflow_id}/steps/",
        "/api/workflows/{workflow_id}/steps/{id}/",
        "/api/auth/token/",
    ):
        assert path in paths, path
    create = paths["/api/tenants/{tenant_id}/workflows/"]["post"]
    assert "201" in create["responses"]
    assert "requestBody" in create


def test_swagger_ui_is_served():
    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


def test_unknown_api_path_is_json_404():
    response = APIClient().get("/api/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_request_id_is_echoed(settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]  # the test client: a trusted proxy
    response = APIClient().get("/healthz", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"
