"""A local HTTP server for webhook tests: scripted status codes, every request recorded."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class WebhookServer:
    def __init__(
        self,
        statuses: list[int] | None = None,
        delay_s: float = 0.0,
        location: str | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.statuses = list(statuses or [200])
        self.delay_s = delay_s
        self.location = location  # sent as `Location` (a redirect's target)
        self.started = threading.Event()  # set when the first request arrives
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                server.started.set()
                if server.delay_s:
                    time.sleep(server.delay_s)
                length = int(self.headers.get("Content-Length", 0))
                server.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": self.rfile.read(length),
                    }
                )
                status = server.statuses.pop(0) if len(server.statuses) > 1 else server.statuses[0]
                self.send_response(status)
                if server.location:
                    self.send_header("Location", server.location)
                self.end_headers()
                self.wfile.write(b"{}")

            do_GET = do_PUT = do_POST  # noqa: N815  (a followed redirect may change the method)

            def log_message(self, *args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://{host}:{self.port}/hook"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> WebhookServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
