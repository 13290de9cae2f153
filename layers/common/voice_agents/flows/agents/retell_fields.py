"""An agent's fields as Retell names them: which live on the Retell LLM and which on the Retell agent.
The update sends only what changes through this mapping; the create sends the same fields through the
adapter's named arguments (``RetellClient.create_llm`` / ``create_agent``), with the same rules.

The transfer tool: an agent with a ``transferNumber`` has, in its LLM's ``general_tools``, a Retell
custom tool (``core.routing.TRANSFER_TOOL``) the model calls to put the caller through to a person;
Retell posts the call to ``core.tags.transfer_tool_url``, which reads the number from the record at
call time. So only adding a transferNumber (from none) or clearing it changes the LLM; changing it
does not.

The owner's questions about each call (``postCallFields``) are the Retell agent's
``post_call_analysis_data`` (``post_call_analysis_data`` below): versioned with the agent, so an update
that changes them makes a new version, and each call is analysed with the questions of the version it
ran.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from voice_agents.core.routing import TRANSFER_TOOL
from voice_agents.core.tags import retell_agent_name, transfer_tool_url
from voice_agents.providers.retell_rules import start_speaker

# The record's fields and what Retell calls them: on the LLM, and on the agent.
LLM_FIELDS = {"prompt": "general_prompt", "beginMessage": "begin_message"}
# ``retellWebhookUrl`` is not the API's to change: the reconciler re-points a drifted call-events URL.
AGENT_FIELDS = {
    "voiceId": "voice_id",
    "language": "language",
    "name": "agent_name",
    "retellWebhookUrl": "webhook_url",
    "postCallFields": "post_call_analysis_data",
}
# The record's field whose presence gives the LLM the transfer tool.
TRANSFER_FIELD = "transferNumber"
TRANSFER_TOOL_TIMEOUT_MS = 10_000


def transfer_tool(base_url: str) -> dict[str, Any]:
    """The transfer tool, as Retell's custom tool schema has it (specs/retell-openapi.yaml,
    ``CustomTool``): the model says it is putting the caller through while the call is made, and
    says nothing after it (the call leaves the agent)."""
    return {
        "type": "custom",
        "name": TRANSFER_TOOL,
        "description": (
            "Put the caller through to a person at the business. Use it when the caller asks to speak "
            "to a person (a human, a staff member, the owner, reception), or when you cannot help with "
            "what the caller needs."
        ),
        "url": transfer_tool_url(base_url),
        "method": "POST",
        "speak_during_execution": True,
        "execution_message_description": "Tell the caller you are putting them through now",
        # A transfer that cannot happen is answered in words the agent then says (take a message).
        "speak_after_execution": True,
        "parameters": {
            "type": "object",
            "properties": {
                "reason": {
                    "type": "string",
                    "description": "Why the caller wants a person, in a few words (optional)",
                }
            },
        },
        "timeout_ms": TRANSFER_TOOL_TIMEOUT_MS,
    }


def post_call_analysis_data(fields: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The agent's postCallFields as Retell's items (specs/retell-openapi.yaml: StringAnalysisData,
    EnumAnalysisData, BooleanAnalysisData, NumberAnalysisData: ``type``, ``name``, ``description``,
    and ``choices`` for an enum only)."""
    return [
        {
            "type": field["type"],
            "name": field["name"],
            "description": field["description"],
            **({"choices": list(field["choices"])} if field["type"] == "enum" else {}),
        }
        for field in fields
    ]


def llm_tools(transfer_number: str | None, base_url: str) -> list[dict[str, Any]] | None:
    """The tools a new agent's LLM is created with: the transfer tool when it has a number."""
    return [transfer_tool(base_url)] if transfer_number else None


def needs_base_url(changes: dict[str, Any], *, had_transfer: bool) -> bool:
    """Whether ``changes`` add the transfer tool (whose URL is built on the base URL)."""
    return bool(changes.get(TRANSFER_FIELD)) and not had_transfer


def retell_changes(
    tag: str, changes: dict[str, Any], *, had_transfer: bool = False, base_url: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What changes on the Retell LLM and on the Retell agent, in Retell's names (the agent's name
    keeps its tag first, as on create). ``had_transfer``: whether the agent has a transferNumber
    before the change; ``base_url`` is needed only when the change adds one."""
    llm = {LLM_FIELDS[name]: value for name, value in changes.items() if name in LLM_FIELDS}
    if "beginMessage" in changes:
        llm["start_speaker"] = start_speaker(changes["beginMessage"])
    if TRANSFER_FIELD in changes:
        has_transfer = bool(changes[TRANSFER_FIELD])
        if has_transfer and not had_transfer:
            if base_url is None:
                raise ValueError("the transfer tool's URL needs the base URL")
            llm["general_tools"] = [transfer_tool(base_url)]
        elif had_transfer and not has_transfer:
            llm["general_tools"] = []
    agent = {AGENT_FIELDS[name]: value for name, value in changes.items() if name in AGENT_FIELDS}
    if "post_call_analysis_data" in agent:
        agent["post_call_analysis_data"] = post_call_analysis_data(agent["post_call_analysis_data"])
    if "agent_name" in agent:
        agent["agent_name"] = retell_agent_name(tag, agent["agent_name"])
    return llm, agent
