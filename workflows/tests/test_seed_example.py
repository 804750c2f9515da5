"""The seed's own sample test, with a real token obtained from the API."""

from django.test import TestCase
from rest_framework.test import APIClient

from accounts.models import Role
from tests.factories import PASSWORD, TenantFactory, UserFactory


class WorkflowAPITest(TestCase):
    def setUp(self):
        self.tenant = TenantFactory()
        user = UserFactory(tenant=self.tenant, role=Role.ADMIN)
        token = (
            APIClient()
            .post("/api/auth/token/", {"email": user.email, "password": PASSWORD}, format="json")
            .json()["access"]
        )
        self.client = APIClient()
        self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    def test_create_workflow(self):
        response = self.client.post(
            f"/api/tenants/{self.tenant.id}/workflows/",
            {"name": "Test", "description": "Test workflow"},
            format="json",
        )
        self.assertEqual(response.status_code, 201)
        self.assertEqual(response.json()["name"], "Test")
        self.assertEqual(response.json()["tenant"], self.tenant.id)
