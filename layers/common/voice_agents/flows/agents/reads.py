"""Reading agents for their owner: one agent (with its ETag), a page of agents, one call in full, a
voicemail's audio; ``owned_record``, the one rule every flow uses for "the caller's agent, or 404",
and ``owned_call``, the same for one of its calls. Pages of calls are ``flows/history/search.py``'s."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from voice_agents.core.clock import now, object_id
from voice_agents.core.countries import NumberPair
from voice_agents.core.errors import AgentNotFound, CallNotFound, InvalidRequest, UpstreamNotFound
from voice_agents.data.agent_record import AgentRecord
from voice_agents.data.agents import AgentStore
from voice_agents.data.calls import CallRecord
from voice_agents.data.recordings import COPIED
from voice_agents.models.agents import Agent, AgentPage, VersionedAgent
from voice_agents.models.calls import CallDetail, RecordingLink

if TYPE_CHECKING:
    from voice_agents.providers.s3 import RecordingBucket
    from voice_agents.providers.twilio import TwilioNumbers

CALL_SID = re.compile(r"CA[0-9a-fA-F]{32}")
# How long a link to a recording plays: long enough to listen to a long call, short enough that a
# link copied out of the page soon stops working.
RECORDING_LINK = timedelta(minutes=15)
# A cursor is the id of the last agent (of a call: its orderId) of the page: a format the OpenAPI
# document can declare exactly (every string of it is a cursor this API accepts), where base64 of an
# id could not be.
CURSOR_PATTERN = r"^[0-9a-fA-F]{24}$"


def owned_record(store: AgentStore, agent_id: str, owner_id: str, *, deleted: bool = False) -> AgentRecord:
    """The caller's agent record; another owner's, an unknown id, or (unless ``deleted``) a deleted
    agent is not found: the API never tells another owner's agent from a missing one."""
    record = store.get_for_owner(agent_id, owner_id, include_deleted=deleted)
    if record is None:
        raise AgentNotFound(f"agent {agent_id} not found")
    return record


def get_agent(
    agent_id: str, *, owner_id: str, store: AgentStore, default_pair: NumberPair | None = None
) -> VersionedAgent:
    """``default_pair``: what a record from before agents had a country was bought as."""
    return VersionedAgent.from_record(owned_record(store, agent_id, owner_id), default_pair)


def list_agents(
    *,
    owner_id: str,
    limit: int,
    cursor: str | None,
    store: AgentStore,
    default_pair: NumberPair | None = None,
) -> AgentPage:
    after = decode_cursor(cursor) if cursor else None
    records = store.list_for_owner(owner_id, limit=limit + 1, after=after)
    items = [Agent.from_record(record, default_pair) for record in records[:limit]]
    next_cursor = _encode_cursor(items[-1].id) if len(records) > limit else None
    return AgentPage(items=items, nextCursor=next_cursor)


def owned_call(store: AgentStore, agent_id: str, call_sid: str, owner_id: str) -> CallRecord:
    """One unexpired call of the caller's agent; another owner's agent or call, a deleted agent, or
    another agent's call is not found, as an unknown one is."""
    record = owned_record(store, agent_id, owner_id)
    call = store.calls.find(call_sid, now()) if CALL_SID.fullmatch(call_sid) else None
    if call is None or call.agent_object_id != record.id:
        raise CallNotFound(f"no call {call_sid} of agent {agent_id}")
    return call


def get_call(agent_id: str, call_sid: str, *, owner_id: str, store: AgentStore) -> CallDetail:
    """One call in full: its transcript, answers, cost and whether its recording can be played."""
    call = owned_call(store, agent_id, call_sid, owner_id)
    return CallDetail.from_records(call, store.recordings.find(call.call_sid, now()))


def conversation_recording_link(
    agent_id: str,
    call_sid: str,
    *,
    owner_id: str,
    store: AgentStore,
    recordings: Callable[[], RecordingBucket | None],
) -> RecordingLink:
    """A short-lived link to the stack's copy of the call's recording, signed only once the caller is
    known to own the call; Retell's own link never leaves the backend. A call without a copy (none
    made yet, or none ever: ``recording.status`` in the call says which) is not found."""
    call = owned_call(store, agent_id, call_sid, owner_id)
    recording = store.recordings.find(call.call_sid, now())
    key = recording.text("key") if recording is not None and recording.state == COPIED else None
    bucket = recordings() if key is not None else None
    if recording is None or key is None or bucket is None:
        raise CallNotFound(f"no copy of the recording of call {call_sid}")
    return RecordingLink(
        url=bucket.link(key, seconds=int(RECORDING_LINK.total_seconds())),
        expiresAt=now() + RECORDING_LINK,
        contentType=recording.text("contentType") or "application/octet-stream",
        sizeBytes=recording.size_bytes,
    )


def voicemail_audio(
    agent_id: str, call_sid: str, *, owner_id: str, store: AgentStore, twilio: Callable[[], TwilioNumbers]
) -> tuple[bytes, str]:
    """A voicemail's audio and its media type, fetched from Twilio with the account's credentials
    (its media URL never reaches the browser); another owner's agent or call, or a call without a
    voicemail, is not found."""
    voicemail = owned_call(store, agent_id, call_sid, owner_id).leg("voicemail")
    recording_sid = (voicemail or {}).get("recordingSid")
    if not isinstance(recording_sid, str):
        raise CallNotFound(f"no voicemail for call {call_sid}")
    try:
        return twilio().recording_audio(recording_sid)
    except UpstreamNotFound as exc:
        raise CallNotFound(f"the voicemail of call {call_sid} is gone") from exc


def _encode_cursor(last_id: str) -> str:
    return last_id


def decode_cursor(cursor: str) -> str:
    """The id a cursor names (a 400 for a cursor this API did not return)."""
    if not re.fullmatch(CURSOR_PATTERN, cursor) or object_id(cursor) is None:
        raise InvalidRequest("cursor", "cursor is not one this API returned")
    return cursor
