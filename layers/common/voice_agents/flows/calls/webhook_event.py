"""A webhook route's request as the webhook API hands it to Lambda: API Gateway's REST API, payload
format 1.0 (the webhook routes sit on a REST API because only a REST API stage takes an AWS WAF web
ACL, which refuses a flood per source before it reaches the route's throttle).

Read before anything else, and cheaply: the body's size is known without decoding it, so a body over
the route's cap is refused before it is parsed or its signature computed.

Payload 1.0 has no raw query string, only the decoded parameters. Every callback URL we give Twilio
writes its query sorted and form-encoded (``core.tags.call_step_url``), so writing the decoded
parameters back the same way gives the bytes Twilio signed; a query written any other way was not
ours and fails the signature check, as it should.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from voice_agents.core.observability import count, logger

# Twilio's forms are a few kilobytes (CallToken, the STIR/SHAKEN fields). Retell's call_ended carries
# the whole call (transcript, timed words): about 1.1 MB for an hour, and calls may last two; Lambda
# takes at most 6 MB, so the cap only spares the parsing of what Retell could never send.
TWILIO_MAX_BODY_BYTES = 64 * 1024
RETELL_MAX_BODY_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class WebhookEvent:
    route: str  # "POST /api/webhooks/twilio/{agentId}/dial-status", as the template declares it
    path: str  # the route's path as requested, without the stage, e.g. /api/webhooks/twilio/abc
    requested_path: str  # as the caller requested it: the stage or a custom domain's base path first
    host: str | None  # the domain the caller requested (execute-api's or a custom domain)
    headers: dict[str, str]  # names lower-cased: API Gateway's REST API keeps the sender's case
    body: str | None
    is_base64: bool
    query: str  # the decoded parameters written back sorted and form-encoded (see above)
    path_parameters: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> WebhookEvent:
        context = event.get("requestContext") or {}
        path = str(event.get("path") or "")
        multi = event.get("multiValueQueryStringParameters") or {
            name: [value] for name, value in (event.get("queryStringParameters") or {}).items()
        }
        pairs = [(str(name), str(value)) for name, values in multi.items() for value in values or ()]
        return cls(
            route=f"{event.get('httpMethod', '')} {event.get('resource', '')}",
            path=path,
            requested_path=str(context.get("path") or path),
            host=context.get("domainName"),
            headers={str(name).lower(): str(value) for name, value in (event.get("headers") or {}).items()},
            body=event.get("body"),
            is_base64=bool(event.get("isBase64Encoded")),
            query=urllib.parse.urlencode(sorted(pairs)),
            path_parameters={str(k): str(v) for k, v in (event.get("pathParameters") or {}).items()},
        )

    @property
    def base_path(self) -> str:
        """What precedes the route's path in the requested URL: ``/{stage}`` on execute-api, a custom
        domain's base path, or nothing."""
        if self.path and self.requested_path.endswith(self.path):
            return self.requested_path[: -len(self.path)]
        return ""

    def body_size(self) -> int:
        """The body's size in bytes, without decoding it (base64 is 4 characters for 3 bytes)."""
        size = len(self.body or "")
        return size * 3 // 4 if self.is_base64 else size

    def oversized(self, limit: int) -> bool:
        return self.body_size() > limit


def refusal_for_size(event: WebhookEvent, limit: int) -> dict[str, Any] | None:
    """API Gateway's answer for a body over ``limit`` (413, nothing parsed), or None."""
    if not event.oversized(limit):
        return None
    logger.warning("webhook refused", reason="body too large", route=event.route, size=event.body_size())
    count("WebhookBodyTooLarge")
    return {"statusCode": 413, "headers": {"Content-Type": "text/plain"}, "body": "request body too large"}
