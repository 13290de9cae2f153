"""The request body, checked once before any route runs: JSON sent as JSON, decodable, UTF-8, not
nested past reason. Left to Powertools, an undecodable or over-deep body is a 500 with a stack trace,
and invalid JSON a 422 that names a field after the error's offset."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

# The create body is one flat object; anything nested deeper than this is not a request of ours.
MAX_JSON_DEPTH = 32
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class RefusedBody(Exception):
    """The request's body cannot be read as JSON: refused before any route runs."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


def check_body(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """Raise RefusedBody unless a request that carries a body carries readable JSON; return the
    event with its Content-Type spelt as Powertools compares it (case-sensitively)."""
    method = str(((event.get("requestContext") or {}).get("http") or {}).get("method", "")).upper()
    body = event.get("body")
    if method not in BODY_METHODS or not body:
        return event
    headers = {str(key).lower(): str(value) for key, value in (event.get("headers") or {}).items()}
    _check_content_type(headers.get("content-type"))
    text = _decoded(body, bool(event.get("isBase64Encoded")))
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RefusedBody(
            HTTPStatus.BAD_REQUEST,
            f"the body is not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
        ) from None
    except RecursionError:
        raise RefusedBody(HTTPStatus.BAD_REQUEST, _too_deep()) from None
    except ValueError:  # e.g. an integer longer than Python converts
        raise RefusedBody(HTTPStatus.BAD_REQUEST, "the body is not valid JSON: a value is too long") from None
    _check_parsed(parsed)
    return {**event, "headers": {**headers, "content-type": "application/json"}}


def _check_content_type(content_type: str | None) -> None:
    if content_type is None:  # as Powertools does: no Content-Type is read as JSON
        return
    media_type, *parameters = (part.strip().lower() for part in content_type.split(";"))
    charset = next((p.split("=", 1)[1].strip('"') for p in parameters if p.startswith("charset=")), "utf-8")
    if media_type != "application/json" or charset not in ("utf-8", "utf8"):
        raise RefusedBody(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "the body must be JSON: send Content-Type: application/json"
        )


def _decoded(body: Any, is_base64: bool) -> str:
    if not isinstance(body, str):
        raise RefusedBody(HTTPStatus.BAD_REQUEST, "the body is not valid JSON")
    try:
        raw = base64.b64decode(body, validate=True) if is_base64 else body.encode("utf-8")
    except binascii.Error:
        raise RefusedBody(HTTPStatus.BAD_REQUEST, "the body is not valid base64") from None
    except UnicodeEncodeError:  # a lone surrogate: the text was not UTF-8
        raise RefusedBody(HTTPStatus.BAD_REQUEST, "the body is not valid UTF-8") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        message = f"the body is not valid UTF-8 at byte {exc.start}"
        raise RefusedBody(HTTPStatus.BAD_REQUEST, message) from None


def _check_parsed(parsed: Any) -> None:
    """Depth, and strings that cannot be stored: JSON escapes can spell a lone surrogate."""
    pending: list[tuple[Any, int]] = [(parsed, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise RefusedBody(HTTPStatus.BAD_REQUEST, _too_deep())
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            pending.extend((item, depth + 1) for item in items)
        elif isinstance(value, str) and not _is_utf8(value):
            raise RefusedBody(HTTPStatus.BAD_REQUEST, "the body is not valid UTF-8 (a lone surrogate)")


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _too_deep() -> str:
    return f"the body is nested deeper than {MAX_JSON_DEPTH} levels"
