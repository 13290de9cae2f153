"""A local HTTP API: what `sam local start-api` would give, without Docker.

    python -m local.http_api [--port N]      (or: make api)

Reads the routes from template.yaml when it starts (each function's ``HttpApi`` events, its CodeUri,
Timeout and authorizer), serves them on 127.0.0.1, and answers each request by calling the same
``lambda_handler`` as Lambda would, with an API Gateway HTTP API payload v2 event shaped like
``events/*.json``. The Lambda proxy answer is written back the way API Gateway writes it.

*************************************************************************************************
* LOCAL ONLY: JWT SIGNATURES ARE NOT VERIFIED.                                                  *
* A route with the JWT authorizer needs `Authorization: Bearer <jwt>` (401 without it, as API    *
* Gateway answers), but the token is only decoded: its signature, issuer and audience are NOT   *
* checked (there is no Cognito here), only its expiry when it has one. Anyone who can reach     *
* this port can act as any user. `local_token(sub)` makes an unsigned token (alg "none").       *
* Never expose this server beyond 127.0.0.1.                                                    *
*************************************************************************************************

What it does like API Gateway: route matching (``{agentId}`` path variables; exact routes before
variable ones), 404 ``{"message":"Not Found"}`` for anything unrouted, 401 ``{"message":"Unauthorized"}``
before the handler runs, claims stringified as API Gateway does, the body base64-encoded unless it is
JSON or text (so Twilio's form posts arrive base64-encoded), CORS preflight from the API's
``CorsConfiguration``, 502 ``{"message":"Internal Server Error"}`` when the handler raises (traceback on
stderr) or answers something that is not a proxy response, and when it overruns its Timeout.

It also serves the built dashboard (``web/dist``) at ``/`` on the same origin, and ``/config.json``,
the dashboard's settings, with an unsigned token for ``local-user`` (``/config.json?user=<sub>`` for
another owner): the page signs in with it as it would with Cognito's.

What it does not: the handler is not killed at its Timeout (the answer becomes the 502 afterwards);
one function serves one request at a time (one warm instance each, because a handler module's state is
per process); per-function Environment in the template is not applied (the process environment is);
no throttling, payload limits, custom domains or stages other than ``$default``.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import ipaddress
import json
import mimetypes
import os
import re
import signal
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TextIO

import jwt

from local.invoke import LambdaContext, handler_module
from local.template import ROOT, TEMPLATE, HttpRoute, http_routes, load_template, parameter_default

LOOPBACK = "127.0.0.1"
ACCOUNT_ID = "123456789012"
API_ID = "local"
STAGE = "$default"
NOT_VERIFIED_WARNING = (
    "WARNING: local HTTP API - JWT signatures are NOT verified (no Cognito here); any well-formed "
    "token is accepted and its claims passed on. Never expose this server beyond 127.0.0.1."
)
DASHBOARD_DIR = ROOT / "web" / "dist"
LOCAL_USER = "local-user"
# A sub the local token endpoint accepts: what Cognito subs and test names look like, nothing to escape.
_LOCAL_SUB = re.compile(r"^[A-Za-z0-9._@-]{1,128}$")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

Headers = list[tuple[str, str]]


# ---------------------------------------------------------------- local tokens


def local_token(sub: str, **claims: Any) -> str:
    """An unsigned JWT (alg "none") for ``sub``: accepted by this local API only, never by AWS."""
    payload = {
        "sub": sub,
        "iss": "http://127.0.0.1/local-unverified",
        "token_use": "access",
        "iat": int(time.time()),
        **claims,
    }
    return jwt.encode(payload, "", algorithm="none")


def unverified_claims(token: str) -> dict[str, Any] | None:
    """The payload of a compact JWS, WITHOUT checking its signature; None when it is not a JWT."""
    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return None
    return claims


def _claim_text(value: Any) -> str:
    """API Gateway hands every claim to the integration as a string; arrays become ``[a b]``."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + " ".join(_claim_text(item) for item in value) + "]"
    return json.dumps(value, separators=(",", ":"))


# ---------------------------------------------------------------- routes


@dataclass(frozen=True)
class JwtAuthorizer:
    name: str
    header: str  # lower case, from IdentitySource $request.header.<Name>


