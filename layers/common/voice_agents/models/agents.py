"""The API's shapes of an agent: the create and update bodies, the agent as answered (built from its
record), a page of agents, a delete's outcome. camelCase, as the frontend reads them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from voice_agents.core.countries import NumberPair, NumberType
from voice_agents.core.routing import AGENT, DEFAULT_RING_SECONDS
from voice_agents.core.statuses import AgentStatus
from voice_agents.data.agent_record import AgentRecord
from voice_agents.models.post_call_fields import PostCallField, PostCallFields, read_post_call_fields
from voice_agents.models.routing import AnswerMode, BusinessHoursSetting, Fallback, PhoneNumber, RingSeconds
from voice_agents.models.text import (
    LINE_PATTERN,
    PARAGRAPHS_PATTERN,
    REQUIRED_LINE_PATTERN,
    REQUIRED_PARAGRAPHS_PATTERN,
    Line,
    Paragraphs,
    declared_pattern,
    sent_at_most,
)

# Retell's language enum (specs/retell-openapi.yaml, AgentRequest.language).
Language = Literal[
    "multi", "en-US", "en-IN", "en-GB", "en-AU", "en-NZ", "de-DE", "es-ES", "es-419", "hi-IN", "fr-FR",
    "fr-CA", "ja-JP", "pt-PT", "pt-BR", "zh-CN", "ru-RU", "it-IT", "ko-KR", "nl-NL", "nl-BE", "pl-PL",
    "tr-TR", "vi-VN", "ro-RO", "bg-BG", "ca-ES", "th-TH", "da-DK", "fi-FI", "el-GR", "hu-HU", "id-ID",
    "no-NO", "sk-SK", "sv-SE", "lt-LT", "lv-LV", "cs-CZ", "ms-MY", "af-ZA", "ar-SA", "az-AZ", "bs-BA",
    "cy-GB", "fa-IR", "fil-PH", "gl-ES", "he-IL", "hr-HR", "hy-AM", "is-IS", "kk-KZ", "kn-IN", "mk-MK",
    "mr-IN", "ne-NP", "sl-SI", "sr-RS", "sw-KE", "ta-IN", "ur-IN", "yue-CN", "uk-UA",
]  # fmt: skip

DEFAULT_VOICE_ID = "11labs-Adrian"
DEFAULT_LANGUAGE: Language = "en-AU"


# The agent's editable fields, as create and update both validate them.
AgentName = Annotated[
    Line, Field(min_length=1, max_length=100, **declared_pattern(REQUIRED_LINE_PATTERN)), sent_at_most(100)
]
AgentDescription = Annotated[
    Line, Field(max_length=1000, **declared_pattern(LINE_PATTERN)), sent_at_most(1000)
]
AgentPrompt = Annotated[
    Paragraphs,
    Field(min_length=1, max_length=20_000, **declared_pattern(REQUIRED_PARAGRAPHS_PATTERN)),
    sent_at_most(20_000),
]
AgentBeginMessage = Annotated[
    Paragraphs, Field(max_length=1000, **declared_pattern(PARAGRAPHS_PATTERN)), sent_at_most(1000)
]
VoiceId = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")]
# ISO 3166 alpha-2, as Twilio's AvailablePhoneNumbers take it.
CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$", examples=["AU"])]


def _never_null(schema: dict[str, Any]) -> None:
    """The document offers no null for such a field: None is only its default (left out)."""
    options = [each for each in schema.pop("anyOf", []) if each.get("type") != "null"]
    if len(options) == 1:
        schema.update(options[0])


def _refuse_null(value: Any) -> Any:
    if value is None:
        raise PydanticCustomError("not_null", "cannot be null: leave the field out to keep it")
    return value


class CreateAgentRequest(BaseModel):
    """Body of ``POST /api/agents``. Unknown fields are rejected so a typo is not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: AgentName
    description: AgentDescription | None = None
    prompt: AgentPrompt
    beginMessage: AgentBeginMessage | None = None
    voiceId: VoiceId = DEFAULT_VOICE_ID
    language: Language = DEFAULT_LANGUAGE
    transferNumber: PhoneNumber | None = None
    fallback: Fallback | None = None
    answerMode: AnswerMode = AGENT
    ringSeconds: RingSeconds = DEFAULT_RING_SECONDS
    businessHours: BusinessHoursSetting | None = None
    postCallFields: PostCallFields = []
    # Where the number comes from; left out: the deployment's PHONE_NUMBER_COUNTRY / PHONE_NUMBER_TYPE.
    # GET /api/phone-number-options lists the pairs a deployment offers.
    country: CountryCode | None = Field(default=None, json_schema_extra=_never_null)
    numberType: NumberType | None = Field(default=None, json_schema_extra=_never_null)

    _number_pair_not_null = field_validator("country", "numberType")(_refuse_null)


# Fields an update may leave out but not clear: the agent cannot work without them (postCallFields
# is cleared with an empty list).
_REQUIRED_ON_UPDATE = ("name", "prompt", "voiceId", "language", "answerMode", "ringSeconds", "postCallFields")


