"""An agent's fields as Retell names them: which live on the Retell LLM and which on the Retell agent.
The update sends only what changes through this mapping; the create sends the same fields through the
adapter's named arguments (``RetellClient.create_llm`` / ``create_agent``), with the same rules."""

from __future__ import annotations

from typing import Any

from voice_agents.core.tags import retell_agent_name
from voice_agents.providers.retell import start_speaker

# The record's fields and what Retell calls them: on the LLM, and on the agent.
LLM_FIELDS = {"prompt": "general_prompt", "beginMessage": "begin_message"}
# ``retellWebhookUrl`` is not the API's to change: the reconciler re-points a drifted call-events URL.
AGENT_FIELDS = {
    "voiceId": "voice_id",
    "language": "language",
    "name": "agent_name",
    "retellWebhookUrl": "webhook_url",
}


def retell_changes(tag: str, changes: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """What changes on the Retell LLM and on the Retell agent, in Retell's names (the agent's name
    keeps its tag first, as on create)."""
    llm = {LLM_FIELDS[name]: value for name, value in changes.items() if name in LLM_FIELDS}
    if "beginMessage" in changes:
        llm["start_speaker"] = start_speaker(changes["beginMessage"])
    agent = {AGENT_FIELDS[name]: value for name, value in changes.items() if name in AGENT_FIELDS}
    if "agent_name" in agent:
        agent["agent_name"] = retell_agent_name(tag, agent["agent_name"])
    return llm, agent
