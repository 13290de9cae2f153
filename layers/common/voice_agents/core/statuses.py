"""An agent's lifecycle statuses and a call's, apart from the API's pydantic models: the webhooks, the
store and the records read them, and must not import pydantic for it (cold start)."""

from __future__ import annotations

from enum import StrEnum


class AgentStatus(StrEnum):
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    DELETING = "deleting"
    FAILED = "failed"


class CallStatus(StrEnum):
    """Where an inbound call is: handed to Retell by the Twilio webhook (``registered``), answered by
    the agent (``ongoing``), over (``ended``), or never taken by Retell (``not_connected``)."""

    REGISTERED = "registered"
    ONGOING = "ongoing"
    ENDED = "ended"
    NOT_CONNECTED = "not_connected"
