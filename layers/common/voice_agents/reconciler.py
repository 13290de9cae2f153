"""The scheduled repair pass: finish what crashes left, sweep orphans, repair webhook drift.

1. Records whose ``repairAfter`` has passed (a create past its deadline, a delete or rollback that
   could not finish) are claimed one at a time with an atomic lease and completed from the journal.
2. Under a run-wide lock (one sweeper at a time), every Twilio number, Retell agent and Retell LLM
   carrying this deployment's tag is matched to its record: those of agents that are failed,
   deleted or absent, and leftovers beside an active agent's own ids, are removed. Active agents
   whose number's VoiceUrl is not the expected webhook are re-pointed.
Bounded by the Lambda's remaining time; a run with nothing to do changes nothing.
"""

from __future__ import annotations

import contextlib
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bson import ObjectId

from voice_agents.cleanup import NUMBER, RETELL_AGENT, RETELL_LLM, AgentResources, remove_resources
from voice_agents.deletion import RETRY_AFTER, finish_deletion
from voice_agents.errors import DomainError
from voice_agents.models import AgentStatus
from voice_agents.observability import count, logger
from voice_agents.provisioning import webhook_url
from voice_agents.retell import agent_tag, llm_tag
from voice_agents.store import now
from voice_agents.tags import agent_id_from_tag

if TYPE_CHECKING:
    from voice_agents.runtime import Services

REPAIR_LEASE = timedelta(minutes=2)
SWEEP_LOCK_TTL = timedelta(minutes=10)
# Stop claiming new work when less than this is left: a repair makes up to ~6 provider calls.
TIME_RESERVE_MS = 20_000
MAX_RECORDS_PER_RUN = 200
SWEEP_LEASE = "sweep"  # one sweeper at a time
# Records in these states belong to a running flow (or the repair pass above): the sweep leaves them.
_IN_FLIGHT = {AgentStatus.PROVISIONING.value, AgentStatus.DELETING.value}


@dataclass
class ReconcileReport:
    repaired: Counter[str] = field(default_factory=Counter)
    removed: Counter[str] = field(default_factory=Counter)
    webhooks_repaired: int = 0
    swept: bool = False
    stopped_early: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "repaired": dict(self.repaired),
            "removed": dict(self.removed),
            "webhooksRepaired": self.webhooks_repaired,
            "swept": self.swept,
            "stoppedEarly": self.stopped_early,
        }


def reconcile(services: Services, *, remaining_ms: Callable[[], int], worker: str) -> ReconcileReport:
    report = ReconcileReport()
    # Indexes only speed things up (every uniqueness we rely on is on _id), so they are made here,
    # off every request's path; creating an existing index is a no-op.
    services.store.ensure_indexes()
    _repair_records(services, remaining_ms, worker, report)
    if remaining_ms() < TIME_RESERVE_MS:
        report.stopped_early = True
    elif services.store.leases.acquire(SWEEP_LEASE, worker, SWEEP_LOCK_TTL):
        try:
            _sweep(services, remaining_ms, worker, report)
            report.swept = True
        finally:
            services.store.leases.release(SWEEP_LEASE, worker)
    else:
        logger.info("another reconciler is sweeping; skipping the sweep")
    logger.info("reconcile finished", **report.as_dict())
    for kind, number in report.repaired.items():
        count("RecordsRepaired", number, kind=kind)
    for resource, number in report.removed.items():
        count("OrphansRemoved", number, resource=resource)
    if report.webhooks_repaired:
        count("WebhooksRepaired", report.webhooks_repaired)
    return report


# --- 1. records the journal says are unfinished ---------------------------------------------


def _repair_records(
    services: Services, remaining_ms: Callable[[], int], worker: str, report: ReconcileReport
) -> None:
    for _ in range(MAX_RECORDS_PER_RUN):
        if remaining_ms() < TIME_RESERVE_MS:
            report.stopped_early = True
            return
        record = services.store.claim({"repairAfter": {"$lte": now()}}, worker=worker, lease=REPAIR_LEASE)
        if record is None:
            return
        logger.append_keys(agent_id=str(record["_id"]))
        try:
            kind = _repair(record, services, worker)
        except DomainError as exc:
            # Leave the lease to expire: the next run retries; never let one record stop the pass.
            logger.warning("repair failed; will retry next run", error=str(exc), status=record["status"])
            kind = "failed_attempt"
        finally:
            logger.remove_keys(["agent_id"])
        report.repaired[kind] += 1


def _repair(record: dict[str, Any], services: Services, worker: str) -> str:
    status = record["status"]
    store = services.store
    if status == AgentStatus.ACTIVE.value:
        store.release_lease(record["_id"], worker, unset=("repairAfter",))
        return "nothing_to_do"
    # A create that died mid-call may have left Retell resources the record does not name: the
    # sweep below finds them by tag in one listing for all records, instead of one per record.
    resources = AgentResources.from_record(record)
    pending = remove_resources(resources, services.retell, services.twilio, reason=f"reconcile_{status}")
    if status == AgentStatus.DELETING.value:
        finish_deletion(record, pending, services, worker)
        return "deletion_finished" if not pending else "deletion_pending"
    fields: dict[str, Any] = {"status": AgentStatus.FAILED.value, "cleanupPending": pending}
    if status == AgentStatus.PROVISIONING.value:
        fields["failure"] = record.get("failure") or {
            "step": "interrupted",
            "message": "the request stopped before finishing",
        }
    if pending:
        fields["repairAfter"] = now() + RETRY_AFTER
    store.release_lease(
        record["_id"],
        worker,
        fields,
        unset=("deadline",) + (() if pending else ("repairAfter", "unknownOutcomes")),
    )
    logger.info("unfinished record settled", previous_status=status, pending=pending)
    return f"{status}_settled"


