"""Everything that writes or reads the tag naming the agent that owns a paid resource, so a sweep
can find resources whose create response was lost. Format: ``{RESOURCE_TAG}:{agentId}``, carried
as the Twilio number's FriendlyName, a Retell LLM dynamic variable and the Retell agent_name's
first word. Only resources carrying this deployment's prefix are touched. The number's webhook URL
names the agent too, and lives here for the same reason (docs/architecture.md, "Tags")."""

from __future__ import annotations

import re
import urllib.parse
from typing import TYPE_CHECKING, Any

from bson import ObjectId

if TYPE_CHECKING:
    from voice_agents.core.routing import Destination

_AGENT_ID = re.compile(r"[0-9a-f]{24}")
# The key, inside an LLM's default_dynamic_variables, that names the agent owning it (its tag).
LLM_TAG_VARIABLE = "voice_agents_tag"
WEBHOOK_PATH = "/api/webhooks/twilio/{agent_id}"
RETELL_WEBHOOK_PATH = "/api/webhooks/retell"
# The call path's other Twilio callbacks of one agent: how a <Dial> leg ended, a voicemail's
# recording, and the number's VoiceFallbackUrl.
CALL_STEP_PATH = "/api/webhooks/twilio/{agent_id}/{step}"
DIAL_STATUS, RECORDING, FALLBACK = "dial-status", "recording", "fallback"
# The key of the metadata each call is registered with at Retell that names its Twilio CallSid: Retell's
# events and the transfer tool find the call by it.
CALL_SID_METADATA = "twilio_call_sid"
# Where the agent's transfer tool (a Retell custom function) posts: one URL, the call names the agent.
TRANSFER_TOOL_PATH = "/api/tools/transfer"
# What a base URL answers to say which deployment serves it (the sweep asks before moving anything).
HEALTH_PATH = "/api/webhooks/health"


def tag_prefix(prefix: str) -> str:
    """What every tag of this deployment starts with (Twilio's FriendlyName is matched on it)."""
    return f"{prefix}:"


def tag_for(prefix: str, agent_id: ObjectId | str) -> str:
    return f"{tag_prefix(prefix)}{agent_id}"


def agent_id_from_tag(prefix: str, text: str | None) -> ObjectId | None:
    """The agent id a tag (or a name starting with one) names, or None when it is not ours."""
    if not text or not text.startswith(tag_prefix(prefix)):
        return None
    match = _AGENT_ID.match(text, len(prefix) + 1)
    if match is None or (match.end() < len(text) and not text[match.end()].isspace()):
        return None
    return ObjectId(match.group())


def retell_agent_name(tag: str, name: str) -> str:
    """Retell's agent_name is for reference only: the tag first, then the human name."""
    return f"{tag} {name}"


def agent_tag(agent: dict[str, Any]) -> str | None:
    """The tag a Retell agent carries: the first word of its agent_name."""
    return (agent.get("agent_name") or "").split(" ", 1)[0] or None


def llm_dynamic_variables(tag: str) -> dict[str, str]:
    """The Retell LLM's default dynamic variables: they carry its tag."""
    return {LLM_TAG_VARIABLE: tag}


def llm_tag(llm: dict[str, Any]) -> str | None:
    """The tag a Retell LLM carries, in its default dynamic variables."""
    value = (llm.get("default_dynamic_variables") or {}).get(LLM_TAG_VARIABLE)
    return str(value) if value else None


def webhook_url(base_url: str, agent_id: ObjectId | str) -> str:
    """The voice webhook a number points at: Twilio signs its requests over this URL."""
    return base_url.rstrip("/") + WEBHOOK_PATH.format(agent_id=agent_id)


def base_url_of(number_webhook: str | None, agent_id: ObjectId | str) -> str | None:
    """The base URL a number's voice webhook was built on (``webhook_url``), or None."""
    path = WEBHOOK_PATH.format(agent_id=agent_id)
    if not number_webhook or not number_webhook.endswith(path):
        return None
    return number_webhook[: -len(path)] or None


def retell_webhook_url(base_url: str) -> str:
    """Where a Retell agent sends its call events (one URL for every agent: events name the call)."""
    return base_url.rstrip("/") + RETELL_WEBHOOK_PATH


def base_url_of_events(events_url: str | None) -> str | None:
    """The base URL a Retell agent's call-events URL was built on (``retell_webhook_url``), or None."""
    if not events_url or not events_url.endswith(RETELL_WEBHOOK_PATH):
        return None
    return events_url[: -len(RETELL_WEBHOOK_PATH)] or None


def health_url(base_url: str) -> str:
    return base_url.rstrip("/") + HEALTH_PATH


def call_step_url(base_url: str, agent_id: ObjectId | str, step: str, **query: str) -> str:
    """A Twilio callback of the call path (``DIAL_STATUS``, ``RECORDING``, ``FALLBACK``); its query is
    signed with the rest of the URL, so what it carries cannot be forged."""
    url = base_url.rstrip("/") + CALL_STEP_PATH.format(agent_id=agent_id, step=step)
    return f"{url}?{urllib.parse.urlencode(sorted(query.items()))}" if query else url


def fallback_url(base_url: str, agent_id: ObjectId | str, destination: Destination) -> str:
    """The number's VoiceFallbackUrl: Twilio requests it when the voice webhook fails, and it answers
    from what it carries (``forward`` and its number, or ``then``), without the database or Retell."""
    from voice_agents.core.routing import FORWARD  # the routing rules load only where calls are routed

    if destination.action == FORWARD and destination.number:
        return call_step_url(base_url, agent_id, FALLBACK, forward=destination.number)
    return call_step_url(base_url, agent_id, FALLBACK, then=destination.action)


def transfer_tool_url(base_url: str) -> str:
    return base_url.rstrip("/") + TRANSFER_TOOL_PATH
