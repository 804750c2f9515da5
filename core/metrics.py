"""`/metrics` in Prometheus' text format, who may read it, and the request metrics.

Access (README "Metrics"): a bearer token (`WORKFLOWS_METRICS_TOKEN`, compared in constant time)
or a client address in `WORKFLOWS_METRICS_ALLOWED_IPS` (addresses or CIDRs; the client as
`core.proxies.client_ip` sees it, so `TRUSTED_PROXIES` applies). With neither set the endpoint
is a 404, except to a loopback client when `WORKFLOWS_METRICS_LOOPBACK` is on (local settings).

With `PROMETHEUS_MULTIPROC_DIR` set (before the process starts: prometheus-client reads it on
import), every process writes its samples there and a scrape sums the directory, so one
worker's answer covers all gunicorn workers and the Celery, relay and job processes beside it.
Collectors read at scrape time (`METRICS_COLLECTORS`, dotted paths) are added to either.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.module_loading import import_string
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from core.proxies import Network, client_ip

REQUESTS = Counter(
    "workflows_http_requests_total",
    "HTTP requests, by method, route (URL pattern, never the path) and status code",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "workflows_http_request_duration_seconds",
    "HTTP request latency, by method and route",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_of(request: HttpRequest) -> str:
    """The resolved URL pattern (`api/transfers/<int:pk>/`), its name for a regex pattern, or
    `unmatched`: never the raw path, so no ids or arbitrary strings become labels."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    route = match.route or ""
    if not route or route.startswith("^"):
        return match.view_name or "unnamed"
    return route


class MetricsMiddleware:
    """Counts every request and times it (after the trusted-proxy filter, before the rest)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        allowed_networks()  # a malformed allow-list stops start-up, not a scrape

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - start
        method = request.method if request.method in _METHODS else "other"
        route = route_of(request)
        REQUESTS.labels(method, route, str(response.status_code)).inc()
        LATENCY.labels(method, route).observe(elapsed)
        return response


# --- access ---------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _networks(spec: tuple[str, ...]) -> tuple[Network, ...]:
    networks = []
    for item in spec:
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"WORKFLOWS_METRICS_ALLOWED_IPS: '{item}' is not an IP address or CIDR network"
            ) from exc
    return tuple(networks)


def allowed_networks() -> tuple[Network, ...]:
    spec = getattr(settings, "WORKFLOWS_METRICS_ALLOWED_IPS", ())
    if isinstance(spec, str):
        spec = spec.split(",")
    return _networks(tuple(item.strip() for item in spec if item.strip()))


def _address(request: HttpRequest) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address((client_ip(request) or "").strip())
    except ValueError:
        return None


def access(request: HttpRequest) -> int:
    """200 if the request may read the metrics, else the status to answer (403 or 404)."""
    token = getattr(settings, "WORKFLOWS_METRICS_TOKEN", "") or ""
    networks = allowed_networks()
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            return 200
    address = _address(request)
    if networks and address is not None and any(address in net for net in networks):
        return 200
    if token or networks:
        return 403
    loopback = getattr(settings, "WORKFLOWS_METRICS_LOOPBACK", False)
    if loopback and address is not None and address.is_loopback:
        return 200
    return 404  # not configured: as if there were no such endpoint


# --- exposition -----------------------------------------------------------------------------


class _Scrape:
    """What one scrape reads: the process's (or the multiprocess directory's) samples, then the
    collectors computed now."""

    def __init__(self, sources: list[Any]) -> None:
        self.sources = sources

    def collect(self) -> Iterator[Any]:
        for source in self.sources:
            yield from source.collect()


def scrape_collectors() -> list[Any]:
    return [import_string(path)() for path in getattr(settings, "METRICS_COLLECTORS", ())]


def exposition() -> bytes:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    base: Any = MultiProcessCollector(None, directory) if directory else REGISTRY
    return generate_latest(_Scrape([base, *scrape_collectors()]))  # type: ignore[arg-type]


def metrics_view(request: HttpRequest) -> HttpResponse:
    status = access(request)
    if status == 404:
        return JsonResponse({"detail": "Not found."}, status=404)
    if status != 200:
        return JsonResponse({"detail": "Not allowed to read the metrics."}, status=status)
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