# --- 2. the sweep ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tagged:
    resource: str  # NUMBER, RETELL_AGENT or RETELL_LLM
    resource_id: str
    agent_id: ObjectId
    voice_url: str | None = None


def _sweep(services: Services, remaining_ms: Callable[[], int], worker: str, report: ReconcileReport) -> None:
    prefix = services.settings.resource_tag
    listed_at = now()
    by_agent: dict[ObjectId, list[_Tagged]] = defaultdict(list)
    for item in _tagged_resources(services, prefix):
        by_agent[item.agent_id].append(item)
    if not by_agent:
        return
    records = services.store.find_many(sorted(by_agent))
    for agent_id, items in by_agent.items():
        if remaining_ms() < TIME_RESERVE_MS // 2:
            report.stopped_early = True
            return
        record = records.get(agent_id)
        if record is not None and (record["status"] in _IN_FLIGHT or record["updatedAt"] >= listed_at):
            # A running flow or a repair owns these, or changed them since we listed: next run.
            continue
        if not any(_work_for(item, record, services) for item in items):
            continue
        if record is None:
            # No record at all: nobody else can be acting on these, and the sweep lock is ours.
            _settle(items, None, services, report)
            continue
        # Hold the record's lease while acting, so a delete or a repair never overlaps.
        fresh = services.store.claim(
            {"_id": agent_id, "status": {"$nin": sorted(_IN_FLIGHT)}, "updatedAt": {"$lt": listed_at}},
            worker=worker,
            lease=REPAIR_LEASE,
        )
        if fresh is None:
            continue
        try:
            _settle(items, fresh, services, report)
        finally:
            services.store.release_lease(agent_id, worker)


def _work_for(item: _Tagged, record: dict[str, Any] | None, services: Services) -> str | None:
    """'remove' for an orphan, 'repoint' for an active agent's number with the wrong webhook."""
    if record is None or record["status"] != AgentStatus.ACTIVE.value or not _belongs_to(item, record):
        return "remove"
    if item.resource == NUMBER:
        expected = _expected_webhook(item, record, services)
        if expected and (item.voice_url != expected or record.get("webhookUrl") != expected):
            return "repoint"
    return None


def _settle(
    items: list[_Tagged], record: dict[str, Any] | None, services: Services, report: ReconcileReport
) -> None:
    for item in items:
        work = _work_for(item, record, services)
        if work == "repoint":
            assert record is not None
            report.webhooks_repaired += _repair_webhook(item, record, services)
        elif work == "remove":
            status = record["status"] if record else None
            logger.info(
                "removing orphan", resource=item.resource, resource_id=item.resource_id, agent_status=status
            )
            if _remove(item, services):
                report.removed[item.resource] += 1


def _expected_webhook(item: _Tagged, record: dict[str, Any], services: Services) -> str | None:
    base = services.settings.webhook_base_url
    return webhook_url(base, item.agent_id) if base else record.get("webhookUrl")


def _tagged_resources(services: Services, prefix: str) -> list[_Tagged]:
    tagged = [
        _Tagged(NUMBER, number.sid, agent_id, number.voice_url)
        for number in services.twilio.tagged_numbers(f"{prefix}:")
        if (agent_id := agent_id_from_tag(prefix, number.friendly_name))
    ]
    tagged += [
        _Tagged(RETELL_AGENT, agent["agent_id"], agent_id)
        for agent in services.retell.list_agents()
        if (agent_id := agent_id_from_tag(prefix, agent_tag(agent)))
    ]
    tagged += [
        _Tagged(RETELL_LLM, llm["llm_id"], agent_id)
        for llm in services.retell.list_llms()
        if (agent_id := agent_id_from_tag(prefix, llm_tag(llm)))
    ]
    return tagged


_RECORD_FIELD = {NUMBER: "twilioPhoneNumberSid", RETELL_AGENT: "retellAgentId", RETELL_LLM: "retellLlmId"}


def _belongs_to(item: _Tagged, record: dict[str, Any] | None) -> bool:
    field_name = _RECORD_FIELD[item.resource]
    return record is not None and record.get(field_name) == item.resource_id


def _remove(item: _Tagged, services: Services) -> bool:
    try:
        if item.resource == NUMBER:
            removed = services.twilio.release(item.resource_id)
            if removed:
                count("NumbersReleased", reason="sweep")
            return removed
        if item.resource == RETELL_AGENT:
            return services.retell.delete_agent(item.resource_id)
        return services.retell.delete_llm(item.resource_id)
    except DomainError as exc:
        logger.warning("could not remove orphan; next run retries", resource=item.resource, error=str(exc))
        return False


def _repair_webhook(item: _Tagged, record: dict[str, Any], services: Services) -> int:
    expected = _expected_webhook(item, record, services)
    assert expected is not None
    try:
        if item.voice_url != expected:
            services.twilio.configure_webhook(item.resource_id, expected)
        # The webhook checks signatures against the stored URL, so it follows the number.
        services.store.record(item.agent_id, webhookUrl=expected, webhookRepairFailed=False)
    except DomainError as exc:
        logger.warning("webhook repair failed; agent stays active and flagged", error=str(exc))
        with contextlib.suppress(DomainError):
            services.store.record(item.agent_id, webhookRepairFailed=True)
        return 0
    logger.info("webhook repaired", agent_id=str(item.agent_id), voice_url=expected, previous=item.voice_url)
    return 1
