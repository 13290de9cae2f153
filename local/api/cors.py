"""CORS as API Gateway applies an HTTP API's ``CorsConfiguration``: it answers the preflight itself,
and its CORS headers replace whatever the integration sent. ``cors`` is the configuration (None when
the API has none)."""

from __future__ import annotations

from typing import Any

from local.api.messages import Headers, HttpResponse


def is_preflight(cors: dict[str, Any] | None, method: str, headers: dict[str, str]) -> bool:
    return (
        cors is not None
        and method == "OPTIONS"
        and "origin" in headers
        and "access-control-request-method" in headers
    )


def _origin_allowed(cors: dict[str, Any] | None, origin: str | None) -> bool:
    allowed = (cors or {}).get("AllowOrigins") or []
    return origin is not None and ("*" in allowed or origin in allowed)


def _cors_headers(cors: dict[str, Any] | None, origin: str) -> Headers:
    config = cors or {}
    allowed = config.get("AllowOrigins") or []
    headers: Headers = [("Access-Control-Allow-Origin", "*" if "*" in allowed else origin)]
    if config.get("AllowCredentials"):
        headers.append(("Access-Control-Allow-Credentials", "true"))
    if config.get("ExposeHeaders"):
        headers.append(("Access-Control-Expose-Headers", ",".join(config["ExposeHeaders"])))
    return headers


def preflight(cors: dict[str, Any] | None, origin: str | None) -> HttpResponse:
    config = cors or {}
    if not _origin_allowed(cors, origin):
        return HttpResponse(204, [])
    assert origin is not None
    headers = _cors_headers(cors, origin)
    if config.get("AllowMethods"):
        headers.append(("Access-Control-Allow-Methods", ",".join(config["AllowMethods"])))
    if config.get("AllowHeaders"):
        headers.append(("Access-Control-Allow-Headers", ",".join(config["AllowHeaders"]).lower()))
    if config.get("MaxAge") is not None:
        headers.append(("Access-Control-Max-Age", str(config["MaxAge"])))
    return HttpResponse(204, headers)


def with_cors(cors: dict[str, Any] | None, response: HttpResponse, origin: str | None) -> HttpResponse:
    if cors is None or not _origin_allowed(cors, origin):
        return response
    assert origin is not None
    # API Gateway's CORS headers replace whatever the integration sent.
    kept = [
        (name, value) for name, value in response.headers if not name.lower().startswith("access-control-")
    ]
    return HttpResponse(response.status, [*kept, *_cors_headers(cors, origin)], response.body)
