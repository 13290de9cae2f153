"""A request Twilio signs (the voice webhook and the call path's callbacks): its form, its signature,
and the URL it was signed over. Twilio signs HMAC-SHA1(auth token, URL + the form's sorted name/value
pairs); the URL is the one we gave it, query string included, so what a callback URL carries (the leg
being dialled, the fallback's number) cannot be altered without breaking the signature.

The URL is rebuilt from WEBHOOK_BASE_URL when it is set, else from the host and path API Gateway
reports (``requestContext.domainName`` + ``rawPath``): either way before anything is read."""

from __future__ import annotations

import base64
import binascii
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from twilio.request_validator import RequestValidator

from voice_agents.core.settings import Settings

if TYPE_CHECKING:
    from voice_agents.runtime import Runtime

SIGNATURE_HEADER = "x-twilio-signature"


@dataclass(frozen=True)
class TwimlAnswer:
    """What a Twilio request is answered with: TwiML, or a plain refusal."""

    status: int
    body: str
    content_type: str = "text/xml"


@dataclass(frozen=True)
class TwilioRequest:
    agent_id: str
    params: dict[str, str] | None  # None: the body is not a form
    signature: str | None
    path: str  # as requested, e.g. /api/webhooks/twilio/{agentId}/dial-status
    query: str  # the raw query string, as signed
    host: str | None = None  # API Gateway's domainName
    query_params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> TwilioRequest:
        headers = event.get("headers") or {}
        context = event.get("requestContext") or {}
        query = str(event.get("rawQueryString") or "")
        return cls(
            agent_id=str((event.get("pathParameters") or {}).get("agentId", "")),
            params=form_params(event.get("body"), bool(event.get("isBase64Encoded"))),
            signature=next((str(v) for k, v in headers.items() if str(k).lower() == SIGNATURE_HEADER), None),
            path=str(event.get("rawPath") or ""),
            query=query,
            host=context.get("domainName"),
            query_params=dict(urllib.parse.parse_qsl(query, keep_blank_values=True)),
        )

    def base_url(self, settings: Settings) -> str:
        """Where this deployment's callbacks live: WEBHOOK_BASE_URL, else the host API Gateway saw."""
        return (settings.webhook_base_url or f"https://{self.host or 'localhost'}").rstrip("/")

    def url(self, settings: Settings) -> str | None:
        """The URL Twilio signed: this path on ``base_url``."""
        if not settings.webhook_base_url and not self.host:
            return None
        return self.base_url(settings) + self.path + (f"?{self.query}" if self.query else "")

    def param(self, name: str) -> str:
        return (self.params or {}).get(name, "")


def form_params(body: str | None, is_base64: bool) -> dict[str, str] | None:
    text = body or ""
    if is_base64:
        try:
            text = base64.b64decode(text).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
    # Blank values are part of what Twilio signed (CalledZip=&...): keep them.
    return dict(urllib.parse.parse_qsl(text, keep_blank_values=True))


def signed_by_twilio(url: str, params: dict[str, str], signature: str, process: Runtime) -> Settings | None:
    """The settings whose auth token signed the request, or None; a failed check re-reads the secret
    once (rate-limited) for a rotated token."""
    return process.signed_with_secret(
        "TWILIO_AUTH_TOKEN", lambda token: RequestValidator(token).validate(url, params, signature)
    )


def verified(request: TwilioRequest, process: Runtime) -> Settings | None:
    """The settings when ``request`` carries a form signed by Twilio over its URL; None otherwise."""
    if not request.signature or request.params is None:
        return None
    settings = process.settings()
    settings.require("TWILIO_AUTH_TOKEN")  # misconfigured: a ConfigurationError, before any read
    url = request.url(settings)
    return signed_by_twilio(url, request.params, request.signature, process) if url else None
