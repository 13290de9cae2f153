"""The call record's schema (collection ``calls``, one document per Twilio CallSid) and its reading.

Written by the Twilio webhook when it hands a call to Retell (``CallStore.remember``), or when it
sends the caller elsewhere (``open_call``), and completed by Retell's call events
(``flows/calls/events.py``). Fields: ``_id`` (CallSid), ``retellCallId``, ``agentId`` (ObjectId),
``ownerId``, ``from``, ``to``, ``businessOpen``, ``progress`` (see below), ``createdAt`` (its first
webhook), ``orderId`` (an ObjectId drawn then: the calls route's sort key and cursor), ``expiresAt``,
and from Retell's events (``CallFacts``):

    startedAt, endedAt, durationMs, disconnectionReason, summary, sentiment
    transcript            [{speaker: agent | caller | person, text, start?, end?}]: the turns, start
                          and end in seconds from the call's start (Retell's first and last word);
                          capped (TRANSCRIPT_MAX_TURNS, TRANSCRIPT_MAX_CHARACTERS), beginning kept
    transcriptTruncated   whether the cap cut it
    transcriptTurns       how many turns Retell sent (what was kept is ``transcript``'s length)
    cost                  {currency: "USD", totalCents, billedSeconds?, products: [{product, cents}]}:
                          Retell's call_cost, each amount rounded to a whole cent
    postCallAnswers       {name: text | true/false | number}: the answers to the agent's postCallFields
                          (Retell's custom_analysis_data)

Every list here is a list of documents: FerretDB refuses an array directly inside an array (the
decision log). The transcript is left out of list reads (``list_for_agent``); one call's read has it.
A recording's copy is the ``recordings`` collection's (``data/recordings.py``).

What the call path learns (``outcome``, ``transfer``, ``forward``, ``voicemail``, ``messageReason``)
is in a document of its own beside it, ``{CallSid}#route`` (``CallStore.note``).

The status is kept as ``progress``, a number that only grows (``$max``): events arrive in any order
and more than once, and a status that never goes backwards is then one atomic update per event. The
other facts are ``$set`` as each event carries them (the whole call only from call_ended and
call_analyzed): Retell sends the same transcript, cost and answers in every event that has them, so a
replay writes the same values and erases nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, get_args

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from voice_agents.core.post_call_fields import Answer
from voice_agents.core.statuses import CallStatus
from voice_agents.data.database import translate_errors

PROGRESS: dict[CallStatus, int] = {
    CallStatus.REGISTERED: 0,
    CallStatus.ONGOING: 1,
    CallStatus.ENDED: 2,
    # Retell sends not_connected instead of ended (never after it): either one is final.
    CallStatus.NOT_CONNECTED: 3,
}
STATUS_BY_PROGRESS = {rank: status for status, rank in PROGRESS.items()}
OUTCOMES = ("agent", "person", "voicemail", "message", "missed")
# The call path's facts of a call live beside it, in a document of their own (``CallStore.note``).
ROUTE_SUFFIX = "#route"
# A route is only read with its call; its own expiry (the longest retention) only cleans it up.
ROUTE_RETENTION = timedelta(days=365)

# What one call may keep of its transcript. A one-hour call (Retell's default longest) is about 570
# turns and 50,000 characters, 89 kB of BSON; a 10-minute one about 15 kB (tests/benchmarks/
# bench_call_record.py). Past either cap the beginning is kept and ``transcriptTruncated`` says so: at
# most 468 kB (100,000 characters of 4 bytes each, and the turns' keys), far from MongoDB's 16 MB.
TRANSCRIPT_MAX_TURNS = 1_000
TRANSCRIPT_MAX_CHARACTERS = 100_000
Speaker = Literal["agent", "caller", "person"]
SPEAKERS: tuple[Speaker, ...] = get_args(Speaker)
# Retell's call_cost is in US cents (specs/retell-openapi.yaml, V2CallBase.call_cost); its currency is
# not in the call object, so it is written beside every amount.
COST_CURRENCY = "USD"
MAX_COST_PRODUCTS = 20
# The transcript stays out of a page of calls: 20 of them could be megabytes.
_WITHOUT_TRANSCRIPT = {"transcript": 0}


@dataclass(frozen=True)
class Turn:
    """One turn of the conversation: who spoke, what, and when (seconds from the call's start)."""

    speaker: Speaker
    text: str
    start: float | None = None
    end: float | None = None


@dataclass(frozen=True)
class CallCost:
    """What Retell charged for the call, in whole US cents (each amount rounded on its own)."""

    total_cents: int
    billed_seconds: float | None = None
    products: tuple[tuple[str, int], ...] = ()  # (Retell's product name, cents)


@dataclass(frozen=True)
class CallFacts:
    """What one of Retell's events tells of its call. None is "the event did not say": only what an
    event carries is written, so a sparser event (call_started, or call_ended without the analysis)
    erases nothing another one wrote."""

    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_ms: int | None = None
    disconnection_reason: str | None = None
    summary: str | None = None
    sentiment: str | None = None
    transcript: Sequence[Turn] | None = None
    cost: CallCost | None = None
    post_call_answers: Mapping[str, Answer] | None = None

    def stored(self) -> dict[str, Any]:
        """The record's fields for these facts (this module's docstring)."""
        fields: dict[str, Any] = {
            "startedAt": self.started_at,
            "endedAt": self.ended_at,
            "durationMs": self.duration_ms,
            "disconnectionReason": self.disconnection_reason,
            "summary": self.summary,
            "sentiment": self.sentiment,
            "cost": _stored_cost(self.cost) if self.cost is not None else None,
            "postCallAnswers": dict(self.post_call_answers) if self.post_call_answers is not None else None,
        }
        if self.transcript is not None:
            fields |= stored_transcript(self.transcript)
        return {name: value for name, value in fields.items() if value is not None}


def stored_transcript(turns: Sequence[Turn]) -> dict[str, Any]:
    """``transcript``, ``transcriptTruncated`` and ``transcriptTurns`` for ``turns``, capped: the
    turns are kept in order until TRANSCRIPT_MAX_TURNS, or until TRANSCRIPT_MAX_CHARACTERS, the turn
    that reaches it cut there. The same turns always give the same fields, so a repeated event
    changes nothing."""
    kept: list[dict[str, Any]] = []
    room = TRANSCRIPT_MAX_CHARACTERS
    for turn in turns[:TRANSCRIPT_MAX_TURNS]:
        if room <= 0:
            break
        stored: dict[str, Any] = {"speaker": turn.speaker, "text": turn.text[:room]}
        if turn.start is not None:
            stored["start"] = turn.start
        if turn.end is not None:
            stored["end"] = turn.end
        kept.append(stored)
        room -= len(turn.text)
    truncated = len(kept) < len(turns) or room < 0
    return {"transcript": kept, "transcriptTruncated": truncated, "transcriptTurns": len(turns)}


def _stored_cost(cost: CallCost) -> dict[str, Any]:
    stored: dict[str, Any] = {
        "currency": COST_CURRENCY,
        "totalCents": cost.total_cents,
        "products": [{"product": name, "cents": cents} for name, cents in cost.products[:MAX_COST_PRODUCTS]],
    }
    if cost.billed_seconds is not None:
        stored["billedSeconds"] = cost.billed_seconds
    return stored


@dataclass(frozen=True)
class CallIdentity:
    """A call's id, agent and expiry: what its recording's copy is filed under."""

    call_sid: str
    agent_id: ObjectId | None
    expires_at: datetime


def _unexpired(document: dict[str, Any], moment: datetime) -> bool:
    expires = document.get("expiresAt")
    return isinstance(expires, datetime) and expires > moment


class CallRecord:
    """A read of one call record (with its route, when it has one): a record of an unknown shape
    reads as registered, and a field of the wrong type as missing."""

    def __init__(self, document: dict[str, Any], route: dict[str, Any] | None = None) -> None:
        routed = {key: value for key, value in (route or {}).items() if key not in ("_id", "expiresAt")}
        self.document = {**document, **routed}

    @property
    def call_sid(self) -> str:
        return str(self.document["_id"])

    @property
    def retell_call_id(self) -> str:
        return str(self.document.get("retellCallId") or "")

    @property
    def agent_id(self) -> str:
        return str(self.document.get("agentId") or "")

    @property
    def agent_object_id(self) -> ObjectId | None:
        agent = self.document.get("agentId")
        return agent if isinstance(agent, ObjectId) else None

    @property
    def owner_id(self) -> str | None:
        owner = self.document.get("ownerId")
        return owner if isinstance(owner, str) else None

    @property
    def order_id(self) -> ObjectId | None:
        order = self.document.get("orderId")
        return order if isinstance(order, ObjectId) else None

    @property
    def status(self) -> CallStatus:
        progress = self.document.get("progress")
        status = STATUS_BY_PROGRESS.get(progress) if isinstance(progress, int) else None
        return status or CallStatus.REGISTERED

    @property
    def registered_at(self) -> datetime:
        registered: datetime = self.document["createdAt"]
        return registered

    def text(self, name: str) -> str | None:
        """``from``, ``to``, ``disconnectionReason``, ``summary``, ``sentiment``: None when empty."""
        value = self.document.get(name)
        return value if isinstance(value, str) and value else None

    def moment(self, name: str) -> datetime | None:
        """``startedAt``, ``endedAt``."""
        value = self.document.get(name)
        return value if isinstance(value, datetime) else None

    @property
    def outcome(self) -> Any:
        """Where the call ended up: agent, person, voicemail, message or missed (None in progress)."""
        outcome = self.document.get("outcome")
        return outcome if outcome in OUTCOMES else None

    @property
    def business_open(self) -> bool | None:
        value = self.document.get("businessOpen")
        return value if isinstance(value, bool) else None

    def leg(self, name: str) -> dict[str, Any] | None:
        """``transfer``, ``forward`` or ``voicemail``, as stored."""
        value = self.document.get(name)
        return value if isinstance(value, dict) else None

    @property
    def duration_ms(self) -> int | None:
        return _integer(self.document.get("durationMs"))

    @property
    def transcript(self) -> list[Turn]:
        """The stored turns (none when the read left the transcript out, or Retell sent none); a
        turn of another shape is skipped."""
        stored = self.document.get("transcript")
        turns = []
        for turn in stored if isinstance(stored, list) else []:
            if not isinstance(turn, dict) or turn.get("speaker") not in SPEAKERS:
                continue
            text = turn.get("text")
            turns.append(
                Turn(
                    speaker=turn["speaker"],
                    text=text if isinstance(text, str) else "",
                    start=_seconds(turn.get("start")),
                    end=_seconds(turn.get("end")),
                )
            )
        return turns

    @property
    def transcript_truncated(self) -> bool:
        return self.document.get("transcriptTruncated") is True

    @property
    def cost(self) -> CallCost | None:
        stored = self.document.get("cost")
        if not isinstance(stored, dict) or stored.get("currency") != COST_CURRENCY:
            return None
        total = _integer(stored.get("totalCents"))
        if total is None:
            return None
        products = stored.get("products")
        return CallCost(
            total_cents=total,
            billed_seconds=_seconds(stored.get("billedSeconds")),
            products=tuple(
                (product["product"], cents)
                for product in (products if isinstance(products, list) else [])
                if isinstance(product, dict)
                and isinstance(product.get("product"), str)
                and (cents := _integer(product.get("cents"))) is not None
            ),
        )

    @property
    def post_call_answers(self) -> dict[str, Answer]:
        stored = self.document.get("postCallAnswers")
        if not isinstance(stored, dict):
            return {}
        return {
            name: value
            for name, value in stored.items()
            if isinstance(name, str) and isinstance(value, str | bool | int | float)
        }


def _event_query(retell_call_id: str, call_sid: str | None, moment: datetime) -> dict[str, Any]:
    query: dict[str, Any] = {"retellCallId": retell_call_id, "expiresAt": {"$gt": moment}}
    if call_sid is not None:
        query["_id"] = call_sid
    return query


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _seconds(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class CallStore:
    """Inbound calls registered with Retell, by Twilio CallSid: a replay registers nothing, and the
    record is the call's history (this module's docstring has its fields), completed by Retell's events.

    Every read checks the expiry in code: the same on Atlas, and FerretDB has no TTL index (where the
    server has one, it only cleans up).
    """

    def __init__(self, collection: Collection[dict[str, Any]]) -> None:
        self.collection = collection

    def ensure_indexes(self) -> None:
        # The calls route: one owner's calls of one agent, newest first.
        self.collection.create_index(
            [("ownerId", ASCENDING), ("agentId", ASCENDING), ("orderId", DESCENDING)], name="agent_calls"
        )
        # Retell's events name the call by its Retell id.
        self.collection.create_index([("retellCallId", ASCENDING)], name="retell_call")

    @translate_errors
    def registered(self, call_sid: str, moment: datetime) -> str | None:
        """The Retell call id registered for ``call_sid``, unless it expired before ``moment``."""
        existing = self.collection.find_one({"_id": call_sid})
        if existing and existing.get("retellCallId") and existing["expiresAt"] > moment:
            return str(existing["retellCallId"])
        return None

    @translate_errors
    def open_call(
        self,
        call_sid: str,
        *,
        agent_id: ObjectId,
        owner_id: str | None,
        from_number: str,
        to_number: str,
        moment: datetime,
        retention: timedelta,
        facts: dict[str, Any] | None = None,
    ) -> None:
        """The call's record from its first webhook on (kept whether or not Retell ever takes it), with
        ``facts`` (businessOpen...); a retry or replay of the same CallSid only sets ``facts``. An
        expired record of the same CallSid is replaced whole."""
        base = {
            "agentId": agent_id,
            "ownerId": owner_id,
            "from": from_number,
            "to": to_number,
            "progress": 0,
            "orderId": ObjectId(),
            "createdAt": moment,
            "expiresAt": moment + retention,
        }
        change: dict[str, Any] = {"$setOnInsert": base}
        if facts:
            change["$set"] = facts
        try:
            self.collection.update_one({"_id": call_sid, "expiresAt": {"$gt": moment}}, change, upsert=True)
        except DuplicateKeyError:
            # Expired (the filter missed it, the insert met it), or a concurrent retry inserted first.
            self.collection.replace_one(
                {"_id": call_sid, "expiresAt": {"$lte": moment}}, {**base, **(facts or {})}
            )
            if facts:
                self.collection.update_one({"_id": call_sid}, {"$set": facts})

    @translate_errors
    def remember(
        self,
        call_sid: str,
        *,
        retell_call_id: str,
        agent_id: ObjectId,
        owner_id: str | None,
        from_number: str,
        to_number: str,
        moment: datetime,
        retention: timedelta,
        facts: dict[str, Any] | None = None,
    ) -> None:
        """The call as registered with Retell, with ``facts`` (the record is made if the call had none)."""
        self.open_call(
            call_sid,
            agent_id=agent_id,
            owner_id=owner_id,
            from_number=from_number,
            to_number=to_number,
            moment=moment,
            retention=retention,
            facts={**(facts or {}), "retellCallId": retell_call_id},
        )

    @translate_errors
    def note(self, call_sid: str, facts: dict[str, Any], moment: datetime) -> None:
        """Set what the call path learnt (``outcome``, ``transfer``, ``forward``, ``voicemail``...) on
        the call's route: a document of its own (``{CallSid}#route``), so that these writes and Retell's
        events, which arrive at the same moments, never write the same document. FerretDB applies an
        update as a read then a write of the whole document: two writers of one document could lose
        one's change. Made on first use; read with the call."""
        self.collection.update_one(
            {"_id": call_sid + ROUTE_SUFFIX},
            {"$set": facts, "$setOnInsert": {"expiresAt": moment + ROUTE_RETENTION}},
            upsert=True,
        )

    @translate_errors
    def find(self, call_sid: str, moment: datetime) -> CallRecord | None:
        """The unexpired call with its route: one query, by ``_id``."""
        found = {
            each["_id"]: each
            for each in self.collection.find({"_id": {"$in": [call_sid, call_sid + ROUTE_SUFFIX]}})
        }
        document = found.get(call_sid)
        if document is None or not _unexpired(document, moment):
            return None
        return CallRecord(document, found.get(call_sid + ROUTE_SUFFIX))

    @translate_errors
    def apply_event(
        self,
        retell_call_id: str,
        *,
        call_sid: str | None,
        progress: int,
        facts: CallFacts,
        moment: datetime,
    ) -> bool:
        """Raise the call's progress to at least ``progress`` and set ``facts``, in one update: a
        replayed or late event changes nothing. False when no unexpired record has this call id.

        With the CallSid the event names, the record is found by ``_id`` (FerretDB scans for any
        other filter), and it must still carry this Retell call id.
        """
        change: dict[str, Any] = {"$max": {"progress": progress}}
        if stored := facts.stored():
            change["$set"] = stored
        result = self.collection.update_one(_event_query(retell_call_id, call_sid, moment), change)
        return result.matched_count > 0

    @translate_errors
    def identify(self, retell_call_id: str, *, call_sid: str | None, moment: datetime) -> CallIdentity | None:
        """The call's id, agent and expiry (what its recording is filed under), found as
        ``apply_event`` finds it. A read of its own: FerretDB's findAndModify takes no projection, and
        only the events that name a recording need it."""
        found = self.collection.find_one(
            _event_query(retell_call_id, call_sid, moment), {"agentId": 1, "expiresAt": 1}
        )
        if found is None:
            return None
        agent = found.get("agentId")
        return CallIdentity(
            call_sid=str(found["_id"]),
            agent_id=agent if isinstance(agent, ObjectId) else None,
            expires_at=found["expiresAt"],
        )

    @translate_errors
    def list_for_agent(
        self, owner_id: str, agent_id: ObjectId, *, limit: int, after: ObjectId | None, moment: datetime
    ) -> list[CallRecord]:
        """The owner's unexpired calls of the agent, newest first, after the cursor ``after``."""
        query: dict[str, Any] = {"ownerId": owner_id, "agentId": agent_id, "expiresAt": {"$gt": moment}}
        if after is not None:
            query["orderId"] = {"$lt": after}
        calls = list(
            self.collection.find(query, _WITHOUT_TRANSCRIPT).sort("orderId", DESCENDING).limit(limit)
        )
        wanted = [str(each["_id"]) + ROUTE_SUFFIX for each in calls]
        routes = (
            {each["_id"]: each for each in self.collection.find({"_id": {"$in": wanted}})} if calls else {}
        )
        return [CallRecord(each, routes.get(str(each["_id"]) + ROUTE_SUFFIX)) for each in calls]
