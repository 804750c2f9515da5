"""Serving the built web console (`CONSOLE_DIR`, a Vite build) from the API's own origin.

Its files are served at the site root by WhiteNoise (`ConsoleFilesMiddleware`); Vite names the
files under `assets/` by their content hash, so those are cached for a year. Every other GET
outside `/api/`, `/static/`, `/assets/`, `/healthz` and `/readyz` answers the console's
`index.html` (`console_index`, routed last in `config.urls`), so deep links such as
`/transfers/12` load the console, whose router takes over. HTML is never cached and carries
`CONSOLE_CSP`. Without a build the console paths answer 503 with a page saying how to build.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from whitenoise.middleware import WhiteNoiseMiddleware

# A Vite build loads scripts and styles from its own files only; React sets inline `style`
# attributes, hence 'unsafe-inline' for styles (never for scripts).
CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# Paths the console never answers: the API, Django's static files, the probes, and missing
# build files (a stale hashed chunk must be a 404, not the HTML of index.html).
NOT_CONSOLE = r"^(?!(?:api|static|assets)(?:/|$)|(?:healthz|readyz)/?$)"
NOT_BUILT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Workflows console not built</title></head>
<body><h1>The Workflows console is not built</h1>
<p>Run <code>make run</code>, which builds it (needs Node 20+ and npm); or build
<code>frontend/</code> (<code>npm run build</code>) into the console directory
(<code>WORKFLOWS_CONSOLE_DIR</code>). The API answers meanwhile:
<a href="/api/docs/">/api/docs/</a>.</p>
</body></html>
"""


def console_dir() -> Path:
    return Path(settings.CONSOLE_DIR)


def html_headers(response: Any) -> None:
    """What every console HTML answer carries: revalidated on each load, and the CSP."""
    response["Cache-Control"] = "no-cache"
    response["Content-Security-Policy"] = CONSOLE_CSP


class ConsoleFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise over `CONSOLE_DIR` (and `STATIC_ROOT`); a missing directory is no warning."""

    def __init__(self, get_response: Any = None, settings: Any = settings) -> None:
        super().__init__(get_response, settings)
        self.add_files(str(console_dir()))

    def add_files(self, root: str, prefix: str | None = None) -> None:
        # Without autorefresh WhiteNoise indexes the files once and warns about a missing
        # directory; a console or static root that is not built yet is normal here.
        if self.autorefresh or os.path.isdir(root):
            super().add_files(root, prefix)

    def immutable_file_test(self, path: str, url: str) -> bool:
        return url.startswith("/assets/") or super().immutable_file_test(path, url)

    def add_cache_headers(self, headers: Any, path: str, url: str) -> None:
        if path.endswith(".html"):
            html_headers(headers)
        else:
            super().add_cache_headers(headers, path, url)


@csrf_exempt  # it changes nothing: any other method is a 405, never a CSRF page
@require_safe
def console_index(request: HttpRequest) -> HttpResponse:
    """The console's index.html for any console path (history fallback)."""
    index = console_dir() / "index.html"
    try:
        body = index.read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        response = HttpResponse(NOT_BUILT_PAGE, status=503, content_type="text/html; charset=utf-8")
    else:
        response = HttpResponse(body, content_type="text/html; charset=utf-8")
    html_headers(response)
    return response
