"""The API's request and response shapes (camelCase, as the frontend reads them)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# Retell's language enum (specs/retell-openapi.yaml, AgentRequest.language).
Language = Literal[
    "multi", "en-US", "en-IN", "en-GB", "en-AU", "en-NZ", "de-DE", "es-ES", "es-419", "hi-IN", "fr-FR",
    "fr-CA", "ja-JP", "pt-PT", "pt-BR", "zh-CN", "ru-RU", "it-IT", "ko-KR", "nl-NL", "nl-BE", "pl-PL",
    "tr-TR", "vi-VN", "ro-RO", "bg-BG", "ca-ES", "th-TH", "da-DK", "fi-FI", "el-GR", "hu-HU", "id-ID",
    "no-NO", "sk-SK", "sv-SE", "lt-LT", "lv-LV", "cs-CZ", "ms-MY", "af-ZA", "ar-SA", "az-AZ", "bs-BA",
    "cy-GB", "fa-IR", "fil-PH", "gl-ES", "he-IL", "hr-HR", "hy-AM", "is-IS", "kk-KZ", "kn-IN", "mk-MK",
    "mr-IN", "ne-NP", "sl-SI", "sr-RS", "sw-KE", "ta-IN", "ur-IN", "yue-CN", "uk-UA",
]  # fmt: skip

Text = Annotated[str, StringConstraints(strip_whitespace=True)]


class AgentStatus(StrEnum):
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    DELETING = "deleting"
    FAILED = "failed"


class CreateAgentRequest(BaseModel):
    """Body of ``POST /api/agents``. Unknown fields are rejected so a typo is not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[Text, Field(min_length=1, max_length=100)]
    description: Annotated[Text, Field(max_length=1000)] | None = None
    prompt: Annotated[Text, Field(min_length=1, max_length=20_000)]
    beginMessage: Annotated[Text, Field(max_length=1000)] | None = None
    voiceId: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")] = (
        "11labs-Adrian"
    )
    language: Language = "en-AU"


class Agent(BaseModel):
    """An agent as the API returns it."""

    # Every field is always sent (null when unknown): the OpenAPI schema marks them all required.
    model_config = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)

    id: str
    name: str
    description: str | None = None
    prompt: str
    beginMessage: str | None = None
    voiceId: str
    language: str
    status: AgentStatus
    phoneNumber: str | None = None
    twilioPhoneNumberSid: str | None = None
    webhookUrl: str | None = None
    retellAgentId: str | None = None
    retellLlmId: str | None = None
    failedStep: str | None = None
    createdAt: datetime
    updatedAt: datetime

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Agent:
        return cls(
            id=str(document["_id"]),
            name=document["name"],
            description=document.get("description"),
            prompt=document["prompt"],
            beginMessage=document.get("beginMessage"),
            voiceId=document["voiceId"],
            language=document["language"],
            status=AgentStatus(document["status"]),
            phoneNumber=document.get("phoneNumber"),
            twilioPhoneNumberSid=document.get("twilioPhoneNumberSid"),
            webhookUrl=document.get("webhookUrl"),
            retellAgentId=document.get("retellAgentId"),
            retellLlmId=document.get("retellLlmId"),
            failedStep=(document.get("failure") or {}).get("step"),
            createdAt=document["createdAt"],
            updatedAt=document["updatedAt"],
        )


class AgentPage(BaseModel):
    """One page of the owner's agents; pass ``nextCursor`` back as ``cursor`` for the next."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    items: list[Agent]
    nextCursor: str | None = None


class DeleteOutcome(BaseModel):
    """What ``DELETE /api/agents/{agentId}`` did; ``pending`` lists what the reconciler will finish."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    id: str
    status: Literal["deleted", "deleting"]
    pending: list[str] = []
