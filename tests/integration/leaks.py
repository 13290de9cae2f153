"""What 'nothing leaked' means, checked against the fakes' real state and the database."""

from __future__ import annotations

from typing import Any

from local.stack import LocalStack

SETTLED = {"active", "failed", "deleted"}


def leaks(stack: LocalStack, db: Any) -> dict[str, list[str]]:
    """Paid or dangling resources that no active agent references, and unsettled records."""
    records = list(db.agents.find())
    active = [record for record in records if record["status"] == "active"]
    numbers = {record.get("twilioPhoneNumberSid") for record in active}
    retell_agents = {record.get("retellAgentId") for record in active}
    llms = {record.get("retellLlmId") for record in active}
    found = {
        "numbers": sorted(sid for sid in stack.twilio.owned if sid not in numbers),
        "retell_agents": sorted(
            agent_id for agent_id in stack.retell.agents if agent_id not in retell_agents
        ),
        "retell_llms": sorted(llm_id for llm_id in stack.retell.llms if llm_id not in llms),
        "unsettled_records": sorted(
            f"{r['_id']}:{r['status']}" for r in records if r["status"] not in SETTLED
        ),
        "active_without_resources": sorted(
            str(r["_id"])
            for r in active
            if r.get("twilioPhoneNumberSid") not in stack.twilio.owned
            or r.get("retellAgentId") not in stack.retell.agents
            or r.get("retellLlmId") not in stack.retell.llms
        ),
    }
    return {kind: items for kind, items in found.items() if items}
