"""Where an agent's calls go: its routing settings as one value, and the rules that pick the caller's
next destination when the one before could not take the call. Pure: the voice webhook, the dial-status
callback and the fallback URL all decide here, so a caller meets the same rules on every path.

The settings (all optional, as the API takes them):

    transferNumber   the business's own phone: the agent may put callers through to it
    fallback         when the agent cannot take a call: {"action": "forward" | "voicemail" | "message",
                     "number"?}; by default forward to transferNumber when there is one, else voicemail
    answerMode       "agent" (default) or "person_first": ring transferNumber first for ringSeconds
    businessHours    core.hours.BusinessHours as JSON, or absent (always open)

The rules a caller is never left on a dead line by: the fallback of a fallback is voicemail, and a
number that has just not answered is never rung again on the same call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from voice_agents.core.hours import BusinessHours

AGENT = "agent"
PERSON_FIRST = "person_first"
ANSWER_MODES = (AGENT, PERSON_FIRST)
FORWARD = "forward"
VOICEMAIL = "voicemail"
MESSAGE = "message"
FALLBACK_ACTIONS = (FORWARD, VOICEMAIL, MESSAGE)
DEFAULT_RING_SECONDS = 20
RING_SECONDS_RANGE = (5, 60)
# The agent's Retell custom function that puts a caller through to transferNumber.
TRANSFER_TOOL = "transfer_to_person"
# The routing settings as the record and the API name them.
FIELDS = ("transferNumber", "fallback", "answerMode", "ringSeconds", "businessHours")


@dataclass(frozen=True)
class Destination:
    """Where the caller goes next: ``forward`` to ``number``, ``voicemail``, or a spoken ``message``."""

    action: str
    number: str | None = None


@dataclass(frozen=True)
class Routing:
    transfer_number: str | None = None
    fallback_action: str | None = None  # None: the default (see ``fallback``)
    fallback_number: str | None = None
    answer_mode: str = AGENT
    ring_seconds: int = DEFAULT_RING_SECONDS
    hours: BusinessHours | None = None

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Routing:
        """The settings as stored (validated when they were written); a value of another shape, from
        a record older than these settings or damaged, reads as its default rather than failing a
        call."""
        fallback = settings.get("fallback")
        fallback = fallback if isinstance(fallback, Mapping) else {}
        action = fallback.get("action")
        ring = settings.get("ringSeconds")
        low, high = RING_SECONDS_RANGE
        return cls(
            transfer_number=_text(settings.get("transferNumber")),
            fallback_action=action if action in FALLBACK_ACTIONS else None,
            fallback_number=_text(fallback.get("number")),
            answer_mode=PERSON_FIRST if settings.get("answerMode") == PERSON_FIRST else AGENT,
            ring_seconds=ring if isinstance(ring, int) and low <= ring <= high else DEFAULT_RING_SECONDS,
            hours=_hours(settings.get("businessHours")),
        )

    def fallback(self, *, not_to: str | None = None) -> Destination:
        """Where a caller goes when the agent cannot take the call; never back to ``not_to`` (a
        number that has just failed to answer), and voicemail when forwarding has nowhere to go."""
        action = self.fallback_action or (FORWARD if self.transfer_number else VOICEMAIL)
        if action == FORWARD:
            number = self.fallback_number or self.transfer_number
            if number is None or number == not_to:
                return Destination(VOICEMAIL)
            return Destination(FORWARD, number)
        return Destination(action)

    def is_open(self, moment: datetime) -> bool:
        return self.hours is None or self.hours.is_open(moment)

    def after_hours(self) -> Destination | None:
        """What a call gets while closed: None for the agent (told the business is closed)."""
        chosen = self.hours.after_hours if self.hours else AGENT
        if chosen == AGENT:
            return None
        number = self.fallback_number or self.transfer_number
        if chosen == FORWARD and number is not None:
            return Destination(FORWARD, number)
        return Destination(VOICEMAIL)

    def rings_person_first(self, moment: datetime) -> bool:
        return self.answer_mode == PERSON_FIRST and self.transfer_number is not None and self.is_open(moment)


def problems(settings: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What makes a complete set of routing settings unusable, as (field, message): checked on create
    and on every update against the agent's settings as they would become."""
    found: list[tuple[str, str]] = []
    transfer = settings.get("transferNumber")
    fallback = settings.get("fallback") or {}
    if settings.get("answerMode") == PERSON_FIRST and not transfer:
        found.append(("answerMode", "person_first rings transferNumber first: set transferNumber too"))
    if fallback.get("action") == FORWARD and not (fallback.get("number") or transfer):
        found.append(("fallback.number", "forward needs a number: set fallback.number or transferNumber"))
    if fallback.get("number") and fallback.get("action") != FORWARD:
        found.append(("fallback.number", "a number is only used with the action forward"))
    hours = settings.get("businessHours") or {}
    if hours.get("afterHours") == FORWARD and not (fallback.get("number") or transfer):
        found.append(
            ("businessHours.afterHours", "forward needs a number: set transferNumber or fallback.number")
        )
    return found


def _hours(raw: Any) -> BusinessHours | None:
    if not isinstance(raw, Mapping):
        return None
    try:
        return BusinessHours.parse(raw)
    except ValueError:
        return None  # stored hours that no longer parse: always open, so the agent still answers


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
