"""The HTTP answer API Gateway makes of a handler's payload v2 response, and its own answers
(404, 401, 403, 502) with their exact bytes."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from local.api.messages import Headers, HttpResponse


def json_response(status: int, body: dict[str, Any], *extra: tuple[str, str]) -> HttpResponse:
    text = json.dumps(body, separators=(",", ":"))  # API Gateway's exact bytes: {"message":"Not Found"}
    return HttpResponse(status, [("Content-Type", "application/json"), *extra], text.encode())


NOT_FOUND = {"message": "Not Found"}
UNAUTHORIZED = {"message": "Unauthorized"}
FORBIDDEN = {"message": "Forbidden"}
INTERNAL_SERVER_ERROR = {"message": "Internal Server Error"}


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
