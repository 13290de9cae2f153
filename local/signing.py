"""Requests signed as Twilio and Retell sign them, with the local stack's auth token and API key: the
sample events that carry a signature (events/twilio_webhook.json, events/retell_webhook.json) and the
inbound calls `make call` places. Used by make events, make invoke (a Retell signature goes stale
after 5 minutes, so it is signed again as it is sent) and the tests.
"""

from __future__ import annotations

import base64
import urllib.parse
from typing import Any

from twilio.request_validator import RequestValidator

from local.fakes.retell import retell_signature
from local.sample_events import EVENTS_AGENT_ID, load_event
from local.stack import RETELL_API_KEY, TWILIO_AUTH_TOKEN, WEBHOOK_BASE_URL

WEBHOOK_EVENT = "twilio_webhook.json"
RETELL_EVENT = "retell_webhook.json"
RETELL_SIGNATURE_HEADER = "x-retell-signature"


def webhook_url(agent_id: str = EVENTS_AGENT_ID, base_url: str = WEBHOOK_BASE_URL) -> str:
    return f"{base_url}/api/webhooks/twilio/{agent_id}"


def form_params(event: dict[str, Any]) -> dict[str, str]:
    body = event.get("body") or ""
    text = base64.b64decode(body).decode() if event.get("isBase64Encoded") else body
    return dict(urllib.parse.parse_qsl(text, keep_blank_values=True))


def signature(url: str, params: dict[str, str], auth_token: str = TWILIO_AUTH_TOKEN) -> str:
    """X-Twilio-Signature: what Twilio sends for ``params`` posted to ``url``."""
    return str(RequestValidator(auth_token).compute_signature(url, params))


def set_header(event: dict[str, Any], name: str, value: str) -> None:
    """Replace header ``name`` whatever its case (a REST API event keeps the sender's)."""
    for headers in (event.get("headers") or {}, event.get("multiValueHeaders") or {}):
        existing = next((key for key in headers if key.lower() == name.lower()), name)
        headers.pop(existing, None)
    event.setdefault("headers", {})[name] = value
    if "multiValueHeaders" in event:
        event["multiValueHeaders"][name] = [value]


def call_event(agent_id: str, params: dict[str, str], signature: str | None) -> dict[str, Any]:
    """events/twilio_webhook.json for a call to ``agent_id`` (a REST API event: its path, the path
    with the stage API Gateway reports, the form as text) carrying ``params`` and ``signature``."""
    event = load_event(WEBHOOK_EVENT, pathParameters={"agentId": agent_id})
    event["path"] = f"/api/webhooks/twilio/{agent_id}"
    event["requestContext"]["path"] = f"/{event['requestContext']['stage']}{event['path']}"
    event["body"] = urllib.parse.urlencode(params)
    event["isBase64Encoded"] = False
    set_header(event, "X-Twilio-Signature", signature or "")
    if signature is None:
        del event["headers"]["X-Twilio-Signature"], event["multiValueHeaders"]["X-Twilio-Signature"]
    return event


def signed_webhook_event() -> dict[str, Any]:
    """events/twilio_webhook.json, signed for the local auth token and the URL it names."""
    event = load_event(WEBHOOK_EVENT)
    set_header(event, "X-Twilio-Signature", signature(webhook_url(), form_params(event)))
    return event


def signed_retell_event(event: dict[str, Any] | None = None, api_key: str = RETELL_API_KEY) -> dict[str, Any]:
    """events/retell_webhook.json (or ``event``), signed now with the local Retell API key."""
    event = event if event is not None else load_event(RETELL_EVENT)
    body = event.get("body") or ""
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    set_header(event, RETELL_SIGNATURE_HEADER, retell_signature(raw, api_key))
    return event
