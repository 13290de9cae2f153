"""The sweep (the reconciler's second phase): every Twilio number, Retell agent and Retell LLM
carrying this deployment's tag, listed a page at a time (``listings``), matched to its record, and a
plan made before anything is done: remove what the record says should go, re-point an active
number whose webhook drifted and an active Retell agent whose call-events URL did, report a tag
naming no record. A number's re-point covers its VoiceFallbackUrl too (drifted from where the record's
routing settings send a caller, or missing on a number bought before numbers had one): both URLs
are set in one Twilio update. A plan with more removals than ``RECONCILER_MAX_REMOVALS`` removes none.
A re-point that moves a resource onto a base URL it does not use yet (WEBHOOK_BASE_URL changed) is a
move: it waits until that base answers its health route with this deployment's tag (``base_check``),
and a plan with more moves than ``RECONCILER_MAX_REPOINTS`` moves none (the operator does:
``operate repoint``). One sweeper at a time, under a run-wide lease; each record is acted on under
its own lease, only while it is as planned (docs/architecture.md, "Repair rules")."""

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
from voice_agents.core.tags import base_url_of, base_url_of_events, retell_webhook_url, webhook_url
from voice_agents.data.agent_record import DELETED, RETELL_AGENT, AgentRecord
from voice_agents.data.sweep_cursors import read_cursors, save_cursors
from voice_agents.flows.agents.cleanup import NUMBER, remover
from voice_agents.flows.agents.routing import expected_fallback_url, record_base_url
from voice_agents.repair.base_check import base_problem
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
# Moves named in the brake's log line (all are counted; the operator's command lists them all).
LOGGED_MOVES = 20


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


@dataclass(frozen=True)
class Move:
    """A re-point onto a base URL the resource does not use yet: where its calls (or call events) go
    changes host, so only onto a base that answers as this deployment, and within the brake."""

    item: Tagged
    from_base: str | None  # None: its URL is not one of ours (or it has none)
    to_base: str

    def describe(self) -> dict[str, Any]:
        return {
            "resource": self.item.resource,
            "id": self.item.resource_id,
            "agentId": str(self.item.agent_id),
            "from": self.from_base,
            "to": self.to_base,
        }


