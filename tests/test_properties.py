"""Property tests for the validation of steps, workflow assignments and transfers.

Generated inputs, well-formed and hostile (NUL characters, lone surrogates, 1e400, wrong types,
out-of-range numbers), go through the API as JSON. Each answer is either a success with the
data stored exactly as sent (DRF trims surrounding whitespace from text; documented defaults
are added), or a 400 whose errors name a field of the request, never a 500; a 400 changes
nothing. Assignments are driven as a state machine against a model of the group's chain: after
any sequence of create / bulk-assign / reorder / delete, the database equals the model and the
execution orders in the group are unique.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from accounts.models import Role
from approvals.api.serializers import MAX_ORDER
from approvals.models import Transfer, WorkflowAssignment
from tests.factories import (
    SecurityGroupFactory,
    StepFactory,
    WorkflowFactory,
    WorkflowTemplateFactory,
)
from workflows.engine.registry import registry
from workflows.models import Step

pytestmark = pytest.mark.django_db

SETTINGS = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
STEPS_URL = "/api/workflows/{}/steps/"
TRANSFERS_URL = "/api/approvals/transfers/"
ASSIGNMENTS_URL = "/api/approvals/workflow-assignments/"
BULK_URL = "/api/approvals/workflow-assignments/bulk-assign/"
REORDER_URL = "/api/approvals/workflow-assignments/reorder/"


# JSON with the values PostgreSQL cannot store


class Huge:
    """Sent as the JSON number 1e400, which Python's json reads as infinity."""

    def __repr__(self) -> str:
        return "1e400"


HUGE = Huge()
_HUGE_MARK = "\x01huge-number\x01"

hostile_chars = st.one_of(st.characters(), st.sampled_from(["\x00", "\ud800", "\udfff"]))
any_text = st.text(hostile_chars, max_size=20)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.just(HUGE),
    any_text,
)
any_json = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(any_text, children, max_size=3)
    ),
    max_leaves=8,
)
json_objects = st.dictionaries(any_text, any_json, max_size=4)
text_hazards = st.sampled_from(["\x00", "a\x00b", "\ud800", "z\udfff"])
hazards = st.one_of(text_hazards, st.just(HUGE), st.just([HUGE]))
hazardous_objects = st.one_of(
    st.builds(lambda obj, bad: {**obj, "k": bad}, json_objects, hazards),
    st.builds(lambda obj, bad: {**obj, "k": {"n": [1, bad]}}, json_objects, hazards),
    st.builds(lambda obj, bad: {**obj, bad: 1}, json_objects, text_hazards),
)


def dumps(body: Any) -> str:
    """JSON text of `body`; `HUGE` becomes 1e400, lone surrogates become \\udXXX escapes."""
    text = json.dumps(body, default=lambda value: _HUGE_MARK)
    return text.replace(json.dumps(_HUGE_MARK), "1e400")


