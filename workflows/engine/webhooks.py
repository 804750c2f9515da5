"""The webhook client: where a POST may go, and a connection to exactly the address checked.

The host is resolved once; unless private targets are allowed every address must be globally
routable, and the connection goes to those addresses (the URL's host still names the `Host`
header and, for https, the SNI and certificate check), so a second DNS answer (rebinding) is
never used. Redirects are not followed: a 3xx fails the step for good.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx
from django.conf import settings

from workflows.engine.automation import ActionError, RetryableActionError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (the one lookup a delivery makes; tests replace it)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public(address: Address) -> bool:
    """Globally routable: not private, loopback, link-local, shared (100.64/10), reserved,
    documentation, unspecified or multicast; an IPv4 address carried in IPv6 (mapped, 6to4,
    NAT64) is judged as itself."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and not is_public(embedded):
            return False
    return address.is_global and not address.is_multicast and not address.is_reserved


def literal_address(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    addresses: tuple[str, ...]


def check_target(url: str) -> Target:
    """Resolve the URL's host once and check every address; the addresses to connect to."""
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        raise ActionError("The webhook URL must be http(s) with a host.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise ActionError(f"The webhook URL has a bad port: {exc}") from exc
    literal = literal_address(host)
    if literal is not None:
        found = [str(literal)]
    else:
        try:
            found = resolve(host, port)
        except (socket.gaierror, UnicodeError) as exc:
            raise RetryableActionError(f"Cannot resolve {host}: {exc}") from exc
        if not found:
            raise RetryableActionError(f"Cannot resolve {host}: no addresses.")
    addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in found]
    if not settings.WEBHOOK_ALLOW_PRIVATE:
        refused = [str(a) for a in addresses if not is_public(a)]
        if refused:
            raise ActionError(
                f"Refused: {host} resolves to a non-public address ({', '.join(refused)})."
            )
    return Target(host, port, tuple(str(a) for a in addresses))


class _PinnedBackend(httpcore.SyncBackend):
    """Connects to the checked addresses, whatever host the request names."""

    def __init__(self, addresses: Iterable[str]) -> None:
        self.addresses = tuple(addresses)

    def connect_tcp(  # type: ignore[override]  # the base's keywords come in **kwargs
        self, host: str, port: int, timeout: float | None = None, **kwargs: Any
    ) -> httpcore.NetworkStream:
        error: Exception | None = None
        for address in self.addresses:
            try:
                return super().connect_tcp(address, port, timeout, **kwargs)
            except httpcore.ConnectError as exc:  # the next address, as create_connection does
                error = exc
        raise error or httpcore.ConnectError("No address to connect to.")


class _PinnedTransport(httpx.HTTPTransport):
    def __init__(self, addresses: Iterable[str]) -> None:
        super().__init__(trust_env=False, retries=0)
        # httpx builds its pool without a way to pass a network backend: replace it.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            network_backend=_PinnedBackend(addresses),
            retries=0,
        )


def post(url: str, *, body: bytes, headers: dict[str, str], timeout_s: float) -> int:
    """POST `body` to `url`; the status code of a 2xx. Raises ActionError when the target is
    refused or answers 3xx or 4xx (but 429), RetryableActionError when it may pass."""
    target = check_target(url)
    client = httpx.Client(
        transport=_PinnedTransport(target.addresses),
        timeout=httpx.Timeout(timeout_s),
        follow_redirects=False,
        trust_env=False,
    )
    try:
        with client, client.stream("POST", url, content=body, headers=headers) as response:
            status = response.status_code  # the body is never read: it is not ours to hold
            location = response.headers.get("location", "")
    except httpx.InvalidURL as exc:
        raise ActionError(f"Bad webhook URL {url}: {exc}") from exc
    except httpx.HTTPError as exc:  # connect, timeout, protocol: may pass
        raise RetryableActionError(f"Cannot reach {url}: {exc or type(exc).__name__}") from exc
    if 300 <= status < 400:
        raise ActionError(
            f"HTTP {status} from {url}: redirects are not followed"
            + (f" (Location: {location[:200]})" if location else "")
            + "."
        )
    if status >= 500 or status == 429:
        raise RetryableActionError(f"HTTP {status} from {url}")
    if status >= 400:
        raise ActionError(f"HTTP {status} from {url}")
    return status
