"""An agent's lifecycle statuses, apart from the API's pydantic models: the webhook, the store and the
records read them, and must not import pydantic for it (cold start)."""

from __future__ import annotations

from enum import StrEnum


class AgentStatus(StrEnum):
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    DELETING = "deleting"
    FAILED = "failed"
