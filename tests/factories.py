"""Factories; sub-factories keep one tenant down the object graph."""

import factory

from accounts.models import Role, User
from approvals.models import SecurityGroup, SecurityGroupMember, WorkflowAssignment
from tenants.models import Tenant
from workflows.models import Step, Workflow

PASSWORD = "Test-Pass-2026!"


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Tenant {n}")
    slug = factory.Sequence(lambda n: f"tenant-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    tenant = factory.SubFactory(TenantFactory)
    role = Role.AGENT
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class WorkflowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workflow

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Workflow {n}")
    description = "A workflow"


class StepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Step

    workflow = factory.SubFactory(WorkflowFactory)
    tenant = factory.LazyAttribute(lambda o: o.workflow.tenant)
    name = factory.Sequence(lambda n: f"Step {n}")
    order = factory.Sequence(lambda n: n)
    action = "check_safety"
    config = factory.LazyFunction(dict)


class WorkflowTemplateFactory(WorkflowFactory):
    """A Workflow as the approvals seed's template: with a `code` and a `transfer_type`."""

    code = factory.Sequence(lambda n: f"WF_{n}")
    transfer_type = "FAR"


class SecurityGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SecurityGroup

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Group {n}")
    description = "A security group"


class SecurityGroupMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SecurityGroupMember

    security_group = factory.SubFactory(SecurityGroupFactory)
    tenant = factory.LazyAttribute(lambda o: o.security_group.tenant)
    user = factory.SubFactory(UserFactory, tenant=factory.SelfAttribute("..tenant"))


class WorkflowAssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkflowAssignment

    security_group = factory.SubFactory(SecurityGroupFactory)
    tenant = factory.LazyAttribute(lambda o: o.security_group.tenant)
    workflow_template = factory.SubFactory(
        WorkflowTemplateFactory, tenant=factory.SelfAttribute("..tenant")
    )
    execution_order = factory.Sequence(lambda n: n + 1)


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "cases.Case"

    tenant = factory.SubFactory(TenantFactory)
    reference = factory.Sequence(lambda n: f"CASE-F{n:05d}")
    title = factory.Sequence(lambda n: f"Case {n}")
    description = "A case"
    data = factory.LazyFunction(dict)
