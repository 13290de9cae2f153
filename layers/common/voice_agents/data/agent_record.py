"""The agent record's schema: one MongoDB document per agent, the saga's journal and audit trail.

Only this module and ``agents`` (the queries) name the record's fields; the domain reads a record through
``AgentRecord`` and changes it through the store's named operations. Records of older shapes exist
(a field missing or of another type), so every read here is defensive (docs/architecture.md,
"The agent record").

    _id                   ObjectId, generated when the create starts (its time dates the tags)
    ownerId               the JWT's sub
    name, description, prompt, beginMessage, voiceId, language   the create request
    status                provisioning | active | deleting | failed | deleted
    tag                   {RESOURCE_TAG}:{_id}, carried by every paid resource
    webhookUrl            the URL the number's webhook points at (Twilio signs over it)
    fallbackUrl           the URL the number's VoiceFallbackUrl was last set to (absent on records
                          older than it: the sweep sets the number's and writes it)
    phoneNumber, twilioPhoneNumberSid, retellLlmId, retellAgentId   each written the moment it exists
    unknownOutcomes       resources whose create may have happened without an answer (found by tag)
    deadline              when the creating Lambda must be dead
    leaseOwner, leaseUntil  a mirror of the lease in ``leases`` (to find free records cheaply)
    repairAfter           when the reconciler may take the record; absent when nothing is left to do
    repairAttempts, repairError   failed repairs, for the back-off and StuckRecords
    failure               {step, message} of a failed create
    cleanupPending        what could not be removed yet
    deleteRequestedAt, deletedAt, webhookRepairFailed, createdAt, updatedAt
    retellAgentVersion    the published Retell agent version calls run (absent on older records)
    revision              bumped by every committed update: the API's ETag (absent = 0)
    pendingUpdate         {changes, startedAt, deadline, baseVersion, draftVersion?, noRetellVersion?}:
                          an update in flight (noRetellVersion: it makes no Retell version)
    retellWebhookUrl      the call-events URL a reconciler repair set on the Retell agent
    transferNumber, fallback, answerMode, ringSeconds, businessHours   where calls go besides the
                          agent (``core.routing``), as the API validated them (E.164, hours normalised)
                          but for one encoding: a business-hours interval ["09:00", "17:00"] is
                          stored as "09:00-17:00" (FerretDB stores no nested arrays, error
                          "nested arrays are not supported"); ``AgentRecord`` reads it back as the pair
    country, numberType   where the number comes from (ISO 3166 alpha-2; mobile | local | tollfree), as
                          the create resolved them; absent on older records (read from the number)
    postCallFields        [{name, type, description, choices}]: the owner's questions Retell answers
                          after every call (the Retell agent's post_call_analysis_data); absent on
                          older records (none)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bson import ObjectId

from voice_agents.core.countries import NUMBER_TYPES, NumberPair, pair_of_number
from voice_agents.core.observability import logger
from voice_agents.core.statuses import AgentStatus

if TYPE_CHECKING:
    from voice_agents.core.routing import Routing

# Names of the paid resources, as they appear in ``pending`` lists, ``unknownOutcomes`` and metrics.
NUMBER = "twilio_number"
RETELL_AGENT = "retell_agent"
RETELL_LLM = "retell_llm"
# Soft-deleted records keep the audit trail of what was bought and released.
DELETED = "deleted"

KNOWN_STATUSES = frozenset(status.value for status in AgentStatus)

RESOURCE_FIELDS = {NUMBER: "twilioPhoneNumberSid", RETELL_AGENT: "retellAgentId", RETELL_LLM: "retellLlmId"}


# The record's business hours (``core.hours`` JSON); its intervals are stored as text (module docstring).
BUSINESS_HOURS = "businessHours"
_INTERVAL_SEPARATOR = "-"


def entity_tag(revision: int) -> str:
    return f'"{revision}"'


def stored_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` (the API's names and shapes) as the record stores them: business hours' intervals as
    "HH:MM-HH:MM" text. Fields already stored so are unchanged, so applying it twice is harmless."""
    return _with_intervals(fields, _interval_text)


def _readable(document: dict[str, Any]) -> dict[str, Any]:
    """A stored document with its business hours' intervals as pairs again (the API's shape); pairs
    written by a server that stores nested arrays read as they are."""
    return _with_intervals(document, _interval_pair)


def _with_intervals(fields: dict[str, Any], convert: Any) -> dict[str, Any]:
    hours = fields.get(BUSINESS_HOURS)
    weekly = hours.get("weekly") if isinstance(hours, dict) else None
    if not isinstance(hours, dict) or not isinstance(weekly, dict):
        return fields
    converted = {
        day: [convert(interval) for interval in intervals] if isinstance(intervals, list) else intervals
        for day, intervals in weekly.items()
    }
    return {**fields, BUSINESS_HOURS: {**hours, "weekly": converted}}


def _interval_text(interval: Any) -> Any:
    if (
        isinstance(interval, list | tuple)
        and len(interval) == 2
        and all(isinstance(t, str) for t in interval)
    ):
        return f"{interval[0]}{_INTERVAL_SEPARATOR}{interval[1]}"
    return interval


def _interval_pair(interval: Any) -> Any:
    if isinstance(interval, str) and interval.count(_INTERVAL_SEPARATOR) == 1:
        return interval.split(_INTERVAL_SEPARATOR)
    return interval  # anything else is left for core.hours to refuse (the agent is then always open)


