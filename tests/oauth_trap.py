"""A stranger's token endpoint on 127.0.0.1: it records every request it gets.

Tests point a sender's token or authorization URL at it to prove the portal sends
it nothing (no stored secret leaves for a new destination), or make it answer with a
redirect to the real local provider to prove the portal does not follow one.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class Trap:
    """What the endpoint received; ``redirect`` = (status, location) to answer with."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.redirect: tuple[int, str] | None = None
        self._http: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/stranger/token"

    @property
    def port(self) -> int:
        return self._http.server_address[1]

    def start(self) -> Trap:
        trap = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet test output
                pass

            def do_GET(self) -> None:  # noqa: N802
                self._answer({})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                self._answer({k: v[0] for k, v in parse_qs(
                    self.rfile.read(length).decode()).items()})

            def _answer(self, form: dict) -> None:
                trap.requests.append({"method": self.command, "path": self.path, **form})
                status, location = trap.redirect or (200, None)
                body = b"" if location else json.dumps(
                    {"token_type": "Bearer", "access_token": "stranger", "expires_in": 60,
                     "refresh_token": "stranger-rt"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if location:
                    self.send_header("Location", location)
                self.end_headers()
                self.wfile.write(body)

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()


def running_trap():
    """For a fixture: a started ``Trap``, stopped after the test."""
    server = Trap().start()
    yield server
    server.stop()
