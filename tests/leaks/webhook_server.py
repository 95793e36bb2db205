"""A real HTTP server that receives a team's webhook POSTs, for the tests to read."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HELD = "/held/"
"""POSTs to paths under this are answered only once `release` is set."""


class WebhookReceiver:
    """Answers every POST 204 and keeps its JSON body; `url` takes a path per test."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any], str]] = []
        """(path, JSON body, raw body) of each POST, in arrival order."""
        self.release = threading.Event()
        self.answered: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", "0"))).decode()
                receiver.received.append((self.path, json.loads(raw), raw))
                if self.path.startswith(HELD):
                    receiver.release.wait(10)
                self.send_response(204)
                self.end_headers()
                receiver.answered.append(self.path)

            def log_message(self, *args: object) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def wait_for(self, path: str, timeout: float = 10.0) -> list[tuple[dict[str, Any], str]]:
        """The POSTs to `path`, once there is at least one (AssertionError after `timeout`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [(body, raw) for where, body, raw in self.received if where == path]
            if found:
                return found
            time.sleep(0.02)
        raise AssertionError(f"no webhook POST to {path} within {timeout} s")

    def close(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
