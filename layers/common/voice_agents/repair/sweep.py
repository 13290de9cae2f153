"""The sweep (the reconciler's second phase): every Twilio number, Retell agent and Retell LLM
carrying this deployment's tag, listed a page at a time (``listings``), matched to its record, and a
plan made before anything is done: remove what the record says should go, re-point an active
number whose webhook drifted and an active Retell agent whose call-events URL did, report a tag
naming no record. A number's re-point covers its VoiceFallbackUrl too (drifted from where the record's
routing settings send a caller, or missing on a number bought before numbers had one): both URLs
are set in one Twilio update. A plan with more removals than ``RECONCILER_MAX_REMOVALS`` removes none. One
sweeper at a time, under a run-wide lease; each record is acted on under its own lease, only while
it is as planned (docs/architecture.md, "Repair rules")."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bson import ObjectId

from voice_agents.core.clock import now
from voice_agents.core.errors import DomainError
from voice_agents.core.observability import count, logger
from voice_agents.core.statuses import AgentStatus
from voice_agents.core.tags import retell_webhook_url, webhook_url
from voice_agents.data.agent_record import DELETED, RETELL_AGENT, AgentRecord
from voice_agents.data.sweep_cursors import read_cursors, save_cursors
from voice_agents.flows.agents.cleanup import NUMBER, remover
from voice_agents.flows.agents.routing import expected_fallback_url, record_base_url
from voice_agents.repair.listings import Tagged, list_while
from voice_agents.repair.run import REPAIR_LEASE, ReconcileReport

if TYPE_CHECKING:
    from voice_agents.runtime import Services

SWEEP_LOCK_TTL = timedelta(minutes=10)
SWEEP_LEASE = "sweep"  # one sweeper at a time
# The sweep lists provider pages while this much is left (at least one page, as the sweep starts
# only then); acting on them may go on until half of the run's reserve is left.
SWEEP_LISTING_RESERVE_MS = 20_000

REMOVE = "remove"
REPOINT = "repoint"
REPOINT_EVENTS = "repoint_events"  # a Retell agent's webhook_url: changed through an update


def remove_tagged(item: Tagged, services: Services, *, reason: str) -> bool:
    """Release the number or delete the Retell resource; False if already gone or it failed now."""
    try:
        removed = remover(item.resource, services.retell, services.twilio)(item.resource_id)
    except DomainError as exc:
        logger.warning("could not remove resource; next run retries", resource=item.resource, error=str(exc))
        return False
    if removed and item.resource == NUMBER:
        count("NumbersReleased", reason=reason)
    return removed


@dataclass
class _Plan:
    work: dict[ObjectId, list[tuple[Tagged, str]]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[ObjectId, Any] = field(default_factory=dict)
    unaccounted: list[Tagged] = field(default_factory=list)
    # Retell agents whose call-events URL drifted, with the record as planned: an update re-points
    # each under its own lease, only while the record is still at the planned revision.
    events: list[tuple[Tagged, AgentRecord]] = field(default_factory=list)

    @property
    def removals(self) -> int:
        return sum(action == REMOVE for planned in self.work.values() for _, action in planned)


def sweep(
    services: Services,
    remaining_ms: Callable[[], int],
    worker: str,
    report: ReconcileReport,
    *,
    reserve_ms: int,
) -> None:
    """One run's part of the pass, under the run-wide lease; ``reserve_ms`` is the time the run keeps
    free: no record is acted on with less left."""
    if remaining_ms() < reserve_ms:
        report.stopped_early = True
    elif services.store.leases.acquire(SWEEP_LEASE, worker, SWEEP_LOCK_TTL):
        try:
            _sweep(services, remaining_ms, worker, report, reserve_ms)
            report.swept = True
        finally:
            services.store.leases.release(SWEEP_LEASE, worker)
    else:
        logger.info("another reconciler is sweeping; skipping the sweep")


def _sweep(
    services: Services, remaining_ms: Callable[[], int], worker: str, report: ReconcileReport, reserve_ms: int
) -> None:
    listed_at = now()
    # Pages while the run keeps time to act on them; the rest of the pass is the next runs'.
    listed = list_while(
        services, read_cursors(services.store), lambda: remaining_ms() >= SWEEP_LISTING_RESERVE_MS
    )
    report.sweep_resumes = listed.unfinished
    report.sweep_restarted = listed.restarted
    logger.info(
        "sweep listed", pages=listed.pages, resources=len(listed.items), passes_ended=listed.ended,
        resumes_next_run=listed.unfinished, restarted=listed.restarted,
    )  # fmt: skip
    tagged = listed.items
    records = services.store.find_many(sorted({item.agent_id for item in tagged})) if tagged else {}
    plan = _plan(tagged, records, services, listed_at)
    report.unaccounted = [item.describe(listed_at) for item in plan.unaccounted]
    for described in report.unaccounted:
        logger.warning(
            "unaccounted resource: its tag names no record; left in place "
            "(python -m voice_agents.repair.operate unaccounted lists and releases these)",
            **described,
        )
    allow_removal = plan.removals <= services.settings.reconciler_max_removals
    if not allow_removal:
        report.removals_blocked = plan.removals
        logger.error(
            f"mass-removal brake: the sweep planned {plan.removals} removals, more than "
            f"RECONCILER_MAX_REMOVALS={services.settings.reconciler_max_removals}; none removed",
            planned=plan.removals,
        )
    for agent_id, planned in plan.work.items():
        actions = [(item, action) for item, action in planned if allow_removal or action != REMOVE]
        if not actions:
            continue
        if remaining_ms() < reserve_ms // 2:
            # The cursors stay: the next run lists these pages again and acts on what is left.
            report.stopped_early = True
            return
        # Hold the record's lease while acting, so a delete or a repair never overlaps; the record
        # must be as planned (same status, untouched since the listing: old shapes may lack the date).
        fresh = services.store.claim_unchanged(
            agent_id, status=plan.statuses[agent_id], since=listed_at, worker=worker, lease=REPAIR_LEASE
        )
        if fresh is None:
            continue
        try:
            for item, action in actions:
                if _action_for(item, fresh, services, listed_at)[0] == action:
                    _act(item, action, fresh, services, report)
        finally:
            services.store.release_lease(agent_id, worker)
    for item, record in plan.events:
        if remaining_ms() < reserve_ms:
            report.stopped_early = True  # as above: the next run lists these pages again
            return
        report.events_webhooks_repaired += _repoint_events(
            item, record, services, worker, lambda: remaining_ms() - reserve_ms // 2
        )
    save_cursors(services.store, listed.cursors)
    if listed.out_of_time:
        report.stopped_early = True


def _plan(
    tagged: list[Tagged], records: dict[ObjectId, AgentRecord], services: Services, listed_at: datetime
) -> _Plan:
    plan = _Plan()
    for item in tagged:
        record = records.get(item.agent_id)
        if record is None:
            plan.unaccounted.append(item)
            continue
        updated = record.updated_at
        if updated is not None and updated >= listed_at:
            continue  # changed since the listing: next run
        action, note = _action_for(item, record, services, listed_at)
        if note:
            logger.warning(note, resource=item.resource, resource_id=item.resource_id, tag=item.tag)
        if action == REPOINT_EVENTS:
            plan.events.append((item, record))
        elif action:
            plan.work[item.agent_id].append((item, action))
            plan.statuses[item.agent_id] = record.status
    return plan


def _action_for(
    item: Tagged, record: AgentRecord, services: Services, moment: datetime
) -> tuple[str | None, str | None]:
    """What the record says about one of its tagged resources: (action or None, a warning or None)."""
    status = record.status
    if status in (AgentStatus.FAILED.value, DELETED):
        return REMOVE, None
    if status == AgentStatus.PROVISIONING.value:
        # The create's module (and the API's pydantic models) only for in-flight creates: cold start.
        from voice_agents.flows.agents.steps import LEASE_GRACE

        deadline = record.deadline
        past = deadline is not None and deadline + LEASE_GRACE < moment
        return (REMOVE if past else None), None  # in flight until then: the create's own
    if status == AgentStatus.DELETING.value:
        return None, None  # the delete, or the repair pass, finishes it
    if status != AgentStatus.ACTIVE.value:
        return None, f"record has an unknown status {status!r}; its resource is left in place"
    own = record.stored_resource_id(item.resource)
    if not isinstance(own, str) or not own:
        return None, "an active record does not name this resource's id; left in place"
    if own != item.resource_id:
        return REMOVE, None  # a duplicate beside the active agent's own
    if item.resource == NUMBER:
        expected = _expected_webhook(item, record, services)
        if expected and (item.voice_url != expected or record.webhook_url != expected):
            return REPOINT, None
        fallback = expected_fallback_url(record, services.settings.webhook_base_url)
        if fallback and (item.fallback_url != fallback or record.fallback_url != fallback):
            return REPOINT, None
    if item.resource == RETELL_AGENT and record.pending_update is None and _runs_on(item, record):
        expected = _expected_events_url(record, services)
        if expected and item.events_url != expected:
            return REPOINT_EVENTS, None
    return None, None


def _act(item: Tagged, action: str, record: AgentRecord, services: Services, report: ReconcileReport) -> None:
    if action == REPOINT:
        report.webhooks_repaired += _repair_webhook(item, record, services)
        return
    logger.info(
        "removing a resource its record says should go",
        resource=item.resource,
        resource_id=item.resource_id,
        agent_id=str(item.agent_id),
        agent_status=record.status,
    )
    if remove_tagged(item, services, reason="sweep"):
        report.removed[item.resource] += 1


def _expected_webhook(item: Tagged, record: AgentRecord, services: Services) -> str | None:
    base = services.settings.webhook_base_url
    return webhook_url(base, item.agent_id) if base else record.webhook_url


def _runs_on(item: Tagged, record: AgentRecord) -> bool:
    """Whether the listed Retell agent is the version the agent's calls run (a listing that shows
    other versions must not make the sweep re-point one that is not live, run after run)."""
    pinned = record.retell_agent_version
    return item.version is None or pinned is None or item.version == pinned


def _expected_events_url(record: AgentRecord, services: Services) -> str | None:
    """Where the agent's Retell call events go: the configured base URL's, else that of the URL its
    number already points at (the create chose both from one base)."""
    base = record_base_url(record, services.settings.webhook_base_url)
    return retell_webhook_url(base) if base else None


def _repoint_events(
    item: Tagged, record: AgentRecord, services: Services, worker: str, remaining_ms: Callable[[], int]
) -> int:
    expected = _expected_events_url(record, services)
    assert expected is not None
    # The update's module only when a Retell agent drifted: cold start.
    from voice_agents.flows.agents.update import repoint_call_events

    try:
        repointed = repoint_call_events(record, expected, services, worker, remaining_ms())
    except DomainError as exc:
        logger.warning("call-events URL repair failed; the next run tries again", error=str(exc))
        return 0
    if repointed:
        logger.info(
            "call-events URL repaired",
            agent_id=str(item.agent_id),
            webhook_url=expected,
            previous=item.events_url,
        )
    return int(repointed)


def _repair_webhook(item: Tagged, record: AgentRecord, services: Services) -> int:
    """Re-point the number's webhook and its VoiceFallbackUrl (one Twilio update, only when either
    differs), then record both."""
    expected = _expected_webhook(item, record, services)
    assert expected is not None
    fallback = expected_fallback_url(record, services.settings.webhook_base_url)
    try:
        if item.voice_url != expected or (fallback is not None and item.fallback_url != fallback):
            services.twilio.configure_webhook(item.resource_id, expected, fallback_url=fallback)
        # The webhook checks signatures against the stored URL, so it follows the number.
        services.store.record_webhook(item.agent_id, expected, repaired=True, fallback_url=fallback)
    except DomainError as exc:
        logger.warning("webhook repair failed; agent stays active and flagged", error=str(exc))
        with contextlib.suppress(DomainError):
            services.store.record_webhook(item.agent_id, None, repaired=False)
        return 0
    logger.info(
        "webhook repaired",
        agent_id=str(item.agent_id),
        voice_url=expected,
        previous=item.voice_url,
        fallback_url=fallback,
        previous_fallback=item.fallback_url,
    )
    return 1