@dataclass(frozen=True)
class _CompiledRoute:
    route: HttpRoute
    pattern: re.Pattern[str]
    variables: tuple[str, ...]  # path variable names, in order
    greedy: bool  # ends in {name+}

    @classmethod
    def of(cls, route: HttpRoute) -> _CompiledRoute:
        regex, variables, greedy = "", [], False
        for part in re.split(r"(\{[^}]+\})", route.path):
            if part.startswith("{") and part.endswith("}"):
                name = part[1:-1]
                greedy = name.endswith("+")
                variables.append(name.removesuffix("+"))
                regex += "(.+)" if greedy else "([^/]+)"
            else:
                regex += re.escape(part)
        return cls(route, re.compile(f"^{regex}$"), tuple(variables), greedy)

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.route.method not in (method, "ANY"):
            return None
        found = self.pattern.match(path)
        if found is None:
            return None
        return {
            name: urllib.parse.unquote(value)
            for name, value in zip(self.variables, found.groups(), strict=True)
        }

    def specificity(self) -> tuple[int, int, int]:
        # API Gateway: the most specific route wins; a greedy variable last, ANY after a named method.
        return (int(self.greedy), len(self.variables), int(self.route.method == "ANY"))


@dataclass
class RouteTable:
    """The HTTP API of a template: its routes, authorizers and CORS settings."""

    routes: list[HttpRoute]
    authorizers: dict[str, JwtAuthorizer]
    cors: dict[str, Any] | None
    _compiled: list[_CompiledRoute] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._compiled = sorted(
            (_CompiledRoute.of(route) for route in self.routes), key=_CompiledRoute.specificity
        )

    @classmethod
    def from_template(cls, path: Path | str = TEMPLATE) -> RouteTable:
        template = load_template(path)
        routes = http_routes(template)
        api_ids = {route.api_id for route in routes}
        if len(api_ids) > 1:
            raise ValueError(f"routes of several HTTP APIs ({sorted(api_ids)}): serve one at a time")
        api = template["Resources"].get(next(iter(api_ids)), {}).get("Properties", {}) if routes else {}
        authorizers: dict[str, JwtAuthorizer] = {}
        for route in routes:
            if route.authorizer is None or route.authorizer in authorizers:
                continue
            config = api.get("Auth", {}).get("Authorizers", {}).get(route.authorizer)
            if config is None or "JwtConfiguration" not in config:
                raise ValueError(f"{route.route_key}: only JWT authorizers are served locally")
            source = str(config.get("IdentitySource", "$request.header.Authorization"))
            if not source.startswith("$request.header."):
                raise ValueError(f"{route.authorizer}: identity source {source} is not a header")
            header = source.removeprefix("$request.header.").lower()
            authorizers[route.authorizer] = JwtAuthorizer(route.authorizer, header)
        cors = api.get("CorsConfiguration")
        if isinstance(cors, dict):
            cors = {key: _resolve_list(template, value) for key, value in cors.items()}
        return cls(routes, authorizers, cors if isinstance(cors, dict) else None)

    def match(self, method: str, path: str) -> tuple[HttpRoute, dict[str, str]] | None:
        for compiled in self._compiled:
            parameters = compiled.match(method, path)
            if parameters is not None:
                return compiled.route, parameters
        return None


def _resolve_list(template: dict[str, Any], value: Any) -> Any:
    if isinstance(value, list):
        return [resolved for item in value if (resolved := parameter_default(template, item)) is not None]
    return parameter_default(template, value)


# ---------------------------------------------------------------- events and answers


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


def _json_response(status: int, body: dict[str, Any], *extra: tuple[str, str]) -> HttpResponse:
    text = json.dumps(body, separators=(",", ":"))  # API Gateway's exact bytes: {"message":"Not Found"}
    return HttpResponse(status, [("Content-Type", "application/json"), *extra], text.encode())


NOT_FOUND = {"message": "Not Found"}
UNAUTHORIZED = {"message": "Unauthorized"}
INTERNAL_SERVER_ERROR = {"message": "Internal Server Error"}


def _is_text(content_type: str | None) -> bool:
    """API Gateway passes JSON and text bodies as they are and base64-encodes everything else."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type.startswith("text/") or media_type == "application/json" or media_type.endswith("+json")


def _joined(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Repeated names become one comma-joined value, as in payload v2."""
    joined: dict[str, str] = {}
    for name, value in pairs:
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    return joined


