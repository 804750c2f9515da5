"""X-Forwarded-* count only when a configured proxy (TRUSTED_PROXIES) sent the request."""

from __future__ import annotations

import itertools
import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import Role
from core.proxies import TrustedProxyMiddleware, client_ip
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
TOKEN = "/api/auth/token/"
PROXY = "10.9.0.2"
_n = itertools.count(1)


@pytest.fixture
def trusted(settings):
    settings.TRUSTED_PROXIES = ["10.9.0.0/24", "2001:db8:9::/48"]
    return settings


@pytest.fixture
def lockout_limits(settings):
    settings.LOGIN_LOCKOUT_FAILURES = 3
    settings.LOGIN_LOCKOUT_IP_FAILURES = 4
    settings.LOGIN_LOCKOUT_WINDOW_SECONDS = 900
    settings.LOGIN_LOCKOUT_COOLOFF_SECONDS = 600


def fresh_ip() -> str:
    """An address no other test used: cache counters outlive a test's transaction."""
    n = next(_n) + (uuid.uuid4().int % 50_000) * 100
    return f"172.{16 + (n >> 16) % 16}.{(n >> 8) % 256}.{n % 256}"


def fresh_email() -> str:
    return f"nobody-{uuid.uuid4().hex[:12]}@example.test"


def wrong_login(remote: str, forwarded: str | None = None) -> int:
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    return (
        APIClient(REMOTE_ADDR=remote)
        .post(
            TOKEN, {"email": fresh_email(), "password": "Wrong-Pass-2026!"}, format="json", **extra
        )
        .status_code
    )


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("203.0.113.5", None, "203.0.113.5"),
        ("203.0.113.5", "198.51.100.7", "203.0.113.5"),  # not a proxy: header ignored
        (PROXY, None, PROXY),
        (PROXY, "198.51.100.7", "198.51.100.7"),
        (PROXY, "1.2.3.4, 198.51.100.7", "198.51.100.7"),  # the client's own entry is not believed
        (PROXY, "198.51.100.7, 10.9.0.3", "198.51.100.7"),  # two trusted hops
        (PROXY, "garbage, 198.51.100.7", "198.51.100.7"),
        (PROXY, "198.51.100.7, garbage", PROXY),
        ("2001:db8:9::1", "2001:db8:1::5", "2001:db8:1::5"),
    ],
)
def test_client_ip_believes_forwarded_for_only_from_trusted_proxies(
    trusted, remote, forwarded, expected
):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    request = RequestFactory().get("/", REMOTE_ADDR=remote, **extra)
    assert client_ip(request) == expected


def test_without_trusted_proxies_no_forwarded_header_counts(settings):
    settings.TRUSTED_PROXIES = []
    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_ip(request) == "127.0.0.1"


def test_a_malformed_trusted_proxies_setting_stops_start_up(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "proxy.example"]
    with pytest.raises(ImproperlyConfigured, match="proxy.example"):
        TrustedProxyMiddleware(lambda request: None)


def test_forwarded_proto_from_an_untrusted_address_is_stripped(trusted):
    trusted.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    seen = {}

    def view(request):
        seen["secure"] = request.is_secure()
        seen["headers"] = {k for k in request.META if k.startswith("HTTP_X_FORWARDED")}
        return None

    middleware = TrustedProxyMiddleware(view)
    forged = RequestFactory().get(
        "/",
        REMOTE_ADDR="203.0.113.5",
        HTTP_X_FORWARDED_PROTO="https",
        HTTP_X_FORWARDED_FOR="1.2.3.4",
        HTTP_X_FORWARDED_HOST="evil.example",
    )
    middleware(forged)
    assert seen == {"secure": False, "headers": set()}

    proxied = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_PROTO="https")
    middleware(proxied)
    assert seen == {"secure": True, "headers": {"HTTP_X_FORWARDED_PROTO"}}


def test_forged_forwarded_for_does_not_escape_the_address_lockout(lockout_limits, make_user):
    """From an untrusted address, a fresh X-Forwarded-For per guess changes nothing."""
    user = make_user(Role.AGENT)
    attacker = fresh_ip()
    statuses = [wrong_login(attacker, f"198.51.100.{n}") for n in range(5)]
    assert statuses == [401, 401, 401, 401, 429]
    right = APIClient(REMOTE_ADDR=attacker).post(
        TOKEN,
        {"email": user.email, "password": PASSWORD},
        format="json",
        HTTP_X_FORWARDED_FOR="198.51.100.250",
    )
    assert right.status_code == 429


def test_lockout_counts_each_client_behind_a_trusted_proxy(trusted, lockout_limits, make_user):
    user = make_user(Role.AGENT)
    guesser, bystander = fresh_ip(), fresh_ip()
    statuses = [wrong_login(PROXY, guesser) for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 429]
    # Another client through the same proxy is not locked out with the guesser.
    ok = APIClient(REMOTE_ADDR=PROXY).post(
        TOKEN,
        {"email": user.email, "password": PASSWORD},
        format="json",
        HTTP_X_FORWARDED_FOR=bystander,
    )
    assert ok.status_code == 200


@pytest.fixture
def anon_rate(monkeypatch):
    base = {"anon": "2/minute", "user": "1000/minute", "login": "1000/minute"}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", base)


def test_throttle_ignores_forwarded_for_from_an_untrusted_address(anon_rate):
    client = APIClient(REMOTE_ADDR=fresh_ip())
    statuses = [
        client.post(TOKEN, {}, format="json", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code
        for n in range(3)
    ]
    assert statuses == [400, 400, 429]


def test_throttle_counts_each_client_behind_a_trusted_proxy(trusted, anon_rate):
    client = APIClient(REMOTE_ADDR=PROXY)
    first, second = fresh_ip(), fresh_ip()
    assert [
        client.post(TOKEN, {}, format="json", HTTP_X_FORWARDED_FOR=ip).status_code
        for ip in (first, first, second, second)
    ] == [400, 400, 400, 400]
    assert client.post(TOKEN, {}, format="json", HTTP_X_FORWARDED_FOR=first).status_code == 429
