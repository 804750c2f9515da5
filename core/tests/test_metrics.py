"""`/metrics`: who may read it, and the request metrics labelled by route, never by path."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

pytestmark = pytest.mark.django_db

URL = "/metrics"


@pytest.fixture
def closed(settings):
    settings.WORKFLOWS_METRICS_TOKEN = ""
    settings.WORKFLOWS_METRICS_ALLOWED_IPS = []
    settings.WORKFLOWS_METRICS_LOOPBACK = False
    settings.TRUSTED_PROXIES = []
    return settings


def test_not_configured_is_a_404_even_from_loopback(client, closed):
    response = client.get(URL, REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 404
    assert b"workflows_" not in response.content


def test_local_settings_open_it_to_loopback_only(client, closed):
    closed.WORKFLOWS_METRICS_LOOPBACK = True
    assert client.get(URL, REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get(URL, REMOTE_ADDR="::1").status_code == 200
    assert client.get(URL, REMOTE_ADDR="10.1.2.3").status_code == 404


def test_an_allowed_address_or_network_reads_the_metrics(client, closed):
    closed.WORKFLOWS_METRICS_ALLOWED_IPS = ["10.0.0.7", "192.168.5.0/24"]
    for address in ("10.0.0.7", "192.168.5.200"):
        response = client.get(URL, REMOTE_ADDR=address)
        assert response.status_code == 200, address
        assert response["Content-Type"].startswith("text/plain")
        assert b"workflows_http_requests_total" in response.content
    refused = client.get(URL, REMOTE_ADDR="10.0.0.8")
    assert refused.status_code == 403
    assert b"workflows_" not in refused.content


def test_the_client_address_is_the_one_trusted_proxies_vouch_for(client, closed):
    closed.WORKFLOWS_METRICS_ALLOWED_IPS = ["10.0.0.7"]
    # A client cannot claim an allowed address in a header of its own...
    forged = client.get(URL, REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="10.0.0.7")
    assert forged.status_code == 403
    # ...nor does the proxy's own address stand for the client behind it.
    closed.TRUSTED_PROXIES = ["172.16.0.1"]
    closed.WORKFLOWS_METRICS_ALLOWED_IPS = ["10.0.0.7", "172.16.0.1"]
    behind = client.get(URL, REMOTE_ADDR="172.16.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert behind.status_code == 403
    relayed = client.get(URL, REMOTE_ADDR="172.16.0.1", HTTP_X_FORWARDED_FOR="10.0.0.7")
    assert relayed.status_code == 200


def test_the_bearer_token_reads_the_metrics_from_anywhere(client, closed):
    closed.WORKFLOWS_METRICS_TOKEN = "s3cret-metrics-token"
    ok = client.get(
        URL, REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token"
    )
    assert ok.status_code == 200
    for header in ("Bearer wrong", "Bearer ", "Basic s3cret-metrics-token", ""):
        refused = client.get(URL, REMOTE_ADDR="127.0.0.1", HTTP_AUTHORIZATION=header)
        assert refused.status_code == 403, header
        assert b"workflows_" not in refused.content


def test_a_malformed_allow_list_stops_the_scrape_with_the_setting_named(client, closed):
    from django.core.exceptions import ImproperlyConfigured

    closed.WORKFLOWS_METRICS_ALLOWED_IPS = ["10.0.0.300"]
    with pytest.raises(ImproperlyConfigured, match="WORKFLOWS_METRICS_ALLOWED_IPS"):
        client.get(URL, REMOTE_ADDR="10.0.0.1")


def _requests(route: str, status: str, method: str = "GET") -> float:
    labels = {"method": method, "route": route, "status": status}
    return REGISTRY.get_sample_value("workflows_http_requests_total", labels) or 0.0


def test_a_request_counts_under_its_route_not_its_path(client, closed):
    route = "api/approvals/transfers/<int:pk>/"
    before = _requests(route, "401")
    response = client.get("/api/approvals/transfers/987654/")
    assert response.status_code == 401
    assert _requests(route, "401") == before + 1
    closed.WORKFLOWS_METRICS_TOKEN = "t"
    text = client.get(URL, HTTP_AUTHORIZATION="Bearer t").content.decode()
    assert f'route="{route}"' in text
    assert "987654" not in text
    assert 'workflows_http_request_duration_seconds_count{method="GET",route="' + route in text


def test_paths_no_pattern_matches_share_one_label(client, closed):
    before = _requests("unmatched", "404")
    assert client.get("/api/no-such-thing/12345/").status_code == 404
    assert _requests("unmatched", "404") == before + 1