def _request_time(epoch_ms: int) -> str:
    moment = time.gmtime(epoch_ms / 1000)
    return (
        f"{moment.tm_mday:02d}/{_MONTHS[moment.tm_mon - 1]}/{moment.tm_year}:"
        f"{moment.tm_hour:02d}:{moment.tm_min:02d}:{moment.tm_sec:02d} +0000"
    )


def build_event(
    request: HttpRequest,
    route: HttpRoute,
    path_parameters: dict[str, str],
    *,
    request_id: str,
    local_port: int,
    claims: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The API Gateway HTTP API payload v2 event for ``request`` on ``route``."""
    raw_path, _, raw_query = request.target.partition("?")
    headers: dict[str, str] = _joined((name.lower(), value) for name, value in request.headers)
    cookies = [
        cookie.strip() for cookie in headers.pop("cookie", "").replace(",", ";").split(";") if cookie.strip()
    ]
    # What API Gateway adds in front of the integration.
    forwarded_for = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = (
        f"{forwarded_for}, {request.source_ip}" if forwarded_for else request.source_ip
    )
    headers.setdefault("x-forwarded-port", str(local_port))
    headers.setdefault("x-forwarded-proto", "http")
    domain = headers.get("host", f"{LOOPBACK}:{local_port}")
    epoch_ms = time.time_ns() // 1_000_000

    request_context: dict[str, Any] = {"accountId": ACCOUNT_ID, "apiId": API_ID}
    if claims is not None:
        scope = claims.get("scope", claims.get("scp"))
        scopes = scope.split() if isinstance(scope, str) else scope if isinstance(scope, list) else None
        request_context["authorizer"] = {
            "jwt": {"claims": {name: _claim_text(value) for name, value in claims.items()}, "scopes": scopes}
        }
    request_context |= {
        "domainName": domain,
        "domainPrefix": domain.split(".", 1)[0],
        "http": {
            "method": request.method,
            "path": raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route.route_key,
        "stage": STAGE,
        "time": _request_time(epoch_ms),
        "timeEpoch": epoch_ms,
    }

    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if raw_query:
        event["queryStringParameters"] = _joined(urllib.parse.parse_qsl(raw_query, keep_blank_values=True))
    event["requestContext"] = request_context
    if path_parameters:
        event["pathParameters"] = path_parameters
    is_base64 = False
    if request.body:
        text: str | None = None
        if _is_text(headers.get("content-type")):
            try:
                text = request.body.decode("utf-8")
            except UnicodeDecodeError:
                text = None
        is_base64 = text is None
        event["body"] = text if text is not None else base64.b64encode(request.body).decode("ascii")
    event["isBase64Encoded"] = is_base64
    return event


class MalformedResponse(ValueError):
    """The handler answered something API Gateway could not turn into an HTTP response."""


def proxy_response(result: Any) -> HttpResponse:
    """The HTTP answer API Gateway makes of a handler's payload v2 response."""
    if not (isinstance(result, dict) and "statusCode" in result):
        # Payload v2 "format inference": anything else is a 200 JSON body.
        try:
            text = json.dumps(result)
        except (TypeError, ValueError) as exc:
            raise MalformedResponse(f"not JSON-serialisable: {exc}") from exc
        return HttpResponse(200, [("Content-Type", "application/json")], text.encode())
    try:
        status = int(result["statusCode"])
    except (TypeError, ValueError) as exc:
        raise MalformedResponse(f"statusCode {result['statusCode']!r}") from exc
    if not 100 <= status <= 599:
        raise MalformedResponse(f"statusCode {status}")
    raw_headers = result.get("headers") or {}
    if not isinstance(raw_headers, dict):
        raise MalformedResponse("headers is not an object")
    headers: Headers = [(str(name), _header_text(value)) for name, value in raw_headers.items()]
    headers += [("Set-Cookie", str(cookie)) for cookie in result.get("cookies") or []]
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    body = result.get("body")
    if body is None:
        content = b""
    elif not isinstance(body, str):
        raise MalformedResponse(f"body is a {type(body).__name__}, not a string")
    elif result.get("isBase64Encoded"):
        try:
            content = base64.b64decode(body, validate=True)
        except binascii.Error as exc:
            raise MalformedResponse(f"body is not base64: {exc}") from exc
    else:
        content = body.encode("utf-8")
    return HttpResponse(status, headers, content)


def _header_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ---------------------------------------------------------------- the server


class _ApiServer(ThreadingHTTPServer):
    # The standard library's listen backlog is 5: a burst of concurrent calls (the scale benchmark's
    # 50 webhooks at once) would be refused at connect, as API Gateway never does.
    request_queue_size = 256


class LocalHttpApi:
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
        self._server: _ApiServer | None = None
        self._thread: threading.Thread | None = None
        # One warm instance per function: a handler module's state (the resolver's current event)
        # belongs to one invocation at a time, as it does in Lambda.
        self._instances = {route.function: threading.Lock() for route in self.table.routes}

    @property
    def routes(self) -> list[HttpRoute]:
        return self.table.routes

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("not started")
        return f"http://{self.host}:{self._server.server_address[1]}"

    def start(self) -> Self:
        server = _ApiServer((self.host, self.port), _RequestHandler)
        server.daemon_threads = True
        server.api = self  # type: ignore[attr-defined]
        self._server = server
        self.port = int(server.server_address[1])
        self._thread = threading.Thread(target=server.serve_forever, name="local-http-api", daemon=True)
        self._thread.start()
        print(NOT_VERIFIED_WARNING, file=sys.stderr, flush=True)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self if self._server is not None else self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -------------------------------------------------------- one request

    def handle(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = str(uuid.uuid4())
        route_name = "-"
        try:
            response, route_name = self._answer(request, request_id)
        except Exception:  # the local API itself failed: still answer, and say why
            traceback.print_exc()
            response = _json_response(500, INTERNAL_SERVER_ERROR)
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
        headers = _joined((name.lower(), value) for name, value in request.headers)
        path = request.target.partition("?")[0]
        origin = headers.get("origin")
        if self._is_preflight(request.method, headers):
            return self._preflight(origin), "CORS preflight"
        matched = self.table.match(request.method, path)
        if matched is None and request.method in ("GET", "HEAD") and self.dashboard is not None:
            return self._dashboard_file(request.target), "dashboard"
        if matched is None:
            return self._with_cors(_json_response(404, NOT_FOUND), origin), "-"
        route, parameters = matched
        claims: dict[str, Any] | None = None
        if route.authorizer is not None:
            authorizer = self.table.authorizers[route.authorizer]
            claims, refusal = _authorize(headers.get(authorizer.header))
            if refusal is not None:
                return self._with_cors(refusal, origin), route.logical_id
        event = build_event(
            request, route, parameters, request_id=request_id, local_port=self.port, claims=claims
        )
        return self._with_cors(self._invoke(route, event), origin), route.logical_id

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
                return _json_response(502, INTERNAL_SERVER_ERROR)
        if context.get_remaining_time_in_millis() <= 0:
            print(
                f"[local http api] {route.logical_id}: Task timed out after {route.timeout_seconds} s "
                "(Lambda would have stopped it); API Gateway answers 502 Internal Server Error",
                file=sys.stderr,
            )
            return _json_response(502, INTERNAL_SERVER_ERROR)
        try:
            return proxy_response(result)
        except MalformedResponse as exc:
            print(f"[local http api] {route.logical_id}: malformed Lambda response: {exc}", file=sys.stderr)
            return _json_response(502, INTERNAL_SERVER_ERROR)

    # -------------------------------------------------------- the dashboard, same origin

    def _dashboard_file(self, target: str) -> HttpResponse:
        assert self.dashboard is not None
        path, _, query = target.partition("?")
        if path == "/config.json":
            return self._dashboard_config(urllib.parse.parse_qs(query, keep_blank_values=True))
        relative = urllib.parse.unquote(path).lstrip("/") or "index.html"
        file = (self.dashboard / relative).resolve()
        if not file.is_relative_to(self.dashboard) or not file.is_file():
            return _json_response(404, NOT_FOUND)
        content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        # Vite names assets by their content hash; index.html must be fetched again after a rebuild.
        cache = "public, max-age=31536000, immutable" if "/assets/" in path else "no-cache"
        return HttpResponse(
            200, [("Content-Type", content_type), ("Cache-Control", cache)], file.read_bytes()
        )

    def _dashboard_config(self, query: dict[str, list[str]]) -> HttpResponse:
        """The dashboard's settings: this origin's API and an unsigned token (LOCAL ONLY)."""
        sub = (query.get("user") or [LOCAL_USER])[0]
        if not _LOCAL_SUB.match(sub):
            return _json_response(400, {"message": "user: 1-128 letters, digits, '.', '_', '@' or '-'"})
        config = {"apiUrl": "", "auth": {"mode": "local", "token": local_token(sub), "user": sub}}
        return _json_response(200, config, ("Cache-Control", "no-store"))

    # -------------------------------------------------------- CORS, as configured on the API

    def _is_preflight(self, method: str, headers: dict[str, str]) -> bool:
        return (
            self.table.cors is not None
            and method == "OPTIONS"
            and "origin" in headers
            and "access-control-request-method" in headers
        )

    def _origin_allowed(self, origin: str | None) -> bool:
        allowed = (self.table.cors or {}).get("AllowOrigins") or []
        return origin is not None and ("*" in allowed or origin in allowed)

    def _cors_headers(self, origin: str) -> Headers:
        cors = self.table.cors or {}
        allowed = cors.get("AllowOrigins") or []
        headers: Headers = [("Access-Control-Allow-Origin", "*" if "*" in allowed else origin)]
        if cors.get("AllowCredentials"):
            headers.append(("Access-Control-Allow-Credentials", "true"))
        if cors.get("ExposeHeaders"):
            headers.append(("Access-Control-Expose-Headers", ",".join(cors["ExposeHeaders"])))
        return headers

    def _preflight(self, origin: str | None) -> HttpResponse:
        cors = self.table.cors or {}
        if not self._origin_allowed(origin):
            return HttpResponse(204, [])
        assert origin is not None
        headers = self._cors_headers(origin)
        if cors.get("AllowMethods"):
            headers.append(("Access-Control-Allow-Methods", ",".join(cors["AllowMethods"])))
        if cors.get("AllowHeaders"):
            headers.append(("Access-Control-Allow-Headers", ",".join(cors["AllowHeaders"]).lower()))
        if cors.get("MaxAge") is not None:
            headers.append(("Access-Control-Max-Age", str(cors["MaxAge"])))
        return HttpResponse(204, headers)

    def _with_cors(self, response: HttpResponse, origin: str | None) -> HttpResponse:
        if self.table.cors is None or not self._origin_allowed(origin):
            return response
        assert origin is not None
        # API Gateway's CORS headers replace whatever the integration sent.
        kept = [
            (name, value)
            for name, value in response.headers
            if not name.lower().startswith("access-control-")
        ]
        return HttpResponse(response.status, [*kept, *self._cors_headers(origin)], response.body)


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _authorize(header: str | None) -> tuple[dict[str, Any] | None, HttpResponse | None]:
    """The token's claims (UNVERIFIED), or the 401 API Gateway's JWT authorizer would answer."""
    if not header:
        return None, _json_response(401, UNAUTHORIZED)
    scheme, _, rest = header.strip().partition(" ")
    # Like API Gateway, take the token with or without the "Bearer " prefix.
    token = rest.strip() if scheme.lower() == "bearer" else header.strip()
    claims = unverified_claims(token)
    challenge = 'Bearer scope="" error="invalid_token" error_description="{}"'
    if claims is None:
        return None, _json_response(
            401, UNAUTHORIZED, ("www-authenticate", challenge.format("the token is not a JWT"))
        )
    expires = claims.get("exp")
    if isinstance(expires, int | float) and expires <= time.time():
        return None, _json_response(
            401, UNAUTHORIZED, ("www-authenticate", challenge.format("the token has expired"))
        )
    return claims, None


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


# ---------------------------------------------------------------- python -m local.http_api


def _describe(route: HttpRoute) -> str:
    auth = f"JWT ({route.authorizer}, NOT verified locally)" if route.authorizer else "no authorizer"
    return f"  {route.method:<7}{route.path:<34}{route.logical_id:<24}{route.timeout_seconds:>3} s  {auth}"


def _without_password(uri: str) -> str:
    parts = urllib.parse.urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # unwind the `with` blocks, so FerretDB and the fakes stop too


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m local.http_api",
        description="Serve template.yaml's HTTP API on 127.0.0.1 against the local stack (no Docker).",
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument(
        "--dashboard",
        type=Path,
        default=DASHBOARD_DIR,
        help="the built dashboard to serve at / (default: web/dist, built by make web)",
    )
    parser.add_argument(
        "--ready-file",
        type=Path,
        help="once serving, write {apiUrl, retellUrl, twilioUrl, webhookBaseUrl, environment} as JSON "
        "here (make invoke and make call read it; removed on exit)",
    )
    parser.add_argument(
        "--fixed-ports",
        action="store_true",
        help="FerretDB, fake Retell and fake Twilio on the ports env.json names (27017, 8081, 8082)",
    )
    parser.add_argument(
        "--seed-events",
        action="store_true",
        help="create the agent events/*.json name, and keep their webhook URL, so every event works",
    )
    args = parser.parse_args(argv)
    dashboard = args.dashboard if (args.dashboard / "index.html").is_file() else None

    from local.events import seed_events_agent
    from local.stack import FIXED_PORTS, WEBHOOK_BASE_URL, local_stack
    from voice_agents import runtime

    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    # EMF metric lines would drown the access log; the handlers' JSON logs stay.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    print("Starting the local stack (FerretDB, fake Retell, fake Twilio) on 127.0.0.1 ...", flush=True)
    with (
        local_stack(FIXED_PORTS if args.fixed_ports else None) as stack,
        LocalHttpApi(port=args.port, access_log=sys.stderr, dashboard=dashboard) as api,
    ):
        os.environ.update(stack.environment())
        # The webhook URL given to Twilio numbers is this API, so signatures over it validate here;
        # with the events' agent, the URL the events name (twilio_webhook.json is signed over it).
        webhook_base_url = WEBHOOK_BASE_URL if args.seed_events else api.base_url
        os.environ["WEBHOOK_BASE_URL"] = webhook_base_url
        runtime.reset()
        if args.seed_events:
            seeded = seed_events_agent()
            print(f"Seeded the events' agent {seeded['id']} ({seeded['phoneNumber']}) for user-1234-owner")
        token = local_token(LOCAL_USER)
        print(f"\nLocal HTTP API on {api.base_url}  (routes from {TEMPLATE.name}, payload v2)")
        for route in api.routes:
            print(_describe(route))
        mongodb = _without_password(stack.mongodb_uri)
        print(f"\n  MongoDB {mongodb}  Retell {stack.retell.base_url}  Twilio {stack.twilio.base_url}")
        if dashboard is not None:
            print(
                f"\n  Dashboard  {api.base_url}/  (signed in as {LOCAL_USER}; "
                f"{api.base_url}/?user=<sub> as another owner)"
            )
        else:
            print(f"\n  Dashboard  not built ({args.dashboard} has no index.html): run make web")
        print(f"\n{NOT_VERIFIED_WARNING}")
        print("\nTry it (a local, unsigned token for sub=local-user):")
        print(f"  TOKEN={token}")
        print(
            f'  curl -s -X POST {api.base_url}/api/agents -H "Authorization: Bearer $TOKEN" '
            "-H 'Content-Type: application/json' "
            '-d \'{"name": "Local agent", "prompt": "You are a friendly receptionist."}\''
        )
        print(f'  curl -s {api.base_url}/api/agents -H "Authorization: Bearer $TOKEN"')
        print("\nCtrl-C to stop.", flush=True)
        if args.ready_file is not None:
            ready = {
                "apiUrl": api.base_url,
                "retellUrl": stack.retell.base_url,
                "twilioUrl": stack.twilio.base_url,
                "webhookBaseUrl": webhook_base_url,
                "environment": {**stack.environment(), "WEBHOOK_BASE_URL": webhook_base_url},
            }
            args.ready_file.parent.mkdir(parents=True, exist_ok=True)
            args.ready_file.write_text(json.dumps(ready))
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("\nStopping.", flush=True)
        finally:
            if args.ready_file is not None:
                args.ready_file.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
