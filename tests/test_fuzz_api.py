"""Fuzzing the whole API with schemathesis, in-process, against PostgreSQL.

The OpenAPI schema is loaded live from `/api/schema/` through the WSGI application, every
operation in it is tested with generated requests (valid and invalid ones), each sent with a
real JWT of the demo tenant's ADMIN while the demo data (`demo.data.seed_demo`, plus a transfer)
exists; half of the generators put the ids of those objects in the path. Every response must be no
server error and must match the schema: status code documented, content type, body shape.
A stateful run then follows the links schemathesis infers between operations.

The figures (operations, examples, failures) are printed at the end of the pytest run by
`tests/conftest.py`, so they appear in the CI log.
"""

from __future__ import annotations

import re
import traceback
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from django.db import transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Ok
from schemathesis.generation.stateful import run_state_machine_as_test
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from demo.data import APPROVER_EMAILS, seed_demo
from tests.fuzz_stats import FUZZ_STATS

MAX_EXAMPLES = 30  # per operation; valid and invalid requests together
STATEFUL_EXAMPLES = 15
STATEFUL_STEPS = 10
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
RESULTS = list(schema.get_all_operations())
OPERATIONS = {result.ok().label: result.ok() for result in RESULTS if isinstance(result, Ok)}
SCHEMA_ERRORS = [str(result.err()) for result in RESULTS if not isinstance(result, Ok)]


def fuzz_settings(max_examples: int, **kwargs: Any) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
        **kwargs,
    )


@dataclass
class Seeded:
    headers: dict[str, str]
    ids: dict[str, int] = field(default_factory=dict)


@pytest.fixture
def seeded(db: Any) -> Seeded:
    """The demo tenant, a transfer in its approval chain, and the ADMIN's bearer token."""
    from rest_framework_simplejwt.tokens import RefreshToken

    from approvals.models import WorkflowAssignment
    from approvals.services import transfers as transfer_services
    from workflows.models import HumanTask, Step, WorkflowRun

    with transaction.atomic():
        demo = seed_demo()
    tenant = demo["tenant"]
    admin = demo["users"][0]
    intake, far, _review = demo["workflows"]
    finance = demo["security_groups"][0]
    approver = next(user for user in demo["users"] if user.email == APPROVER_EMAILS[0])
    agent = next(user for user in demo["users"] if user.role == "AGENT")
    transfer = transfer_services.transfer_create(
        tenant=tenant,
        security_group_id=finance.pk,
        transfer_type="FAR",
        reference="FUZZ-1",
        amount="125.00",
        currency="USD",
        description="Seeded for the fuzzer",
        payload={"note": "seed"},
        actor=admin,
    )
    token = str(RefreshToken.for_user(admin).access_token)
    return Seeded(
        headers={"Authorization": f"Bearer {token}"},
        ids={
            "tenants/{tenant_id}": tenant.pk,
            "tenants/{id}": tenant.pk,
            "users/{id}": agent.pk,
            "workflows/{id}": far.pk,
            "workflows/{workflow_id}": intake.pk,
            "steps/{id}": Step.objects.filter(workflow=intake).order_by("order").first().pk,
            "security-groups/{id}": finance.pk,
            "security-groups/{group_id}": finance.pk,
            "members/{user_id}": approver.pk,
            "workflow-assignments/{id}": WorkflowAssignment.objects.filter(tenant=tenant)
            .order_by("execution_order")
            .first()
            .pk,
            "transfers/{id}": transfer.pk,
            "cases/{id}": demo["cases"][0].pk,
            "runs/{id}": WorkflowRun.objects.filter(tenant=tenant).order_by("id").first().pk,
            "tasks/{id}": HumanTask.objects.filter(tenant=tenant).order_by("id").first().pk,
        },
    )


def known_path_parameters(path: str, ids: dict[str, int]) -> dict[str, int]:
    """Path parameters of `path` that name seeded objects, keyed by the segment before them."""
    known = {}
    for segment, name in re.findall(r"([\w-]+)/\{(\w+)\}", path):
        value = ids.get(f"{segment}/{{{name}}}")
        if value is not None:
            known[name] = value
    return known


