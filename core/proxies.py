"""Which client is asking: forwarded headers count only when a configured proxy sent them.

`TRUSTED_PROXIES` (comma-separated addresses or CIDRs; empty trusts nobody) names the reverse
proxies in front of the app. A request whose `REMOTE_ADDR` is not one of them has every
`X-Forwarded-*` (and `Forwarded`, `X-Real-IP`) header removed before anything reads it, so
`SECURE_PROXY_SSL_HEADER`, throttles and the login lockout cannot be fooled by a client. From a
trusted proxy, the client is the right-most `X-Forwarded-For` address that is not itself a
trusted proxy: addresses a client wrote to the left of it are never believed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from rest_framework import throttling

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

FORWARDED_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PREFIX",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
)


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple[Network, ...]:
    networks = []
    for item in spec:
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"TRUSTED_PROXIES: '{item}' is not an IP address or CIDR network"
            ) from exc
    return tuple(networks)


def trusted_networks() -> tuple[Network, ...]:
    spec = getattr(settings, "TRUSTED_PROXIES", ())
    if isinstance(spec, str):
        spec = spec.split(",")
    return _networks(tuple(item.strip() for item in spec if item.strip()))


def _parse(address: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address((address or "").strip())
    except ValueError:
        return None


def is_trusted_proxy(address: str | None, networks: Iterable[Network] | None = None) -> bool:
    parsed = _parse(address)
    if parsed is None:
        return False
    return any(parsed in net for net in (trusted_networks() if networks is None else networks))


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or the nearest X-Forwarded-For hop the trusted proxies vouch for."""
    remote = request.META.get("REMOTE_ADDR")
    networks = trusted_networks()
    if not networks or not is_trusted_proxy(remote, networks):
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    client = remote
    for hop in reversed([h for h in hops if h]):
        if _parse(hop) is None:
            break  # garbage in the chain: stop at the last address we could vouch for
        client = hop
        if not is_trusted_proxy(hop, networks):
            break
    return client


class TrustedProxyMiddleware:
    """First in MIDDLEWARE: forwarded headers from anyone but a trusted proxy are dropped."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        trusted_networks()  # a malformed TRUSTED_PROXIES stops start-up, not a request

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_trusted_proxy(request.META.get("REMOTE_ADDR")):
            for header in FORWARDED_HEADERS:
                request.META.pop(header, None)
        return self.get_response(request)


class ClientIpMixin:
    """DRF throttles identify anonymous clients by `client_ip`, not by `NUM_PROXIES`."""

    def get_ident(self, request: HttpRequest) -> str | None:
        return client_ip(request)


class AnonRateThrottle(ClientIpMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(ClientIpMixin, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(ClientIpMixin, throttling.ScopedRateThrottle):
    pass
