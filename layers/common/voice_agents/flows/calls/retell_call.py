"""Retell's call object, as its call events carry it: the fields the call record keeps, read by hand
and checked against what Retell documents (specs/retell-openapi.yaml, ``V2CallBase``; the fields and
their lines are listed in docs/retell_fields.md).

Read by hand, not by a pydantic model: this is every event's path, and pydantic's model machinery
would double the function's cold start. A field that is not as Retell documents it makes the event
malformed (``RetellCall.read`` names it); within a field, what Retell may add later without breaking
us (a speaker role we do not know, an answer of another type) is left out, not refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from voice_agents.core.observability import logger
from voice_agents.core.post_call_fields import ANSWER_TEXT_MAX_LENGTH, MAX_FIELDS, NAME, Answer
from voice_agents.core.tags import CALL_SID_METADATA
from voice_agents.data.calls import CallCost, CallFacts, Speaker, Turn

# Epoch milliseconds up to the last one a datetime holds (9999-12-31).
MAX_EPOCH_MS = 253_402_300_799_999
SHORT_TEXT = 200
SUMMARY_TEXT = 20_000
URL_TEXT = 2_048
# Retell's transcript roles (``Utterance.role``) and who they are to the owner: transfer_target is
# the person Retell's own transfer reached.
SPEAKER_OF_ROLE: dict[str, Speaker] = {"agent": "agent", "user": "caller", "transfer_target": "person"}
# An amount of cents no call costs: a value past it is not what Retell documents.
MAX_CENTS = 10**9
# The largest number an answer keeps: what BSON's 64-bit integers and JavaScript's numbers hold exactly.
MAX_ANSWER = 2**53


@dataclass(frozen=True)
class RetellCall:
    """The fields of Retell's call object the call record keeps; the rest is ignored."""

    call_id: str
    call_status: str | None = None
    start_timestamp: int | None = None
    end_timestamp: int | None = None
    duration_ms: int | None = None
    disconnection_reason: str | None = None
    call_summary: str | None = None
    user_sentiment: str | None = None
    metadata: dict[str, Any] | None = None
    transcript: tuple[Turn, ...] | None = None
    recording_url: str | None = None
    cost: CallCost | None = None
    custom_analysis: dict[str, Answer] | None = None

    @classmethod
    def read(cls, call: Any) -> RetellCall | list[str]:
        """The call, or the names of the fields that are not as Retell documents them."""
        if not isinstance(call, dict):
            return ["call"]
        reader = _Reader()
        call_id = call.get("call_id")
        if not isinstance(call_id, str) or not 1 <= len(call_id) <= SHORT_TEXT:
            reader.invalid.append("call_id")
        analysis = reader.object(call, "call_analysis")
        metadata = reader.object(call, "metadata")
        read = cls(
            call_id=call_id if isinstance(call_id, str) else "",
            call_status=reader.text(call, "call_status", SHORT_TEXT),
            start_timestamp=reader.epoch_ms(call, "start_timestamp"),
            end_timestamp=reader.epoch_ms(call, "end_timestamp"),
            duration_ms=reader.epoch_ms(call, "duration_ms"),
            disconnection_reason=reader.text(call, "disconnection_reason", SHORT_TEXT),
            call_summary=reader.text(analysis or {}, "call_summary", SUMMARY_TEXT, path="call_analysis."),
            user_sentiment=reader.text(analysis or {}, "user_sentiment", SHORT_TEXT, path="call_analysis."),
            metadata=metadata,
            transcript=reader.transcript(call.get("transcript_object")),
            recording_url=reader.text(call, "recording_url", URL_TEXT),
            cost=reader.cost(call.get("call_cost")),
            custom_analysis=reader.answers((analysis or {}).get("custom_analysis_data")),
        )
        return sorted(set(reader.invalid)) if reader.invalid else read

    def call_sid(self) -> str | None:
        """The Twilio CallSid the webhook registered the call with (its metadata comes back)."""
        value = (self.metadata or {}).get(CALL_SID_METADATA)
        return value if isinstance(value, str) and value else None

    def facts(self, *, whole_call: bool = True) -> CallFacts:
        """What this event tells of the call, for its record; without ``whole_call`` (an event sent
        before the call ended), not its transcript, cost nor answers."""
        duration = self.duration_ms
        if duration is None and self.start_timestamp is not None and self.end_timestamp is not None:
            duration = max(self.end_timestamp - self.start_timestamp, 0)
        return CallFacts(
            started_at=_moment(self.start_timestamp),
            ended_at=_moment(self.end_timestamp),
            duration_ms=duration,
            disconnection_reason=self.disconnection_reason,
            summary=self.call_summary,
            sentiment=self.user_sentiment,
            transcript=self.transcript if whole_call else None,
            cost=self.cost if whole_call else None,
            post_call_answers=self.custom_analysis if whole_call else None,
        )


