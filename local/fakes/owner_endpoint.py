"""A business's own webhook endpoint, on 127.0.0.1: it keeps every request it receives (headers, body,
when) and answers the statuses it is told to, in order, then 200. The tests and the demo point an
owner's ``webhookUrl`` at it (the local stack allows loopback targets) and verify what arrived with
the Standard Webhooks library, as a business would."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from local.background import BackgroundServer

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # names lower-cased
    body: str
    status: int  # what the endpoint answered
    at: float  # time.monotonic()


class OwnerEndpoint(BackgroundServer):
    def __init__(self, port: int = 0) -> None:
        super().__init__()
        self.port = port
        self._lock = threading.Lock()
        self._answers: deque[int] = deque()
        self._received: list[Received] = []
        self._arrived = threading.Condition(self._lock)

    @property
    def url(self) -> str:
        """The URL to save as an owner's ``webhookUrl``."""
        return f"http://{LOOPBACK}:{self.port}/hooks/calls"

    def answer(self, *statuses: int) -> None:
        """The next requests are answered these statuses, in order; 200 after them."""
        with self._lock:
            self._answers.extend(statuses)

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def wait_for(self, count: int, timeout: float) -> list[Received]:
        """The requests received once there are ``count`` of them (or ``timeout`` passed)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self._received) < count and (left := deadline - time.monotonic()) > 0:
                self._arrived.wait(left)
            return list(self._received)

    def reset(self) -> None:
        with self._lock:
            self._answers.clear()
            self._received.clear()

    def _make_server(self) -> ThreadingHTTPServer:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                with endpoint._arrived:
                    status = endpoint._answers.popleft() if endpoint._answers else 200
                    endpoint._received.append(
                        Received(
                            path=self.path,
                            headers={name.lower(): value for name, value in self.headers.items()},
                            body=body,
                            status=status,
                            at=time.monotonic(),
                        )
                    )
                    endpoint._arrived.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        server = ThreadingHTTPServer((LOOPBACK, self.port), Handler)
        server.daemon_threads = True
        self.port = int(server.server_address[1])
        return server