class UpdateAgentRequest(BaseModel):
    """Body of ``PATCH /api/agents/{agentId}``: any of the create's editable fields, validated the
    same way; ``description`` and ``beginMessage`` may be null to clear them. Any other field (the
    phone number, its country and numberType, the status...) is refused: they cannot be changed."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"minProperties": 1})

    name: AgentName | None = Field(default=None, json_schema_extra=_never_null)
    description: AgentDescription | None = None
    prompt: AgentPrompt | None = Field(default=None, json_schema_extra=_never_null)
    beginMessage: AgentBeginMessage | None = None
    voiceId: VoiceId | None = Field(default=None, json_schema_extra=_never_null)
    language: Language | None = Field(default=None, json_schema_extra=_never_null)
    transferNumber: PhoneNumber | None = None
    fallback: Fallback | None = None
    answerMode: AnswerMode | None = Field(default=None, json_schema_extra=_never_null)
    ringSeconds: RingSeconds | None = Field(default=None, json_schema_extra=_never_null)
    businessHours: BusinessHoursSetting | None = None
    postCallFields: PostCallFields | None = Field(default=None, json_schema_extra=_never_null)

    _not_null = field_validator(*_REQUIRED_ON_UPDATE)(_refuse_null)

    @model_validator(mode="after")
    def _changes_something(self) -> UpdateAgentRequest:
        if not self.model_fields_set:
            raise PydanticCustomError("empty_update", "the body names no field to change")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields the body sets, as the record stores them."""
        return self.model_dump(include=self.model_fields_set)


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
    transferNumber: str | None = None
    fallback: Fallback | None = None
    answerMode: AnswerMode = AGENT
    ringSeconds: int = DEFAULT_RING_SECONDS
    businessHours: BusinessHoursSetting | None = None
    postCallFields: list[PostCallField] = []
    country: str | None = None
    numberType: NumberType | None = None
    createdAt: datetime
    updatedAt: datetime

    @classmethod
    def from_record(cls, record: AgentRecord, default_pair: NumberPair | None = None) -> Agent:
        """The agent as the API shows it. A record of an older shape (a field missing or of another
        type) still shows, so one such record never breaks its owner's list. An unknown status
        shows as failed (the reconciler counts such a record as stuck, which alarms). A record from
        before agents had a country reads it from its number, else as ``default_pair`` (the
        deployment's PHONE_NUMBER_COUNTRY / PHONE_NUMBER_TYPE, which it was bought as)."""
        try:
            status = AgentStatus(str(record.status))
        except ValueError:
            status = AgentStatus.FAILED
        routing = record.routing
        return cls(
            id=str(record.id),
            name=record.text("name") or "",
            description=record.text("description"),
            prompt=record.text("prompt") or "",
            beginMessage=record.text("beginMessage"),
            voiceId=record.text("voiceId") or DEFAULT_VOICE_ID,
            language=record.text("language") or DEFAULT_LANGUAGE,
            status=status,
            phoneNumber=record.text("phoneNumber"),
            twilioPhoneNumberSid=record.text("twilioPhoneNumberSid"),
            webhookUrl=record.text("webhookUrl"),
            retellAgentId=record.text("retellAgentId"),
            retellLlmId=record.text("retellLlmId"),
            failedStep=record.failed_step,
            transferNumber=routing.transfer_number,
            fallback=Fallback(action=routing.fallback_action, number=routing.fallback_number)
            if routing.fallback_action
            else None,
            answerMode=routing.answer_mode,
            ringSeconds=routing.ring_seconds,
            businessHours=BusinessHoursSetting.model_validate(routing.hours.to_json())
            if routing.hours
            else None,
            postCallFields=read_post_call_fields(record.post_call_fields),
            **_number_pair(record, default_pair),
            createdAt=record.moment("createdAt"),
            updatedAt=record.moment("updatedAt"),
        )


def _number_pair(record: AgentRecord, default_pair: NumberPair | None) -> dict[str, Any]:
    pair = record.number_pair(default_pair)
    return {"country": pair[0], "numberType": pair[1]} if pair else {}


@dataclass(frozen=True)
class VersionedAgent:
    """An agent and its ETag (the ``If-Match`` of an update)."""

    agent: Agent
    etag: str

    @classmethod
    def from_record(cls, record: AgentRecord, default_pair: NumberPair | None = None) -> VersionedAgent:
        return cls(Agent.from_record(record, default_pair), record.entity_tag)


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


class PhoneNumberOption(BaseModel):
    """A country and number type a create may ask for (``default``: the one it gets when it asks none)."""

    model_config = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)

    country: str = Field(pattern=r"^[A-Z]{2}$")
    numberType: NumberType
    default: bool


class PhoneNumberOptions(BaseModel):
    """``GET /api/phone-number-options``: the pairs this deployment offers, its default first."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    options: list[PhoneNumberOption]
