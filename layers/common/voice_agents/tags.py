"""Tags that name the agent owning a paid resource, so a sweep can find resources whose create
response was lost. Format: ``{RESOURCE_TAG}:{agentId}`` (Twilio FriendlyName, Retell LLM dynamic
variable, Retell agent_name prefix). Only resources carrying this deployment's prefix are touched."""

from __future__ import annotations

import re

from bson import ObjectId

_AGENT_ID = re.compile(r"[0-9a-f]{24}")


def tag_for(prefix: str, agent_id: ObjectId | str) -> str:
    return f"{prefix}:{agent_id}"


def agent_id_from_tag(prefix: str, text: str | None) -> ObjectId | None:
    """The agent id a tag (or a name starting with one) names, or None when it is not ours."""
    if not text or not text.startswith(f"{prefix}:"):
        return None
    match = _AGENT_ID.match(text, len(prefix) + 1)
    if match is None or (match.end() < len(text) and not text[match.end()].isspace()):
        return None
    return ObjectId(match.group())


def retell_agent_name(tag: str, name: str) -> str:
    """Retell's agent_name is for reference only: the tag first, then the human name."""
    return f"{tag} {name}"
