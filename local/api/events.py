"""The event API Gateway builds for a request on a route: the HTTP API's payload 2.0 (the dashboard's
routes) or the REST API's payload 1.0 (the webhooks)."""

from __future__ import annotations

import base64
import json
import time
import urllib.parse
from collections.abc import Iterable
from typing import Any

from local.api.messages import HttpRequest
from local.api.tokens import token_scopes
from local.template import REST_API_PAYLOAD, HttpRoute

LOOPBACK = "127.0.0.1"  # the only host the local API binds; the domain name when a request has no Host
ACCOUNT_ID = "123456789012"
API_ID = "local"
STAGE = "$default"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


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


def _is_text(content_type: str | None) -> bool:
    """API Gateway passes JSON and text bodies as they are and base64-encodes everything else."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type.startswith("text/") or media_type == "application/json" or media_type.endswith("+json")


def joined(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
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
    """The event for ``request`` on ``route``, in the payload format of the route's API."""
    if route.payload_version == REST_API_PAYLOAD:
        return build_rest_event(request, route, path_parameters, request_id=request_id, local_port=local_port)
    return build_http_api_event(
        request, route, path_parameters, request_id=request_id, local_port=local_port, claims=claims
    )


def build_http_api_event(
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
    headers: dict[str, str] = joined((name.lower(), value) for name, value in request.headers)
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
        request_context["authorizer"] = {
            "jwt": {
                "claims": {name: _claim_text(value) for name, value in claims.items()},
                "scopes": token_scopes(claims),
            }
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
        event["queryStringParameters"] = joined(urllib.parse.parse_qsl(raw_query, keep_blank_values=True))
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


def build_rest_event(
    request: HttpRequest,
    route: HttpRoute,
    path_parameters: dict[str, str],
    *,
    request_id: str,
    local_port: int,
) -> dict[str, Any]:
    """The API Gateway REST API payload 1.0 event for ``request`` on ``route``. Served, like ``sam local
    start-api`` serves a REST API, without the stage in the path: ``requestContext.path`` is the path
    as requested."""
    raw_path, _, raw_query = request.target.partition("?")
    multi_headers: dict[str, list[str]] = {}
    for name, value in request.headers:  # a REST API keeps the sender's case
        multi_headers.setdefault(name, []).append(value)
    source = request.source_ip
    forwarded = next(
        (values for name, values in multi_headers.items() if name.lower() == "x-forwarded-for"), None
    )
    if forwarded is not None:
        forwarded[-1] = f"{forwarded[-1]}, {source}"
    else:
        multi_headers["X-Forwarded-For"] = [source]
    headers = {name: values[-1] for name, values in multi_headers.items()}
    domain = next(
        (value for name, value in headers.items() if name.lower() == "host"), f"{LOOPBACK}:{local_port}"
    )
    query_pairs = urllib.parse.parse_qsl(raw_query, keep_blank_values=True)
    multi_query: dict[str, list[str]] = {}
    for name, value in query_pairs:
        multi_query.setdefault(name, []).append(value)
    epoch_ms = time.time_ns() // 1_000_000
    return {
        "resource": route.path,
        "path": raw_path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {name: values[-1] for name, values in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "domainName": domain,
            "domainPrefix": domain.split(".", 1)[0],
            "extendedRequestId": request_id,
            "httpMethod": request.method,
            "identity": {"sourceIp": source, "userAgent": headers.get("User-Agent", "")},
            "path": raw_path,
            "protocol": request.protocol,
            "requestId": request_id,
            "requestTime": _request_time(epoch_ms),
            "requestTimeEpoch": epoch_ms,
            "resourceId": route.logical_id,
            "resourcePath": route.path,
            "stage": route.stage,
        },
        # Without binary media types a REST API hands every body over as text.
        "body": request.body.decode("utf-8", errors="replace") if request.body else None,
        "isBase64Encoded": False,
    }