class _Reader:
    """Reads fields of a call object, collecting the names of those that are not as documented."""

    def __init__(self) -> None:
        self.invalid: list[str] = []

    def text(self, source: dict[str, Any], name: str, limit: int, *, path: str = "") -> str | None:
        value = source.get(name)
        if value is None or (isinstance(value, str) and len(value) <= limit):
            return value
        self.invalid.append(path + name)
        return None

    def epoch_ms(self, source: dict[str, Any], name: str) -> int | None:
        value = source.get(name)
        valid = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_EPOCH_MS
        if value is None or valid:
            return value
        self.invalid.append(name)
        return None

    def object(self, source: dict[str, Any], name: str) -> dict[str, Any] | None:
        value = source.get(name)
        if value is None or isinstance(value, dict):
            return value
        self.invalid.append(name)
        return None

    def transcript(self, utterances: Any) -> tuple[Turn, ...] | None:
        """``transcript_object`` as turns (the per-word timings are not kept: the turn's first and
        last word time it)."""
        if utterances is None:
            return None
        if not isinstance(utterances, list) or not all(_is_utterance(each) for each in utterances):
            self.invalid.append("transcript_object")
            return None
        turns = []
        unknown_roles = set()
        for utterance in utterances:
            speaker = SPEAKER_OF_ROLE.get(utterance["role"])
            if speaker is None:
                unknown_roles.add(utterance["role"][:SHORT_TEXT])
                continue
            start, end = _word_times(utterance.get("words"))
            turns.append(Turn(speaker, utterance["content"], start, end))
        if unknown_roles:
            logger.warning("transcript turns of unknown roles left out", roles=sorted(unknown_roles))
        return tuple(turns)

    def cost(self, cost: Any) -> CallCost | None:
        """``call_cost`` in whole cents (Retell's amounts are numbers of cents, fractions possible)."""
        if cost is None:
            return None
        if not isinstance(cost, dict):
            self.invalid.append("call_cost")
            return None
        total = _cents(cost.get("combined_cost"))
        products = _priced_products(cost.get("product_costs", []))
        if total is None:
            self.invalid.append("call_cost.combined_cost")
        if products is None:
            self.invalid.append("call_cost.product_costs")
        if total is None or products is None:
            return None
        return CallCost(
            total_cents=total, billed_seconds=_amount(cost.get("total_duration_seconds")), products=products
        )

    def answers(self, data: Any) -> dict[str, Answer] | None:
        """``custom_analysis_data``: the answers to the agent's postCallFields, by field name. A name
        that is not one of ours, or an answer that is neither text, true/false nor a number (null: not
        extracted), is left out."""
        if data is None:
            return None
        if not isinstance(data, dict):
            self.invalid.append("call_analysis.custom_analysis_data")
            return None
        answers: dict[str, Answer] = {}
        for name, value in data.items():
            if len(answers) == MAX_FIELDS or not isinstance(name, str) or not NAME.fullmatch(name):
                continue
            if isinstance(value, str):
                answers[name] = value[:ANSWER_TEXT_MAX_LENGTH]
            elif isinstance(value, bool) or (_is_amount(value, signed=True) and abs(value) <= MAX_ANSWER):
                answers[name] = value
        return answers


def _is_utterance(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("role"), str)
        and isinstance(value.get("content"), str)
        and isinstance(value.get("words", []), list)
    )


def _priced_products(products: Any) -> tuple[tuple[str, int], ...] | None:
    """``product_costs`` as (product, cents); None when it is not a list of named, priced products."""
    if not isinstance(products, list):
        return None
    priced = []
    for product in products:
        name = product.get("product") if isinstance(product, dict) else None
        cents = _cents(product.get("cost")) if isinstance(product, dict) else None
        if not isinstance(name, str) or cents is None:
            return None
        priced.append((name[:SHORT_TEXT], cents))
    return tuple(priced)


def _word_times(words: Any) -> tuple[float | None, float | None]:
    """The turn's start (its first word's) and end (its last word's), in seconds, to the millisecond."""
    if not isinstance(words, list) or not words:
        return None, None
    first, last = words[0], words[-1]
    start = _amount(first.get("start")) if isinstance(first, dict) else None
    end = _amount(last.get("end")) if isinstance(last, dict) else None
    return (
        round(start, 3) if start is not None else None,
        round(end, 3) if end is not None else None,
    )


def _is_amount(value: Any, *, signed: bool = False) -> bool:
    """A finite number (not a boolean), not negative unless ``signed``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and (signed or value >= 0)


def _amount(value: Any) -> float | None:
    """A finite, non-negative number as a float; None for anything else."""
    return float(value) if _is_amount(value) else None


def _cents(value: Any) -> int | None:
    """A number of cents as a whole cent, half up (Decimal: a float's binary error never decides)."""
    if not _is_amount(value) or value > MAX_CENTS:
        return None
    return int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _moment(epoch_ms: int | None) -> datetime | None:
    if epoch_ms is None:
        return None
    seconds, milliseconds = divmod(epoch_ms, 1000)  # exact: a float would round the milliseconds
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=milliseconds * 1000)
