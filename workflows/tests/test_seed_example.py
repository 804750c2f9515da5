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

    def test_add_steps_as_the_seed_shows(self):
        """The seed's "Add a Step" example and its Step table's examples (`send_email`,
        `check_safety`): name, order and action, no config."""
        workflow = self.client.post(
            f"/api/tenants/{self.tenant.id}/workflows/",
            {"name": "Crisis Response", "description": "For survivor support"},
            format="json",
        ).json()
        for step in (
            {"name": "Assess Risk", "order": 1, "action": "check_safety"},
            {"name": "Notify Supervisor", "order": 2, "action": "send_email"},
        ):
            response = self.client.post(
                f"/api/workflows/{workflow['id']}/steps/", step, format="json"
            )
            self.assertEqual(response.status_code, 201, response.json())
            self.assertEqual({k: response.json()[k] for k in ("name", "order", "action")}, step)