def contains_huge(value: Any) -> bool:
    if value is HUGE:
        return True
    if isinstance(value, dict):
        return any(contains_huge(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_huge(v) for v in value)
    return False


def perturbed(
    valid: st.SearchStrategy[dict[str, Any]], hostile: dict[str, st.SearchStrategy[Any]]
) -> st.SearchStrategy[dict[str, Any]]:
    """Valid bodies with one field (often) or several replaced by hostile values, or left out:
    an invalid value then reaches as far as validation lets it, the database included."""
    one = st.sampled_from(sorted(hostile)).flatmap(
        lambda name: hostile[name].map(lambda value: {name: value})
    )
    several = st.fixed_dictionaries({}, optional=hostile)
    dropped = st.sets(st.sampled_from(sorted(hostile)), max_size=2)
    return st.builds(
        lambda body, changes, drop: {k: v for k, v in {**body, **changes}.items() if k not in drop},
        valid,
        st.one_of(one, one, several),
        st.one_of(st.just(set()), st.just(set()), dropped),
    )


def send(client: Any, method: str, url: str, body: Any) -> Any:
    return getattr(client, method)(url, data=dumps(body), content_type="application/json")


def error_fields(response: Any, *, envelope: bool = False) -> set[str]:
    body = response.json()
    if envelope:
        assert body["success"] is False, body
        body = body["errors"]
    assert isinstance(body, dict), body
    assert body, body
    return set(body)


def assert_names_a_field(response: Any, allowed: set[str], *, envelope: bool = False) -> set[str]:
    assert response.status_code == 400, (response.status_code, response.content)
    fields = error_fields(response, envelope=envelope)
    assert fields <= allowed | {"non_field_errors"}, (fields, response.content)
    assert "detail" not in fields, response.content
    return fields


def as_int(value: Any) -> int | None:
    """The integer DRF's IntegerField reads from `value`, if any."""
    if isinstance(value, bool) or value is HUGE:
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return int(number) if number.is_finite() and number == int(number) else None


# Steps


clean_names = st.text(
    st.characters(exclude_categories=["Cs", "Cc"]), min_size=1, max_size=200
).filter(lambda s: s.strip())
orders = st.one_of(
    st.integers(min_value=0, max_value=1_000_000),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.integers(min_value=0, max_value=1000).map(str),
    st.integers(min_value=0, max_value=1000).map(float),
    st.just(HUGE),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    any_text,
)
actions = st.one_of(st.sampled_from(sorted(registry.keys())), any_text, st.integers())
valid_step_bodies = st.fixed_dictionaries(
    {
        "name": clean_names,
        "order": st.integers(min_value=0, max_value=1_000_000),
        "action": st.sampled_from(["check_safety", "verify_contact"]),
    },
    optional={"config": st.just({})},
)
step_bodies = perturbed(
    valid_step_bodies,
    {
        "name": st.one_of(any_text, st.integers(), st.none(), st.text(min_size=201)),
        "order": orders,
        "action": actions,
        "config": st.one_of(hazardous_objects, json_objects, any_json),
    },
)
STEP_FIELDS = {"name", "order", "action", "config"}


@pytest.fixture
def workflow(tenant):
    return WorkflowFactory(tenant=tenant, name="Intake")


def check_step_answer(
    response: Any, body: dict[str, Any], workflow: Any, ok_status: int = 201
) -> None:
    assert response.status_code in (ok_status, 400), (response.status_code, response.content)
    if response.status_code == 400:
        assert_names_a_field(response, STEP_FIELDS)
        return
    data = response.json()
    step = Step.objects.get(pk=data["id"], workflow=workflow)
    assert step.name == str(body["name"]).strip() == data["name"]
    assert step.order == as_int(body["order"]) == data["order"]
    assert step.action == body["action"] == data["action"]
    sent_config = body.get("config") or {}
    assert step.config == data["config"]
    assert {k: step.config[k] for k in sent_config} == sent_config


@SETTINGS
@given(body=step_bodies)
def test_step_creation_stores_exactly_or_names_the_field(admin_client, workflow, body):
    existing = Step.objects.filter(workflow=workflow).count()
    response = send(admin_client, "post", STEPS_URL.format(workflow.pk), body)
    check_step_answer(response, body, workflow)
    if response.status_code == 400:
        assert Step.objects.filter(workflow=workflow).count() == existing


@SETTINGS
@given(body=valid_step_bodies)
def test_valid_step_is_created_unless_its_order_is_taken(admin_client, workflow, body):
    taken = Step.objects.filter(workflow=workflow, order=body["order"]).exists()
    response = send(admin_client, "post", STEPS_URL.format(workflow.pk), body)
    if taken:
        assert assert_names_a_field(response, STEP_FIELDS) == {"order"}
    else:
        assert response.status_code == 201, response.content
        check_step_answer(response, body, workflow)
    orders_in_workflow = list(
        Step.objects.filter(workflow=workflow).values_list("order", flat=True)
    )
    assert len(orders_in_workflow) == len(set(orders_in_workflow))


@SETTINGS
@given(body=step_bodies)
def test_step_update_stores_exactly_or_names_the_field(admin_client, workflow, body):
    Step.objects.filter(workflow=workflow).delete()
    step = StepFactory(workflow=workflow, order=10**6, name="Before", action="check_safety")
    before = Step.objects.filter(pk=step.pk).values().get()
    response = send(admin_client, "patch", f"{STEPS_URL.format(workflow.pk)}{step.pk}/", body)
    assert response.status_code in (200, 400), (response.status_code, response.content)
    after = Step.objects.filter(pk=step.pk).values().get()
    if response.status_code == 400:
        assert_names_a_field(response, STEP_FIELDS)
        assert after == before
    else:
        expected = {"name": "Before", "order": 10**6, "action": "check_safety", **body}
        check_step_answer(response, expected, workflow, ok_status=200)


# Transfers


amounts = st.one_of(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999999999999999.99"), places=2).map(
        str
    ),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "1e5", "0", "-1", "0.001", ""]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.just(HUGE),
    st.booleans(),
    st.none(),
    any_text,
)
currencies = st.one_of(
    st.sampled_from(["USD", "eur", "Gbp"]), st.text(min_size=3, max_size=3), any_text, st.none()
)
references = st.one_of(
    st.text(st.characters(exclude_categories=["Cs", "Cc"]), min_size=1, max_size=64),
    any_text,
    st.text(min_size=65, max_size=70),
    st.integers(),
)
valid_transfer_bodies = st.fixed_dictionaries(
    {
        "security_group": st.just("GROUP"),
        "transfer_type": st.just("FAR"),
        "reference": st.text(
            st.characters(exclude_categories=["Cs", "Cc"]), min_size=1, max_size=64
        ).filter(lambda s: s.strip()),
        "amount": st.decimals(
            min_value=Decimal("0.01"), max_value=Decimal("9999999999999999.99"), places=2
        ).map(str),
        "currency": st.text(
            st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcxyz"), min_size=3, max_size=3
        ),
    },
    optional={
        "description": st.text(st.characters(exclude_categories=["Cs", "Cc"]), max_size=50),
        "payload": st.dictionaries(
            st.text(st.characters(exclude_categories=["Cs", "Cc"]), max_size=10),
            st.one_of(st.integers(), st.text(st.characters(exclude_categories=["Cs"]))),
            max_size=4,
        ),
    },
)
transfer_bodies = perturbed(
    valid_transfer_bodies,
    {
        "reference": references,
        "amount": amounts,
        "currency": currencies,
        "description": st.one_of(any_text, st.none(), st.text(min_size=5001)),
        "payload": st.one_of(hazardous_objects, json_objects, any_json),
        "transfer_type": st.one_of(st.just("OTHER"), any_text),
    },
)
TRANSFER_FIELDS = {
    "security_group",
    "transfer_type",
    "reference",
    "amount",
    "currency",
    "description",
    "payload",
}