@dataclass
class Plan:
    listed_at: datetime  # records changed since are left for the next run
    work: dict[ObjectId, list[tuple[Tagged, str]]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[ObjectId, Any] = field(default_factory=dict)
    unaccounted: list[Tagged] = field(default_factory=list)
    # Retell agents whose call-events URL drifted, with the record as planned: an update re-points
    # each under its own lease, only while the record is still at the planned revision.
    events: list[tuple[Tagged, AgentRecord]] = field(default_factory=list)
    # The re-points above that are moves, by (resource, id).
    moves: dict[tuple[str, str], Move] = field(default_factory=dict)

    @property
    def removals(self) -> int:
        return sum(action == REMOVE for planned in self.work.values() for _, action in planned)

    def repoints(self) -> list[tuple[Tagged, str]]:
        """Every planned re-point (numbers, then Retell agents), moves and same-base repairs alike."""
        numbers = [
            (item, REPOINT) for planned in self.work.values() for item, action in planned if action == REPOINT
        ]
        return numbers + [(item, REPOINT_EVENTS) for item, _ in self.events]

    def move_of(self, item: Tagged) -> Move | None:
        return self.moves.get((item.resource, item.resource_id))


# What the sweep may do to one planned resource: (the resource, the action) -> go ahead or not.
Allowed = Callable[[Tagged, str], bool]


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
    plan = plan_sweep(tagged, records, services, listed_at)
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
    allow_moves = moves_allowed(plan, services, report, limit=services.settings.reconciler_max_repoints)

    def allowed(item: Tagged, action: str) -> bool:
        if action == REMOVE:
            return allow_removal
        return allow_moves or plan.move_of(item) is None  # a same-base repair needs no check

    # The cursors stay when it stops early: the next run lists these pages again, acts on what is left.
    if carry_out(plan, services, remaining_ms, worker, report, reserve_ms=reserve_ms, allowed=allowed):
        save_cursors(services.store, listed.cursors)
        if listed.out_of_time:
            report.stopped_early = True


def moves_allowed(plan: Plan, services: Services, report: ReconcileReport, *, limit: int | None) -> bool:
    """Whether the plan's moves may go ahead: every base they move onto answers as this deployment's,
    and there are at most ``limit`` (None: the operator's run, no brake). Otherwise none does, and the
    report and an error log line say why."""
    if not plan.moves:
        return True
    moves = list(plan.moves.values())
    unverified = unverified_base(plan, services)
    if unverified is not None:
        report.unverified_base, problem = unverified
        logger.error(
            f"the base URL the sweep would move {len(moves)} numbers and Retell agents onto is not "
            f"this deployment's: {problem}; none moved (check WEBHOOK_BASE_URL)",
            base_url=report.unverified_base,
            planned=len(moves),
        )
        return False
    if limit is not None and len(moves) > limit:
        report.repoints_blocked = len(moves)
        logger.error(
            f"mass-re-point brake: the sweep planned to move {len(moves)} numbers and Retell agents onto "
            f"another base URL, more than RECONCILER_MAX_REPOINTS={limit}; none moved "
            "(python -m voice_agents.repair.operate repoint lists them, and moves them with --confirm)",
            planned=len(moves),
            would_move=[move.describe() for move in moves[:LOGGED_MOVES]],
        )
        return False
    return True


def unverified_base(plan: Plan, services: Services) -> tuple[str, str] | None:
    """The first base URL the plan moves resources onto that does not answer as this deployment's,
    with why; None when every one does (each is asked once)."""
    for base in sorted({move.to_base for move in plan.moves.values()}):
        problem = base_problem(base, services.settings.resource_tag)
        if problem:
            return base, problem
    return None


def carry_out(
    plan: Plan,
    services: Services,
    remaining_ms: Callable[[], int],
    worker: str,
    report: ReconcileReport,
    *,
    reserve_ms: int,
    allowed: Allowed,
) -> bool:
    """Act on what the plan holds and ``allowed`` lets through; False when it stopped for lack of time
    (``reserve_ms`` is what it keeps free)."""
    for agent_id, planned in plan.work.items():
        actions = [(item, action) for item, action in planned if allowed(item, action)]
        if not actions:
            continue
        if remaining_ms() < reserve_ms // 2:
            report.stopped_early = True
            return False
        # Hold the record's lease while acting, so a delete or a repair never overlaps; the record
        # must be as planned (same status, untouched since the listing: old shapes may lack the date).
        fresh = services.store.claim_unchanged(
            agent_id, status=plan.statuses[agent_id], since=plan.listed_at, worker=worker, lease=REPAIR_LEASE
        )
        if fresh is None:
            continue
        try:
            for item, action in actions:
                if _action_for(item, fresh, services, plan.listed_at)[0] == action:
                    _act(item, action, fresh, services, report)
        finally:
            services.store.release_lease(agent_id, worker)
    for item, record in plan.events:
        if not allowed(item, REPOINT_EVENTS):
            continue
        if remaining_ms() < reserve_ms:
            report.stopped_early = True
            return False
        report.events_webhooks_repaired += _repoint_events(
            item, record, services, worker, lambda: remaining_ms() - reserve_ms // 2
        )
    return True


def plan_sweep(
    tagged: list[Tagged], records: dict[ObjectId, AgentRecord], services: Services, listed_at: datetime
) -> Plan:
    """What the records say about each listed resource, decided before anything is done."""
    plan = Plan(listed_at)
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
        move = _move(item, record, services) if action in (REPOINT, REPOINT_EVENTS) else None
        if move is not None:
            plan.moves[(item.resource, item.resource_id)] = move
    return plan


def _move(item: Tagged, record: AgentRecord, services: Services) -> Move | None:
    """The re-point of ``item`` as a move, or None when it stays on the base it uses (a fallback URL,
    a record catching up, a call-events URL the agent never had while its number uses the base)."""
    target = record_base_url(record, services.settings.webhook_base_url)
    if target is None:
        return None  # no base to move onto: the record's own URL is put back, as it always was
    if item.resource == NUMBER:
        current = base_url_of(item.voice_url, item.agent_id)
    elif item.events_url:
        current = base_url_of_events(item.events_url)
    else:
        current = base_url_of(record.webhook_url, record.id)
    return None if current == target else Move(item, current, target)


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
