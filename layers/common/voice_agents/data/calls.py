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
    answerTerms           ["name=answer"]: the same answers written one way whatever their type
                          (``core.post_call_fields.answer_term``), what a filter on an answer matches:
                          one multikey index serves every field, where ``postCallAnswers.<name>``
                          would need an index per name (or a wildcard one, which FerretDB refuses)

and, read from Twilio by the reconciler after the call (``repair/prices.py``):

    twilioCost            {currency, micros, seconds, legs}: what Twilio charged for the call and its
                          child legs (the <Dial>s: to Retell's SIP, to a person), exactly, in millionths
                          of ``currency`` (Twilio's price_unit); ``seconds`` is the call's duration
    twilioPriceDueAt      when the reconciler next asks Twilio for the price; absent once it is read
                          or given up (``TWILIO_PRICE_GIVE_UP_AFTER``)

No list here holds a list (the transcript and the products are lists of documents): FerretDB refuses
an array directly inside an array (the decision log). The transcript is left out of list reads
(``list_calls``); one call's read has it.
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

from voice_agents.core.clock import first_id_at, ordered_id
from voice_agents.core.post_call_fields import Answer, answer_term
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
_WITHOUT_TRANSCRIPT = {"transcript": 0, "answerTerms": 0}
# What a day's usage needs of each call (``usage_for_agent``).
_USAGE_FIELDS = {"createdAt": 1, "durationMs": 1, "cost": 1, "twilioCost": 1}
# Twilio sets a call's price some time after it ends: the first read waits this long after the call
# came in, a call whose price is not there yet is asked again after TWILIO_PRICE_RETRY, and one still
# without a price TWILIO_PRICE_GIVE_UP_AFTER after it came in is left unpriced.
TWILIO_PRICE_FIRST_READ = timedelta(minutes=10)
TWILIO_PRICE_RETRY = timedelta(minutes=10)
TWILIO_PRICE_GIVE_UP_AFTER = timedelta(hours=48)


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
class TwilioCost:
    """What Twilio charged for a call and its child legs, exactly: ``micros`` millionths of
    ``currency`` (Twilio's prices have at most 5 decimals); ``seconds`` is the call's duration."""

    currency: str
    micros: int
    seconds: int | None = None
    legs: int = 0


@dataclass(frozen=True)
class CallFilter:
    """Which of the owner's calls a list reads; a field left None (or empty) is "any". ``since`` and
    ``until`` are whole seconds (local midnights): the call came in at or after ``since`` and before
    ``until``."""

    status: CallStatus | None = None
    since: datetime | None = None
    until: datetime | None = None
    caller: str | None = None
    answer_terms: tuple[str, ...] = ()  # any of these (``answer_term``)


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
            "answerTerms": _answer_terms(self.post_call_answers),
        }
        if self.transcript is not None:
            fields |= stored_transcript(self.transcript)
        return {name: value for name, value in fields.items() if value is not None}


def _answer_terms(answers: Mapping[str, Answer] | None) -> list[str] | None:
    if answers is None:
        return None
    return sorted(answer_term(name, answer) for name, answer in answers.items())


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

    def mapping(self, name: str) -> dict[str, Any] | None:
        """``postCallAnswers`` (the answers to the owner's post-call fields, once stored): None when
        absent or not a map."""
        value = self.document.get(name)
        return value if isinstance(value, dict) and value else None

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

    @property
    def twilio_cost(self) -> TwilioCost | None:
        stored = self.document.get("twilioCost")
        if not isinstance(stored, dict) or not isinstance(stored.get("currency"), str):
            return None
        micros = _integer(stored.get("micros"))
        if micros is None:
            return None
        return TwilioCost(
            currency=stored["currency"],
            micros=micros,
            seconds=_integer(stored.get("seconds")),
            legs=_integer(stored.get("legs")) or 0,
        )


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
        # The calls routes: one owner's calls of an agent (of each agent, for the owner's list: the
        # planner merges one scan per agent), newest first. The date range is a range of orderId, so
        # this one index serves no filter, a date range and the cursor; each other filter has an index
        # with its field between the agent and the sort key (docs/architecture.md, "Finding calls").
        for name, field in _FILTER_INDEXES.items():
            keys = [("ownerId", ASCENDING), ("agentId", ASCENDING)]
            keys += [(field, ASCENDING)] if field else []
            self.collection.create_index([*keys, ("orderId", DESCENDING)], name=name)
        # The reconciler's queue of calls whose Twilio price is still to be read.
        self.collection.create_index([("twilioPriceDueAt", ASCENDING)], name="twilio_price_queue")
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
            # Its time is the call's: a range of days is a range of orderId (``CallFilter``).
            "orderId": ordered_id(moment),
            "createdAt": moment,
            "expiresAt": moment + retention,
            "twilioPriceDueAt": moment + TWILIO_PRICE_FIRST_READ,
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
    def find_by_retell_call(self, retell_call_id: str, moment: datetime) -> CallRecord | None:
        """The unexpired call Retell knows by ``retell_call_id``, with its route (for an event that
        did not name the CallSid: a scan on FerretDB, the ``retell_call`` index on Atlas)."""
        document = self.collection.find_one({"retellCallId": retell_call_id, "expiresAt": {"$gt": moment}})
        if document is None:
            return None
        return self.find(str(document["_id"]), moment)

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
    def list_calls(
        self,
        owner_id: str,
        agent_ids: Sequence[ObjectId],
        call_filter: CallFilter,
        *,
        limit: int,
        after: ObjectId | None,
        moment: datetime,
    ) -> list[CallRecord]:
        """The owner's unexpired calls of these agents that pass ``call_filter``, newest first, after
        the cursor ``after``, with their routes: two queries (the calls, then their routes by _id)."""
        if not agent_ids:
            return []
        query = _list_query(owner_id, agent_ids, call_filter, after, moment)
        calls = list(
            self.collection.find(query, _WITHOUT_TRANSCRIPT).sort("orderId", DESCENDING).limit(limit)
        )
        wanted = [str(each["_id"]) + ROUTE_SUFFIX for each in calls]
        routes = (
            {each["_id"]: each for each in self.collection.find({"_id": {"$in": wanted}})} if calls else {}
        )
        return [CallRecord(each, routes.get(str(each["_id"]) + ROUTE_SUFFIX)) for each in calls]

    @translate_errors
    def usage_for_agent(
        self, owner_id: str, agent_id: ObjectId, *, since: datetime, until: datetime, moment: datetime
    ) -> list[CallRecord]:
        """What a usage report needs of each unexpired call of the agent that came in in [since,
        until): one query on the ``agent_calls`` index, each call projected to its time, durations
        and costs."""
        query = _list_query(owner_id, [agent_id], CallFilter(since=since, until=until), None, moment)
        return [CallRecord(each) for each in self.collection.find(query, _USAGE_FIELDS)]

    # --- Twilio's price, read after the call (repair/prices.py) ----------------------------------

    @translate_errors
    def due_for_price(self, moment: datetime, *, limit: int) -> list[tuple[str, datetime]]:
        """(CallSid, when it came in) of the calls whose Twilio price is due, the longest due first."""
        found = (
            self.collection.find({"twilioPriceDueAt": {"$lte": moment}}, {"createdAt": 1})
            .sort("twilioPriceDueAt", ASCENDING)
            .limit(limit)
        )
        return [(str(each["_id"]), each["createdAt"]) for each in found]

    @translate_errors
    def record_twilio_cost(self, call_sid: str, cost: TwilioCost) -> None:
        stored = {"currency": cost.currency, "micros": cost.micros, "legs": cost.legs}
        if cost.seconds is not None:
            stored["seconds"] = cost.seconds
        self.collection.update_one(
            {"_id": call_sid}, {"$set": {"twilioCost": stored}, "$unset": {"twilioPriceDueAt": ""}}
        )

    @translate_errors
    def defer_price(self, call_sid: str, due: datetime) -> None:
        self.collection.update_one({"_id": call_sid}, {"$set": {"twilioPriceDueAt": due}})

    @translate_errors
    def give_up_price(self, call_sid: str) -> None:
        """The call stays without a Twilio price (usage counts it as unpriced)."""
        self.collection.update_one({"_id": call_sid}, {"$unset": {"twilioPriceDueAt": ""}})


# Each filter's index (ownerId, agentId, <field>, orderId desc); None: the filter needs no field of
# its own (no filter, a date range, the cursor, a usage report).
_FILTER_INDEXES: dict[str, str | None] = {
    "agent_calls": None,
    "agent_calls_by_status": "progress",
    "agent_calls_by_caller": "from",
    "agent_calls_by_answer": "answerTerms",
}


def _list_query(
    owner_id: str,
    agent_ids: Sequence[ObjectId],
    call_filter: CallFilter,
    after: ObjectId | None,
    moment: datetime,
) -> dict[str, Any]:
    query: dict[str, Any] = {
        "ownerId": owner_id,
        "agentId": agent_ids[0] if len(agent_ids) == 1 else {"$in": list(agent_ids)},
        "expiresAt": {"$gt": moment},
    }
    order: dict[str, ObjectId] = {}
    if call_filter.since is not None:
        order["$gte"] = first_id_at(call_filter.since)
    upper = [first_id_at(call_filter.until)] if call_filter.until is not None else []
    if after is not None:
        upper.append(after)
    if upper:
        order["$lt"] = min(upper)
    if order:
        query["orderId"] = order
    if call_filter.status is not None:
        query["progress"] = PROGRESS[call_filter.status]
    if call_filter.caller is not None:
        query["from"] = call_filter.caller
    terms = call_filter.answer_terms
    if terms:
        query["answerTerms"] = terms[0] if len(terms) == 1 else {"$in": list(terms)}
    return query
