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


def signed_webhook_event() -> dict[str, Any]:
    """events/twilio_webhook.json, signed for the local auth token and the URL it names."""
    event = load_event(WEBHOOK_EVENT)
    event["headers"]["x-twilio-signature"] = signature(webhook_url(), form_params(event))
    return event


def signed_retell_event(event: dict[str, Any] | None = None, api_key: str = RETELL_API_KEY) -> dict[str, Any]:
    """events/retell_webhook.json (or ``event``), signed now with the local Retell API key."""
    event = event if event is not None else load_event(RETELL_EVENT)
    body = event.get("body") or ""
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    event["headers"][RETELL_SIGNATURE_HEADER] = retell_signature(raw, api_key)
    return event