class AgentRecord:
    """A read of one agent record. Values are as stored unless a property says otherwise."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = _readable(document)

    @property
    def id(self) -> ObjectId:
        agent_id: ObjectId = self.document["_id"]
        return agent_id

    def text(self, name: str) -> str | None:
        """A text field of the agent's settings (``name``, ``prompt``...), None when missing or not
        text: a record of an older shape still reads."""
        value = self.document.get(name)
        return value if isinstance(value, str) else None

    def moment(self, name: str) -> datetime:
        """A date field; a record without it (or with something else) is dated by its id."""
        value = self.document.get(name)
        if isinstance(value, datetime):
            return value
        record_id = self.document.get("_id")
        return (
            record_id.generation_time if isinstance(record_id, ObjectId) else datetime.fromtimestamp(0, UTC)
        )

    def differs(self, changes: dict[str, Any]) -> dict[str, Any]:
        """The part of ``changes`` (API field names, as stored) that differs from the record."""
        return {name: value for name, value in changes.items() if self.document.get(name) != value}

    @property
    def routing(self) -> Routing:
        """Where the agent's calls go besides the agent (read defensively: see ``Routing``)."""
        # Imported here: the call-events and repair functions read records, never the routing.
        from voice_agents.core.routing import Routing

        return Routing.from_settings(self.document)

    def number_pair(self, default_pair: NumberPair | None = None) -> NumberPair | None:
        """The country and type of the agent's number: as stored; on a record from before agents had
        them, its number's (libphonenumber), else ``default_pair`` (what it was bought as)."""
        country, number_type = self.text("country"), self.text("numberType")
        if country and number_type in NUMBER_TYPES:
            return country, number_type
        phone_number = self.text("phoneNumber")
        return (pair_of_number(phone_number) if phone_number else None) or default_pair

    @property
    def post_call_fields(self) -> list[dict[str, Any]]:
        """The owner's questions about each call, as stored (the API's model validates each)."""
        stored = self.document.get("postCallFields")
        return [each for each in stored if isinstance(each, dict)] if isinstance(stored, list) else []

    @property
    def failed_step(self) -> str | None:
        """The step a failed create stopped at; ``unknown_status`` for a status the code does not know."""
        if self.status not in KNOWN_STATUSES:
            return "unknown_status"
        step = (self.failure or {}).get("step")
        return step if isinstance(step, str) else None

    @property
    def owner_id(self) -> Any:
        return self.document.get("ownerId")

    @property
    def status(self) -> Any:
        """As stored: a record of another shape may hold any value, or none."""
        return self.document.get("status")

    @property
    def tag(self) -> str | None:
        tag = self.document.get("tag")
        return tag if isinstance(tag, str) and tag else None

    @property
    def webhook_url(self) -> str | None:
        stored = self.document.get("webhookUrl")
        return stored if isinstance(stored, str) else None

    @property
    def fallback_url(self) -> str | None:
        stored = self.document.get("fallbackUrl")
        return stored if isinstance(stored, str) else None

    @property
    def deadline(self) -> datetime | None:
        deadline = self.document.get("deadline")
        return deadline if isinstance(deadline, datetime) else None

    @property
    def updated_at(self) -> datetime | None:
        updated = self.document.get("updatedAt")
        return updated if isinstance(updated, datetime) else None

    @property
    def failure(self) -> dict[str, Any] | None:
        failure = self.document.get("failure")
        return failure if isinstance(failure, dict) else None

    @property
    def cleanup_pending(self) -> Any:
        return self.document.get("cleanupPending")

    @property
    def repair_attempts(self) -> int:
        attempts = self.document.get("repairAttempts")
        return attempts if isinstance(attempts, int) and attempts > 0 else 0

    @property
    def unknown_outcomes(self) -> set[str]:
        unknown = self.document.get("unknownOutcomes")
        return {item for item in unknown if isinstance(item, str)} if isinstance(unknown, list) else set()

    @property
    def retell_agent_version(self) -> int | None:
        version = self.document.get("retellAgentVersion")
        return version if isinstance(version, int) and not isinstance(version, bool) else None

    @property
    def revision(self) -> int:
        revision = self.document.get("revision")
        return revision if isinstance(revision, int) and not isinstance(revision, bool) else 0

    @property
    def entity_tag(self) -> str:
        """The agent's version as an HTTP ETag: changes whenever an update commits."""
        return entity_tag(self.revision)

    @property
    def pending_update(self) -> dict[str, Any] | None:
        pending = self.document.get("pendingUpdate")
        return pending if isinstance(pending, dict) else None

    def stored_resource_id(self, resource: str) -> Any:
        """The id the record names for ``resource`` (NUMBER, RETELL_AGENT, RETELL_LLM), as stored."""
        return self.document.get(RESOURCE_FIELDS[resource])

    def resource_id(self, resource: str) -> str | None:
        """The id for ``resource``, or None; an id of the wrong type is ignored with a warning (the
        tag still finds the resource)."""
        value = self.stored_resource_id(resource)
        if value is None or isinstance(value, str):
            return value or None
        logger.warning(
            "record field has the wrong type; ignored",
            field=RESOURCE_FIELDS[resource],
            value_type=type(value).__name__,
        )
        return None
