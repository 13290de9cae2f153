"""A request Twilio signs (the voice webhook and the call path's callbacks): its form, its signature,
and the URL it was signed over. Twilio signs HMAC-SHA1(auth token, URL + the form's sorted name/value
pairs); the URL is the one we gave it, query string included, so what a callback URL carries (the leg
being dialled, the fallback's number) cannot be altered without breaking the signature.

The URL is rebuilt from WEBHOOK_BASE_URL when it is set, else from the host and path API Gateway
reports (``requestContext.domainName`` + ``requestContext.path``): either way before anything is read."""

from __future__ import annotations

import base64
import binascii
import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from twilio.request_validator import RequestValidator

from voice_agents.core.settings import Settings
from voice_agents.flows.calls.webhook_event import WebhookEvent

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
    path: str  # the route's path as requested, e.g. /api/webhooks/twilio/{agentId}/dial-status
    query: str  # the query string, as signed
    host: str | None = None  # API Gateway's domainName
    base_path: str = ""  # the stage (or a custom domain's base path) before ``path``
    query_params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_event(cls, event: WebhookEvent) -> TwilioRequest:
        return cls(
            agent_id=event.path_parameters.get("agentId", ""),
            params=form_params(event.body, event.is_base64),
            signature=event.headers.get(SIGNATURE_HEADER),
            path=event.path,
            query=event.query,
            host=event.host,
            base_path=event.base_path,
            query_params=dict(urllib.parse.parse_qsl(event.query, keep_blank_values=True)),
        )

    def base_url(self, settings: Settings) -> str:
        """Where this deployment's callbacks live: WEBHOOK_BASE_URL, else the URL API Gateway saw."""
        seen = f"https://{self.host or 'localhost'}{self.base_path}"
        return (settings.webhook_base_url or seen).rstrip("/")

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
