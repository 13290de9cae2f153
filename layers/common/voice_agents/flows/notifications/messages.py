"""A queued notification: one message per analysed call and channel, as JSON on the notifications
queue. Kept free of pydantic: the Retell webhook builds these, and its cold start imports none."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

WEBHOOK = "webhook"
EMAIL = "email"
CHANNELS = (WEBHOOK, EMAIL)


def event_id_for(call_sid: str) -> str:
    """One id per call's analysis: the webhook's ``webhook-id`` and the delivery records' key, the
    same for every try and every repeat of Retell's event."""
    return f"evt_{call_sid}_analyzed"


@dataclass(frozen=True)
class QueuedNotification:
    event_id: str
    channel: str
    call_sid: str
    owner_id: str
    occurred_at: datetime  # when the analysis arrived: the event's timestamp, the same on every try

    def body(self) -> dict[str, Any]:
        return {
            "eventId": self.event_id,
            "channel": self.channel,
            "callSid": self.call_sid,
            "ownerId": self.owner_id,
            "occurredAt": self.occurred_at.isoformat(),
        }

    @classmethod
    def read(cls, text: str) -> QueuedNotification | None:
        """The message, or None when it is not one of ours (it is then dropped, never retried)."""
        try:
            body = json.loads(text)
            notification = cls(
                event_id=str(body["eventId"]),
                channel=str(body["channel"]),
                call_sid=str(body["callSid"]),
                owner_id=str(body["ownerId"]),
                occurred_at=datetime.fromisoformat(str(body["occurredAt"])),
            )
        except (ValueError, TypeError, KeyError):
            return None
        valid = notification.channel in CHANNELS and notification.occurred_at.tzinfo is not None
        return notification if valid else None
