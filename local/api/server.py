"""LocalHttpApi: template.yaml's HTTP API served on 127.0.0.1 from a background thread. Each request is
routed, authorized (token NOT verified; the route's scopes required), turned into a payload v2 event,
handed to the function's ``lambda_handler`` (one warm instance per function) and its answer written
back as API Gateway would; unrouted GETs fall through to the built dashboard."""

from __future__ import annotations

import ipaddress
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self, TextIO

from local.api.cors import is_preflight, preflight, with_cors
from local.api.dashboard import dashboard_file
from local.api.events import LOOPBACK, build_event, joined
from local.api.messages import HttpRequest, HttpResponse
from local.api.responses import (
    INTERNAL_SERVER_ERROR,
    NOT_FOUND,
    MalformedResponse,
    json_response,
    proxy_response,
)
from local.api.routing import RouteTable
from local.api.tokens import NOT_VERIFIED_WARNING, authorize
from local.background import BackgroundServer
from local.invoke import LambdaContext, handler_module
from local.template import TEMPLATE, HttpRoute


class _ApiServer(ThreadingHTTPServer):
    # The standard library's listen backlog is 5: a burst of concurrent calls (the scale benchmark's
    # 50 webhooks at once) would be refused at connect, as API Gateway never does.
    request_queue_size = 256


class LocalHttpApi(BackgroundServer):
    """The template's HTTP API on ``host:port`` (0 = a free port), served from a background thread:

        api = LocalHttpApi(port=0).start()   # or: with LocalHttpApi() as api: ...
        httpx.get(f"{api.base_url}/api/agents", headers={"Authorization": f"Bearer {local_token('me')}"})
        api.stop()

    Loopback only: tokens are not verified, so anything that can reach the port is any user.
    """

    def __init__(
        self,
        template_path: Path | str = TEMPLATE,
        host: str = LOOPBACK,
        port: int = 0,
        *,
        access_log: TextIO | None = None,
        dashboard: Path | None = None,
    ) -> None:
        if not _is_loopback(host):
            raise ValueError(f"{host}: the local HTTP API verifies no token, so it binds loopback only")
        super().__init__()
        self.table = RouteTable.from_template(template_path)
        for route in self.table.routes:
            module, _, _ = route.handler.partition(".")
            if module != "app":
                raise ValueError(
                    f"{route.logical_id}: handler {route.handler}: only app.<function> is served"
                )
        self.host = host
        self.port = port
        self.access_log = access_log
        self.dashboard = dashboard.resolve() if dashboard is not None else None
        # One warm instance per function: a handler module's state (the resolver's current event)
        # belongs to one invocation at a time, as it does in Lambda.
        self._instances = {route.function: threading.Lock() for route in self.table.routes}

    @property
    def routes(self) -> list[HttpRoute]:
        return self.table.routes

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.bound_port}"

    def _make_server(self) -> _ApiServer:
        server = _ApiServer((self.host, self.port), _RequestHandler)
        server.daemon_threads = True
        server.api = self  # type: ignore[attr-defined]
        self.port = int(server.server_address[1])
        return server

    def start(self) -> Self:
        super().start()
        print(NOT_VERIFIED_WARNING, file=sys.stderr, flush=True)
        return self

    # -------------------------------------------------------- one request

    def handle(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = str(uuid.uuid4())
        route_name = "-"
        try:
            response, route_name = self._answer(request, request_id)
        except Exception:  # the local API itself failed: still answer, and say why
            traceback.print_exc()
            response = json_response(500, INTERNAL_SERVER_ERROR)
        response = HttpResponse(
            response.status, [*response.headers, ("apigw-requestid", request_id)], response.body
        )
        if self.access_log is not None:
            elapsed_ms = (time.perf_counter() - started) * 1000
            path = request.target.partition("?")[0]
            print(
                f"{request.method} {path} -> {response.status} ({route_name}, {elapsed_ms:.0f} ms)",
                file=self.access_log,
                flush=True,
            )
        return response

    def _answer(self, request: HttpRequest, request_id: str) -> tuple[HttpResponse, str]:
        headers = joined((name.lower(), value) for name, value in request.headers)
        path = request.target.partition("?")[0]
        origin = headers.get("origin")
        if is_preflight(self.table.cors, request.method, headers):
            return preflight(self.table.cors, origin), "CORS preflight"
        matched = self.table.match(request.method, path)
        if matched is None and request.method in ("GET", "HEAD") and self.dashboard is not None:
            return dashboard_file(self.dashboard, request.target, self.table.scopes), "dashboard"
        if matched is None:
            return with_cors(self.table.cors, json_response(404, NOT_FOUND), origin), "-"
        route, parameters = matched
        claims: dict[str, Any] | None = None
        if route.authorizer is not None:
            authorizer = self.table.authorizers[route.authorizer]
            claims, refusal = authorize(headers.get(authorizer.header), route.authorization_scopes)
            if refusal is not None:
                return with_cors(self.table.cors, refusal, origin), route.logical_id
        event = build_event(
            request, route, parameters, request_id=request_id, local_port=self.port, claims=claims
        )
        return with_cors(self.table.cors, self._invoke(route, event), origin), route.logical_id

    def _invoke(self, route: HttpRoute, event: dict[str, Any]) -> HttpResponse:
        attribute = route.handler.partition(".")[2]
        with self._instances[route.function]:
            context = LambdaContext(
                timeout_ms=route.timeout_seconds * 1000,
                function_name=route.logical_id,
                aws_request_id=str(uuid.uuid4()),
            )
            try:
                handler: Callable[[dict[str, Any], Any], Any] = getattr(
                    handler_module(route.function), attribute
                )
                result = handler(event, context)
            except Exception:
                print(
                    f"[local http api] {route.logical_id} raised on {route.route_key}; "
                    "API Gateway answers 502 Internal Server Error",
                    file=sys.stderr,
                )
                traceback.print_exc()
                return json_response(502, INTERNAL_SERVER_ERROR)
        if context.get_remaining_time_in_millis() <= 0:
            print(
                f"[local http api] {route.logical_id}: Task timed out after {route.timeout_seconds} s "
                "(Lambda would have stopped it); API Gateway answers 502 Internal Server Error",
                file=sys.stderr,
            )
            return json_response(502, INTERNAL_SERVER_ERROR)
        try:
            return proxy_response(result)
        except MalformedResponse as exc:
            print(f"[local http api] {route.logical_id}: malformed Lambda response: {exc}", file=sys.stderr)
            return json_response(502, INTERNAL_SERVER_ERROR)


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as API Gateway; every answer has a Content-Length
    server_version = "local-http-api"

    def _serve(self) -> None:
        api: LocalHttpApi = self.server.api  # type: ignore[attr-defined]
        request = HttpRequest(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=self._read_body(),
            source_ip=self.client_address[0],
            protocol=self.request_version,
        )
        response = api.handle(request)
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, CONNECT, FOO) goes through the route table too, as API Gateway
        # routes it: no route names it, so 404, never http.server's 501.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: LocalHttpApi writes its own access log when asked to."""
