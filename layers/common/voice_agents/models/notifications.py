"""The API's shapes of an owner's notifications: where they go, the signing secret (shown once), and
what a test delivery did; and the event a notification carries."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from voice_agents.data.notifications import NotificationSettingsRecord
from voice_agents.models.calls import Call
from voice_agents.providers.webhooks import MAX_URL_LENGTH

# Enough to catch a typing mistake; SES refuses what is not an address.
EMAIL_PATTERN = r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$"
EMAIL_MAX_LENGTH = 254
WEBHOOK_URL_PATTERN = r"^https?://[^\s\x00-\x1f\x7f]+$"
EVENT_TYPE: Literal["call.analyzed"] = "call.analyzed"


class NotificationSettings(BaseModel):
    """Where the owner is told of each analysed call. ``signingSecret`` is only in the answer that
    made it (the first webhook URL saved, or a rotation): keep it then, it is never shown again."""

    model_config = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)

    webhookUrl: str | None = Field(None, description="Where each `call.analyzed` event is POSTed; null: off.")
    email: str | None = Field(None, description="Where each call's summary is emailed; null: off.")
    signingSecretCreatedAt: datetime | None = Field(
        None, description="When the signing secret in use was made (null: none yet)."
    )
    previousSecretValidUntil: datetime | None = Field(
        None, description="After a rotation: until when deliveries are also signed with the old secret."
    )
    updatedAt: datetime | None = None
    signingSecret: str | None = Field(
        None,
        description=(
            "The signing secret, only in the answer that made it (`whsec_` and base64); null otherwise. "
            "Verify each delivery with a Standard Webhooks library and this secret."
        ),
    )

    @classmethod
    def from_record(
        cls, record: NotificationSettingsRecord | None, moment: datetime, *, issued: str | None = None
    ) -> NotificationSettings:
        if record is None:
            return cls(signingSecret=issued)
        return cls(
            webhookUrl=record.webhook_url,
            email=record.email,
            signingSecretCreatedAt=record.secret_created_at,
            previousSecretValidUntil=record.previous_secret_until(moment),
            updatedAt=record.updated_at,
            signingSecret=issued,
        )


class UpdateNotificationsRequest(BaseModel):
    """Both settings, as they are to be: a field left out or null turns that channel off."""

    model_config = ConfigDict(extra="forbid")

    webhookUrl: str | None = Field(
        None,
        max_length=MAX_URL_LENGTH,
        pattern=WEBHOOK_URL_PATTERN,
        description=(
            "Where each analysed call is POSTed, signed per Standard Webhooks: https, a public host "
            "(not an IP address that is private, loopback or link-local, nor `localhost`)."
        ),
    )
    email: str | None = Field(
        None,
        max_length=EMAIL_MAX_LENGTH,
        pattern=EMAIL_PATTERN,
        description="Where a plain-text summary of each analysed call is emailed.",
    )


class ChannelResult(BaseModel):
    """What one channel of a test delivery did."""

    model_config = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)

    delivered: bool
    status: int | None = Field(None, description="The webhook's HTTP status (null: no answer).")
    error: str | None = Field(None, description="Why it was not delivered.")
    durationMs: float | None = None


class TestDelivery(BaseModel):
    """A sample ``call.analyzed`` event sent now, once, to every channel that is set (no retries)."""

    model_config = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)

    eventId: str
    webhook: ChannelResult | None = None
    email: ChannelResult | None = None


class AnalysedCallData(Call):
    """The call as ``GET /api/agents/{agentId}/calls`` shows it, with its agent's name and the answers
    to the owner's post-call fields (Retell's ``custom_analysis_data``; empty when none)."""

    agentName: str | None = None
    customAnalysisData: dict[str, Any] = Field(default_factory=dict)


class CallAnalyzedEvent(BaseModel):
    """The body of a webhook delivery, in Standard Webhooks' shape: ``type``, ``timestamp`` (when the
    analysis arrived, the same on every try), ``data``. Its ``webhook-id`` header is the same on every
    try of one call's event: a receiver that has seen it can answer 2xx and do nothing."""

    model_config = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)

    type: Literal["call.analyzed"] = EVENT_TYPE
    timestamp: datetime
    data: AnalysedCallData
