"""What a route reads from its request besides the body: the caller (the JWT's ``sub``), the
``Idempotency-Key`` and ``If-Match`` headers, API Gateway's request id and the public base URL."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from voice_agents.core.errors import ConfigurationError, InvalidRequest

IDEMPOTENCY_KEY_MAX_LENGTH = 255
# Printable ASCII: what the OpenAPI document declares, and what an HTTP header carries unaltered.
IDEMPOTENCY_KEY_PATTERN = r"^[ -~]+$"
# "*" or one or more entity tags, "…" or W/"…" (RFC 9110), separated by commas; a tag sent without
# its quotes (3 for "3") is taken as quoted, as clients often send it so.
_ENTITY_TAG = r'(?:(?:W/)?"[\x21\x23-\x7e]*"|[\x21\x23-\x2b\x2d-\x7e]+)'
IF_MATCH_PATTERN = rf"^\s*(?:\*|{_ENTITY_TAG}(?:\s*,\s*{_ENTITY_TAG})*)\s*$"


def if_match(app: APIGatewayHttpResolver) -> str | None:
    """The ``If-Match`` header: ``*`` or a list of entity tags (RFC 9110), else a 400."""
    value = app.current_event.headers.get("If-Match")  # Powertools headers ignore case
    if value is not None and not re.fullmatch(IF_MATCH_PATTERN, value):
        raise InvalidRequest(
            "If-Match", 'If-Match must be "*" or entity tags such as "3", as ETag gives them'
        )
    return value


def wants_csv(app: APIGatewayHttpResolver, answer_format: str | None) -> bool:
    """Whether the answer is to be CSV: ``format`` says so, or (without it) ``Accept`` prefers
    ``text/csv`` to JSON. An exact media type outranks a wildcard of the same quality; a tie is JSON."""
    if answer_format is not None:
        return answer_format == "csv"
    ranks = _accept_ranks(app.current_event.headers.get("Accept") or "")
    return ranks("text/csv") > ranks("application/json")


def _accept_ranks(accept: str) -> Callable[[str], tuple[float, int]]:
    """(quality, specificity) of a media type under an ``Accept`` header (RFC 9110, 12.5.1)."""
    ranges: list[tuple[str, float]] = []
    for part in accept.split(","):
        media_range, *parameters = (piece.strip().lower() for piece in part.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip() == "q":
                try:
                    quality = max(0.0, min(1.0, float(value)))
                except ValueError:
                    quality = 0.0
        if media_range:
            ranges.append((media_range, quality))

    def rank(media_type: str) -> tuple[float, int]:
        kind = media_type.split("/", maxsplit=1)[0]
        matching = [
            (quality, specificity)
            for media_range, quality in ranges
            for pattern, specificity in ((media_type, 2), (f"{kind}/*", 1), ("*/*", 0))
            if media_range == pattern
        ]
        best = max(matching, key=lambda match: match[1], default=(0.0, -1))
        return best if best[0] > 0 else (0.0, -1)

    return rank


def request_id(app: APIGatewayHttpResolver) -> str | None:
    """API Gateway's id of this request: the logs' correlation id too, so an answer leads to its log."""
    event = app.current_event
    context = event.raw_event.get("requestContext") or {}
    return context.get("requestId") or getattr(app.lambda_context, "aws_request_id", None)


def owner_id(app: APIGatewayHttpResolver) -> str:
    """The caller, from the JWT authorizer's ``sub`` claim (API Gateway verified the token)."""
    subject = event_owner(app.current_event.raw_event)
    if subject is None:
        # Only reachable if the route lost its authorizer: refuse rather than guess an owner.
        raise ConfigurationError("the request carries no JWT 'sub' claim: is the route's authorizer set?")
    return subject


def event_owner(event: Mapping[str, Any]) -> str | None:
    """The JWT's ``sub`` claim of a payload v2 event, read before any route runs; None without one."""
    context = event.get("requestContext") or {}
    claims = ((context.get("authorizer") or {}).get("jwt") or {}).get("claims") or {}
    subject = claims.get("sub")
    return str(subject) if subject else None


def idempotency_key(app: APIGatewayHttpResolver) -> str | None:
    key = app.current_event.headers.get("Idempotency-Key")  # Powertools headers ignore case
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > IDEMPOTENCY_KEY_MAX_LENGTH or not re.fullmatch(IDEMPOTENCY_KEY_PATTERN, key):
        raise InvalidRequest(
            "Idempotency-Key",
            f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters",
        )
    return key


def request_base_url(app: APIGatewayHttpResolver) -> str:
    """The public base URL this request came in on (stage included unless it is $default)."""
    context = app.current_event.request_context
    stage = context.stage
    return f"https://{context.domain_name}" + ("" if stage in (None, "", "$default") else f"/{stage}")