@pytest.fixture
def finance(tenant, make_user):
    make_user(Role.SUPERVISOR)  # the approver the chain's first step waits for
    group = SecurityGroupFactory(tenant=tenant, name="Finance Team")
    template = WorkflowTemplateFactory(tenant=tenant, code="FAR_WF_V1", transfer_type="FAR")
    StepFactory(
        workflow=template,
        order=0,
        name="Approve",
        action="approval",
        config={"approvers": {"role": Role.SUPERVISOR}},
    )
    WorkflowAssignment.objects.create(
        tenant=tenant, security_group=group, workflow_template=template, execution_order=1
    )
    return group


def post_transfer(client: Any, group: Any, body: dict[str, Any]) -> Any:
    body = {**body, "security_group": group.pk}
    return send(client, "post", TRANSFERS_URL, body), body


def check_transfer_answer(response: Any, body: dict[str, Any], tenant: Any) -> None:
    assert response.status_code in (201, 400), (response.status_code, response.content)
    if response.status_code == 400:
        assert_names_a_field(response, TRANSFER_FIELDS, envelope=True)
        return
    data = response.json()["transfer"]
    transfer = Transfer.objects.get(pk=data["id"], tenant=tenant)
    assert transfer.reference == str(body["reference"]).strip() == data["reference"]
    assert transfer.amount == Decimal(str(body["amount"]).strip()) == Decimal(data["amount"])
    assert transfer.currency == body["currency"].strip().upper() == data["currency"]
    assert transfer.description == (body.get("description") or "").strip() == data["description"]
    assert transfer.payload == body.get("payload", {}) == data["payload"]
    assert transfer.transfer_type == "FAR"


@SETTINGS
@given(body=transfer_bodies)
def test_transfer_creation_stores_exactly_or_names_the_field(admin_client, tenant, finance, body):
    count = Transfer.objects.filter(tenant=tenant).count()
    response, body = post_transfer(admin_client, finance, body)
    check_transfer_answer(response, body, tenant)
    if response.status_code == 400:
        assert Transfer.objects.filter(tenant=tenant).count() == count
    else:
        assert not contains_huge(body.get("payload"))