def case_strategy(operation: Any, ids: dict[str, int]) -> st.SearchStrategy[Any]:
    """Valid and invalid requests, with random ids and (for half of them) seeded ones."""
    path_parameters = known_path_parameters(operation.path, ids)
    strategies = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        strategies.append(operation.as_strategy(generation_mode=mode))
        if path_parameters:
            strategies.append(
                operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)
            )
    return st.one_of(strategies)


def describe_failures(label: str, failures: dict[str, str]) -> str:
    return f"{label}: {len(failures)} distinct failure(s)\n\n" + "\n\n".join(failures.values())


def check_response(case: Any, response: Any, headers: dict[str, str], found: dict[str, str]):
    """Runs the checks; records each distinct failure (title + status) with one reproduction."""
    try:
        case.validate_response(response, checks=CHECKS, headers=headers)
    except (FailureGroup, Failure) as exc:
        for failure in exc.exceptions if isinstance(exc, FailureGroup) else [exc]:
            key = f"{case.operation.label} | {failure.title} | {response.status_code}"
            if key not in found:
                body = response.text[:600] if hasattr(response, "text") else ""
                found[key] = (
                    f"[{key}]\n{failure.message[:1500]}\nresponse: {body}\n"
                    f"reproduce: {case.as_curl_command(headers={'Authorization': 'Bearer ...'})}"
                )


def test_schema_lists_every_operation():
    """The schema loaded and every operation in it could be parsed (nothing skipped)."""
    assert SCHEMA_ERRORS == []
    assert len(OPERATIONS) >= 60, sorted(OPERATIONS)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_operation(label: str, seeded: Seeded) -> None:
    operation = OPERATIONS[label]
    found: dict[str, str] = {}
    statuses: Counter[int] = Counter()

    @fuzz_settings(MAX_EXAMPLES)
    @given(case=case_strategy(operation, seeded.ids))
    def fuzz(case: Any) -> None:
        response = case.call(headers=seeded.headers)
        statuses[response.status_code] += 1
        check_response(case, response, seeded.headers, found)

    fuzz()
    FUZZ_STATS.record(label, examples=sum(statuses.values()), statuses=statuses, failures=found)
    assert not found, describe_failures(label, found)


@pytest.mark.django_db(transaction=True)
def test_stateful_links(seeded: Seeded) -> None:
    """Sequences of calls along the links schemathesis infers (a created id used next)."""
    found: dict[str, str] = {}
    statuses: Counter[int] = Counter()
    base = schema.as_state_machine()
    links = schema.statistic.transitions.total
    assert links > 0, "no links between operations: stateful testing would do nothing"

    class Machine(base):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": seeded.headers}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            statuses[response.status_code] += 1
            check_response(case, response, seeded.headers, found)

        def call(self, case: Any, **kwargs: Any) -> Any:
            try:
                return super().call(case, **kwargs)
            except Exception as exc:
                # The app raised (a 500 in the test client): keep what and where, since
                # hypothesis' replay of a stateful run may end in FlakyStrategyDefinition
                # and hide it.
                key = f"{case.operation.label} | raised {type(exc).__name__}"
                found.setdefault(
                    key,
                    f"[{key}]\n{''.join(traceback.format_exception(exc))[-3000:]}\n"
                    f"reproduce: {case.as_curl_command(headers={'Authorization': 'Bearer ...'})}",
                )
                raise

    try:
        run_state_machine_as_test(
            Machine, settings=fuzz_settings(STATEFUL_EXAMPLES, stateful_step_count=STATEFUL_STEPS)
        )
    except FlakyStrategyDefinition:
        # Links carry ids the server assigned, and the database is not reset between examples:
        # a prefix hypothesis replays can meet other ids and draw differently. That ends the
        # run without any failure of the app's; one would be in `found` (asserted below), and
        # the calls made so far must be a real run.
        if found:
            pytest.fail(describe_failures("stateful", found))
        assert sum(statuses.values()) >= 50, statuses
    except Exception:
        if found:  # the first failure, not the replay's complaint
            pytest.fail(describe_failures("stateful", found))
        raise
    FUZZ_STATS.record(
        f"stateful ({links} links)",
        examples=sum(statuses.values()),
        statuses=statuses,
        failures=found,
    )
    assert not found, describe_failures("stateful", found)
