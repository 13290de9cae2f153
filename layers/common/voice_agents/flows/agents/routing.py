"""An agent's routing settings as the agent flows use them (``core.routing`` holds the rules): the
cross-field check create and update make before anything else, and the URLs the settings put on the
agent's number (its VoiceFallbackUrl) and on its base URL."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bson import ObjectId

from voice_agents.core.errors import InvalidRequest
from voice_agents.core.routing import FIELDS, Routing, problems
from voice_agents.core.tags import base_url_of, fallback_url
from voice_agents.data.agent_record import AgentRecord

# Changing one of these changes where the number's VoiceFallbackUrl sends a caller.
FALLBACK_FIELDS = ("transferNumber", "fallback")


def refuse_unusable(settings: Mapping[str, Any]) -> None:
    """Raise InvalidRequest naming the field of the first problem a complete set of routing
    settings has (``core.routing.problems``)."""
    found = problems(settings)
    if found:
        field, message = found[0]
        raise InvalidRequest(field, message)


def touches_routing(changes: Mapping[str, Any]) -> bool:
    return any(name in changes for name in FIELDS)


def settings_after(record: AgentRecord, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The agent's routing settings as they would be after ``changes`` (the API's names). The
    record's are read as the calls read them (``Routing.from_settings``: a value of another shape is
    its default), so an old or damaged record is judged by what it does."""
    routing = record.routing
    current: dict[str, Any] = {
        "transferNumber": routing.transfer_number,
        "fallback": {"action": routing.fallback_action, "number": routing.fallback_number}
        if routing.fallback_action
        else None,
        "answerMode": routing.answer_mode,
        "ringSeconds": routing.ring_seconds,
        "businessHours": routing.hours.to_json() if routing.hours else None,
    }
    return current | {name: value for name, value in changes.items() if name in FIELDS}


def number_fallback_url(base_url: str, agent_id: ObjectId | str, settings: Mapping[str, Any]) -> str:
    """The VoiceFallbackUrl of the agent's number for these routing settings (as stored)."""
    return fallback_url(base_url, agent_id, Routing.from_settings(settings).fallback())


def record_base_url(record: AgentRecord, configured: str | None) -> str | None:
    """The base URL of the agent's callbacks: the configured one (WEBHOOK_BASE_URL), else the one its
    number's webhook was built on (the create chose every URL from one base); None if neither."""
    return configured or base_url_of(record.webhook_url, record.id)


def expected_fallback_url(record: AgentRecord, configured: str | None) -> str | None:
    """What the record's number's VoiceFallbackUrl should be, or None when its base is unknown."""
    base = record_base_url(record, configured)
    return number_fallback_url(base, record.id, record.document) if base else None
