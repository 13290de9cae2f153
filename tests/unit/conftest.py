"""Fixtures for unit tests."""

from __future__ import annotations

import socket
from typing import Any

import pytest


class NetworkUsed(BaseException):
    """A BaseException, so that no ``except Exception`` in the code under test can swallow it."""


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """A unit test that tries to open a connection fails loudly instead of reaching anything."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise NetworkUsed(f"unit tests must not open sockets: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
