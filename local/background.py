"""An HTTP server of the local stack served from a daemon thread: the local API, the fake providers
and a business's webhook endpoint all start, stop and nest in ``with`` the same way."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from socketserver import BaseServer
from types import TracebackType
from typing import Self, cast


class BackgroundServer(ABC):
    """Subclasses make the server (``_make_server``); this serves it from a thread until ``stop``."""

    # Seconds serve_forever waits between checks for shutdown: stop() waits up to one of them.
    poll_interval = 0.5

    def __init__(self) -> None:
        self._server: BaseServer | None = None
        self._thread: threading.Thread | None = None

    @abstractmethod
    def _make_server(self) -> BaseServer:
        """A bound server, not yet serving."""

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def bound_port(self) -> int:
        """The port it listens on (the one the system chose when asked for port 0)."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not running; call start() first")
        host_and_port = cast(tuple[str, int], self._server.server_address)
        return int(host_and_port[1])

    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError(f"{type(self).__name__} is already running")
        server = self._make_server()
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": self.poll_interval},
            name=f"{type(self).__name__}-{self.bound_port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self if self.running else self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
