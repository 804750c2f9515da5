"""The built console served from the API's origin: its files, the history fallback, the 503
page without a build, and the API's own paths left alone.

Each test builds a console directory of its own (`CONSOLE_DIR` overridden) and a new Client,
whose middleware (WhiteNoise indexing the files) is made at its first request.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

INDEX = (
    '<!doctype html><html><head><script type="module" crossorigin '
    'src="/assets/index-B1a2C3d4.js"></script></head><body><div id="root"></div></body></html>'
)
SCRIPT = "console.log('console');\n"


@pytest.fixture
def console(settings, tmp_path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "index-B1a2C3d4.js").write_text(SCRIPT)
    (root / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    settings.CONSOLE_DIR = root
    return root


@pytest.fixture
def no_console(settings, tmp_path) -> Path:
    settings.CONSOLE_DIR = tmp_path / "not-built"
    return settings.CONSOLE_DIR


def body(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def csp(response) -> dict[str, str]:
    directives = (d.strip().split(" ", 1) for d in response["Content-Security-Policy"].split(";"))
    return {d[0]: d[1] if len(d) > 1 else "" for d in directives}


def assert_console_html(response) -> None:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert body(response) == INDEX
    assert response["Cache-Control"] == "no-cache"
    policy = csp(response)
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"  # no inline scripts
    assert policy["img-src"] == "'self' data:"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"


@pytest.mark.parametrize(
    "path", ["/", "/transfers/12?x=1", "/transfers/12/", "/approvals/groups/3/edit", "/login"]
)
def test_console_paths_answer_index_html(console, path):
    assert_console_html(Client().get(path))


def test_index_html_itself_is_never_cached_and_has_the_csp(console):
    assert_console_html(Client().get("/index.html"))


def test_a_hashed_asset_is_served_with_immutable_caching(console):
    response = Client().get("/assets/index-B1a2C3d4.js")

    assert response.status_code == 200
    assert body(response) == SCRIPT
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Cache-Control"] == "max-age=315360000, public, immutable"
    assert "Access-Control-Allow-Origin" not in response


def test_an_unhashed_root_file_is_served_with_a_short_cache(console):
    response = Client().get("/favicon.svg")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    assert "immutable" not in response["Cache-Control"]


def test_a_missing_asset_is_a_404_not_the_index(console):
    response = Client().get("/assets/index-gone1234.js")

    assert response.status_code == 404
    assert "<html" not in body(response)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/nope/", {"detail": "Not found."}),
        ("/api/nope", {"detail": "Not found."}),
        ("/api/approvals/nope/", {"success": False, "errors": {"detail": "Not found."}}),
        ("/static/nope.css", {"detail": "Not found."}),
    ],
)
def test_api_and_static_paths_keep_the_json_404(console, path, expected):
    response = Client().get(path)

    assert response.status_code == 404
    assert response.json() == expected


@pytest.mark.parametrize("build", ["console", "no_console"])
def test_probes_docs_and_the_api_are_unchanged(request, build):
    request.getfixturevalue(build)
    client = Client()

    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ok", "database": "ok"}
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert "swagger" in docs.content.decode().lower()
    assert "Content-Security-Policy" not in docs
    me = client.get("/api/auth/me/")
    assert me.status_code == 401
    assert me.json() == {"detail": "Authentication credentials were not provided."}


def test_without_a_build_console_paths_answer_503_saying_how_to_build(no_console):
    for path in ("/", "/transfers/12"):
        response = Client().get(path)

        assert response.status_code == 503
        assert response["Content-Type"].startswith("text/html")
        assert "not built" in response.content.decode()
        assert "make run" in response.content.decode()
        assert "Node 20" in response.content.decode()
        assert response["Cache-Control"] == "no-cache"
        assert "Content-Security-Policy" in response
    assert Client().get("/assets/index-B1a2C3d4.js").status_code == 404
    assert Client().get("/api/nope/").json() == {"detail": "Not found."}


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("path", ["/", "/transfers/12", "/index.html", "/assets/index-B1a2C3d4.js"])
def test_other_methods_on_console_paths_are_405(console, method, path):
    response = getattr(Client(enforce_csrf_checks=True), method)(path)

    assert response.status_code == 405


def test_head_of_a_console_path_is_allowed(console):
    response = Client().head("/transfers/12")

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-cache"
