"""The HTTP request and response as the local API's server reads and writes them."""

from __future__ import annotations

from dataclasses import dataclass

Headers = list[tuple[str, str]]


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str  # path and query as received
    headers: Headers  # as received
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Headers
    body: bytes = b""
