"""Where a webhook may go: every resolved address globally routable, one resolution, the
connection made to the address checked, no redirect followed. No real DNS: the resolver the
client uses is replaced."""

import socket

import pytest

from workflows.engine import webhooks
from workflows.engine.automation import ActionError, RetryableActionError
from workflows.models import RunStatus, StepRun
from workflows.tests.test_automation import automated_workflow, run_to_completion
from workflows.tests.webhook_server import WebhookServer

pytestmark = pytest.mark.django_db

REFUSED = [
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",  # shared (carrier-grade NAT)
    "169.254.169.254",  # cloud metadata
    "0.0.0.0",
    "192.0.2.1",  # documentation
    "198.18.0.1",  # benchmarking
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "224.0.0.1",  # multicast
    "::1",
    "::",
    "fc00::1",
    "fe80::1",
    "ff02::1",
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "::ffff:10.0.0.1",
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2001:db8::1",  # documentation
]
ALLOWED = ["8.8.8.8", "2606:4700::1111", "93.184.216.34"]


@pytest.fixture
def no_private(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False


@pytest.fixture
def resolver(monkeypatch):
    """Answers for hook.example.test: the first list, then the next for each later lookup."""

    class Resolver:
        def __init__(self):
            self.answers: list[list[str]] = []
            self.calls: list[tuple[str, int]] = []

        def __call__(self, host, port):
            self.calls.append((host, port))
            return self.answers[min(len(self.calls), len(self.answers)) - 1]

    fake = Resolver()
    monkeypatch.setattr(webhooks, "resolve", fake)
    real = socket.getaddrinfo

    def numeric_only(host, *args, **kwargs):  # a lookup behind our back would fail loudly
        if webhooks.literal_address(str(host)) is None and host not in (None, "localhost"):
            raise AssertionError(f"unexpected DNS lookup of {host}")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", numeric_only)
    return fake


@pytest.mark.parametrize("address", REFUSED)
def test_guard_refuses_what_is_not_globally_routable(no_private, resolver, address):
    resolver.answers = [[address]]
    with pytest.raises(ActionError, match="non-public address"):
        webhooks.check_target("https://hook.example.test/x")
    assert resolver.calls == [("hook.example.test", 443)]


@pytest.mark.parametrize("address", REFUSED)
def test_guard_refuses_the_same_addresses_written_in_the_url(no_private, resolver, address):
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(ActionError, match="non-public address"):
        webhooks.check_target(f"http://{host}:8080/x")
    assert resolver.calls == []


@pytest.mark.parametrize("address", ALLOWED)
def test_guard_allows_public_addresses(no_private, resolver, address):
    resolver.answers = [[address]]
    target = webhooks.check_target("http://hook.example.test:8080/x")
    assert target.addresses == (address,)
    assert resolver.calls == [("hook.example.test", 8080)]


def test_one_private_address_among_public_ones_is_refused(no_private, resolver):
    resolver.answers = [["8.8.8.8", "10.0.0.1"]]
    with pytest.raises(ActionError, match=r"10\.0\.0\.1"):
        webhooks.check_target("http://hook.example.test/x")


def test_connection_goes_to_the_checked_address(no_private, resolver, monkeypatch):
    """DNS rebinding: the first answer is public, any later one loopback. The client resolves
    once and connects to the public address; the loopback answer is never asked for."""
    resolver.answers = [["93.184.216.34"], ["127.0.0.1"]]
    connected = []

    def create_connection(address, *args, **kwargs):
        connected.append(address)
        raise ConnectionRefusedError("test: no network")

    monkeypatch.setattr(socket, "create_connection", create_connection)
    with pytest.raises(RetryableActionError, match="Cannot reach"):
        webhooks.post("http://hook.example.test:8080/x", body=b"{}", headers={}, timeout_s=5)
    assert resolver.calls == [("hook.example.test", 8080)]
    assert connected == [("93.184.216.34", 8080)]


def test_pinned_connection_keeps_the_host_header(settings, resolver):
    """With private targets allowed the same path is taken: one lookup, the connection to its
    answer, the URL's host in `Host` (and, for https, in SNI and the certificate check)."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with WebhookServer([204]) as server:
        resolver.answers = [["127.0.0.1"], ["192.0.2.1"]]
        status = webhooks.post(
            f"http://hook.example.test:{server.port}/hook", body=b"{}", headers={}, timeout_s=5
        )
    assert status == 204
    assert resolver.calls == [("hook.example.test", server.port)]
    (request,) = server.requests
    assert request["headers"]["Host"] == f"hook.example.test:{server.port}"


def test_a_redirect_to_loopback_is_refused_up_front(
    tenant, no_private, django_capture_on_commit_callbacks
):
    """The issue's case: a target that answers 302 to a loopback URL. With private targets
    refused, the loopback target is refused before any request (signed or not) is sent."""
    with WebhookServer([200]) as inner, WebhookServer([302], location=inner.url) as outer:
        workflow = automated_workflow(tenant, "webhook", {"url": outer.url})
        run = run_to_completion(tenant, workflow, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.FAILED
    assert "non-public address (127.0.0.1)" in StepRun.objects.get(run=run).last_error
    assert outer.requests == []
    assert inner.requests == []


def test_a_redirect_is_never_followed(tenant, settings, django_capture_on_commit_callbacks):
    """Private targets allowed (as in `make run`): a 302 fails the step for good with a clear
    error; the redirect's target receives nothing, and there is no retry."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with WebhookServer([200]) as inner, WebhookServer([302], location=inner.url) as outer:
        workflow = automated_workflow(tenant, "webhook", {"url": outer.url, "max_attempts": 5})
        run = run_to_completion(tenant, workflow, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.FAILED
    step = StepRun.objects.get(run=run)
    assert step.last_error == (
        f"HTTP 302 from {outer.url}: redirects are not followed (Location: {inner.url})."
    )
    assert step.attempts == 1
    assert len(outer.requests) == 1
    assert inner.requests == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/x", "Only http and https"),
        ("http://", "Enter a valid URL"),
        ("http://127.0.0.1:8000/x", "Not a public address"),
        ("http://[::ffff:10.0.0.1]/x", "Not a public address"),
        ("http://example.com:99999/x", "port is not valid"),
    ],
)
def test_webhook_url_is_checked_when_the_step_is_defined(
    admin_client, tenant, no_private, url, message
):
    from tests.factories import WorkflowFactory

    workflow = WorkflowFactory(tenant=tenant)
    response = admin_client.post(
        f"/api/workflows/{workflow.pk}/steps/",
        {"name": "Hook", "order": 0, "action": "webhook", "config": {"url": url}},
        format="json",
    )
    assert response.status_code == 400, response.json()
    assert message in response.json()["config"]["url"][0]