@SETTINGS
@given(body=valid_transfer_bodies)
def test_valid_transfer_is_created_unless_its_reference_is_taken(
    admin_client, tenant, finance, body
):
    taken = Transfer.objects.filter(tenant=tenant, reference=body["reference"].strip()).exists()
    response, body = post_transfer(admin_client, finance, body)
    if taken:
        assert assert_names_a_field(response, TRANSFER_FIELDS, envelope=True) == {"reference"}
    else:
        assert response.status_code == 201, response.content
        check_transfer_answer(response, body, tenant)


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        ("payload", '{"x": 1e400}'),
        ("payload", '{"x": "a\\u0000b"}'),
        ("payload", '{"\\u0000": 1}'),
        ("payload", '{"x": ["\\ud800"]}'),
        ("payload", '{"\\udfff": true}'),
        ("description", '"a\\u0000b"'),
        ("description", '"\\ud800"'),
        ("reference", '"R\\u0000"'),
        ("amount", "1e400"),
        ("amount", '"NaN"'),
        ("currency", '"U\\u0000D"'),
    ],
)
def test_unstorable_transfer_values_are_a_400_naming_the_field(
    admin_client, tenant, finance, field, raw
):
    values = {
        "security_group": str(finance.pk),
        "transfer_type": '"FAR"',
        "reference": '"R-1"',
        "amount": '"10.00"',
        "currency": '"USD"',
        field: raw,
    }
    body = "{" + ", ".join(f'"{k}": {v}' for k, v in values.items()) + "}"
    response = admin_client.post(TRANSFERS_URL, data=body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert set(response.json()["errors"]) == {field}
    assert not Transfer.objects.filter(tenant=tenant).exists()


@pytest.mark.parametrize(
    "raw_config",
    ['{"x": 1e400}', '{"x": "\\u0000"}', '{"\\ud800": 1}', '{"a": {"b": [-1e400]}}'],
)
def test_unstorable_step_config_is_a_400_naming_config(admin_client, workflow, raw_config):
    body = f'{{"name": "S", "order": 1, "action": "check_safety", "config": {raw_config}}}'
    response = admin_client.post(
        STEPS_URL.format(workflow.pk), data=body, content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert set(response.json()) == {"config"}
    assert not Step.objects.filter(workflow=workflow).exists()


# Workflow assignments: a state machine against a model of one group's chain


TEMPLATES = 4  # the last one is inactive
item_orders = st.one_of(
    st.integers(min_value=1, max_value=6),
    st.integers(min_value=-2, max_value=MAX_ORDER + 2),
)
id_noise = st.one_of(st.integers(min_value=-5, max_value=2**63 + 5), st.text(max_size=3))
order_noise = st.one_of(
    st.just(HUGE), st.floats(allow_nan=False), st.booleans(), st.none(), st.text(max_size=3)
)


def valid_order(order: Any) -> bool:
    return isinstance(order, int) and not isinstance(order, bool) and 1 <= order <= MAX_ORDER


class AssignmentChain(RuleBasedStateMachine):
    """Model: template index -> execution order of the group's assignments."""

    client: Any
    tenant: Any
    group: Any
    templates: list[Any]

    def __init__(self) -> None:
        super().__init__()
        WorkflowAssignment.objects.filter(security_group=self.group).delete()
        self.model: dict[int, int] = {}

    # helpers

    def db_chain(self) -> dict[int, int]:
        index = {t.pk: i for i, t in enumerate(self.templates)}
        rows = WorkflowAssignment.objects.filter(security_group=self.group)
        return {index[r.workflow_template_id]: r.execution_order for r in rows}

    def assignment_ids(self) -> dict[int, int]:
        index = {t.pk: i for i, t in enumerate(self.templates)}
        rows = WorkflowAssignment.objects.filter(security_group=self.group)
        return {index[r.workflow_template_id]: r.pk for r in rows}

    def expect(self, response: Any, ok_status: int, ok: bool, fields: set[str]) -> None:
        assert response.status_code in (ok_status, 400), (response.status_code, response.content)
        if ok:
            assert response.status_code == ok_status, response.content
            body = response.json()
            assert body["success"] is True, body
        else:
            assert_names_a_field(response, fields, envelope=True)

    # rules

    @rule(
        items=st.lists(
            st.tuples(st.integers(min_value=0, max_value=TEMPLATES - 1), item_orders), max_size=5
        )
    )
    def bulk_assign(self, items: list[tuple[int, int]]) -> None:
        body = {
            "security_group_id": self.group.pk,
            "workflow_assignments": [
                {"workflow_template_id": self.templates[t].pk, "execution_order": o}
                for t, o in items
            ],
        }
        templates = [t for t, _ in items]
        order_list = [o for _, o in items]
        ok = (
            all(valid_order(o) for o in order_list)
            and len(set(order_list)) == len(order_list)
            and len(set(templates)) == len(templates)
            and TEMPLATES - 1 not in templates
        )
        response = send(self.client, "post", BULK_URL, body)
        self.expect(response, 201, ok, {"security_group_id", "workflow_assignments"})
        if ok:
            self.model = dict(items)
            returned = [a["execution_order"] for a in response.json()["assignments"]]
            assert returned == sorted(self.model.values())

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def reorder(self, data: st.DataObject) -> None:
        ids = self.assignment_ids()
        chosen = data.draw(
            st.lists(st.sampled_from(sorted(ids)), min_size=1, max_size=len(ids), unique=True)
        )
        new_orders = data.draw(st.lists(item_orders, min_size=len(chosen), max_size=len(chosen)))
        body = {
            "security_group_id": self.group.pk,
            "assignment_orders": [
                {"assignment_id": ids[t], "execution_order": o}
                for t, o in zip(chosen, new_orders, strict=True)
            ],
        }
        final = {**self.model, **dict(zip(chosen, new_orders, strict=True))}
        ok = (
            all(valid_order(o) for o in new_orders)
            and len(set(new_orders)) == len(new_orders)
            and len(set(final.values())) == len(final)
        )
        response = send(self.client, "put", REORDER_URL, body)
        self.expect(response, 200, ok, {"security_group_id", "assignment_orders"})
        if ok:
            self.model = final

    @rule(template=st.integers(min_value=0, max_value=TEMPLATES - 1), order=item_orders)
    def create(self, template: int, order: int) -> None:
        body = {
            "security_group": self.group.pk,
            "workflow_template": self.templates[template].pk,
            "execution_order": order,
        }
        ok = (
            valid_order(order)
            and template not in self.model
            and order not in self.model.values()
            and template != TEMPLATES - 1
        )
        response = send(self.client, "post", ASSIGNMENTS_URL, body)
        self.expect(response, 201, ok, {"security_group", "workflow_template", "execution_order"})
        if ok:
            self.model[template] = order

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        ids = self.assignment_ids()
        template = data.draw(st.sampled_from(sorted(ids)))
        response = self.client.delete(f"{ASSIGNMENTS_URL}{ids[template]}/")
        assert response.status_code == 200, response.content
        del self.model[template]

    @rule(
        key=st.sampled_from(["security_group_id", "workflow_assignments", "assignment_orders"]),
        noise=st.one_of(id_noise, order_noise, any_json),
        path=st.sampled_from([BULK_URL, REORDER_URL]),
        item=st.booleans(),
    )
    def garbage(self, key: str, noise: Any, path: str, item: bool) -> None:
        """Hostile values anywhere: never a 500, and a 400 changes nothing."""
        real_ids = {t.pk for t in self.templates} | set(self.assignment_ids().values())
        assume(not (isinstance(noise, int) and noise in real_ids | {self.group.pk}))
        list_key = "workflow_assignments" if path == BULK_URL else "assignment_orders"
        id_key = "workflow_template_id" if path == BULK_URL else "assignment_id"
        body: dict[str, Any] = {"security_group_id": self.group.pk, list_key: []}
        if item:
            body[list_key] = [{id_key: noise, "execution_order": 1}]
        else:
            body[key] = noise
        method = "post" if path == BULK_URL else "put"
        response = send(self.client, method, path, body)
        assert response.status_code in (200, 201, 400), (response.status_code, response.content)
        if response.status_code == 400:
            assert_names_a_field(response, {"security_group_id", list_key, key}, envelope=True)
        elif path == BULK_URL:
            self.model = {}  # an empty list replaces the chain with nothing

    @invariant()
    def database_matches_the_model_and_orders_are_unique(self) -> None:
        chain = self.db_chain()
        assert chain == self.model
        assert len(set(chain.values())) == len(chain)


def test_assignment_chain_properties(admin_client, tenant):
    group = SecurityGroupFactory(tenant=tenant, name="Finance Team")
    templates = [
        WorkflowTemplateFactory(tenant=tenant, code=f"FAR_{i}", is_active=i < TEMPLATES - 1)
        for i in range(TEMPLATES)
    ]

    class Machine(AssignmentChain):
        pass

    Machine.client, Machine.tenant, Machine.group, Machine.templates = (
        admin_client,
        tenant,
        group,
        templates,
    )
    run_state_machine_as_test(
        Machine,
        settings=settings(SETTINGS, max_examples=40, stateful_step_count=8),
    )
