"""The scheduled repair pass: finish what crashes left, remove what records say should go, repair
webhook drift. It never removes a paid resource on its own judgement: a record must account for it.

0. Identity and clock. The database's deployment marker (``voice_agents.deployment``) must name this
   deployment's tag: without a marker only records carrying this deployment's tag are repaired and
   nothing is swept; with another deployment's marker nothing is done. This process's clock must agree
   with the database server's, because leases and deadlines are times.
1. Records whose ``repairAfter`` has passed (a create past its deadline, a delete or rollback that
   could not finish) are claimed one at a time with an atomic lease and completed from the journal.
   Each is isolated: whatever its repair raises is logged with its id and counted, and the record is
   retried with exponential back-off; the pass goes on.
2. Under a run-wide lock (one sweeper at a time), every Twilio number, Retell agent and Retell LLM
   carrying this deployment's tag is matched to its record, and a plan is made before anything is
   done: remove what the record says should go (failed, deleted, provisioning past its deadline, a
   duplicate beside an active agent's own), re-point an active agent's number whose webhook drifted
   and its Retell agent whose call-events URL did (on a new published version, as an update does),
   leave the rest. A tag that names no record is reported (log, ``UnaccountedResources``, the report)
   and never removed here: ``python -m voice_agents.operate unaccounted`` releases it when asked. A
   plan that would remove more than ``RECONCILER_MAX_REMOVALS`` removes none of them. The listings
   are taken a page at a time while the run has time (``sweep``): a run plans and acts on the pages
   it listed, and the next run resumes the pass where this one stopped.
3. Records stuck in flight for long, or failing repair again and again, are counted for an alarm.
Bounded by the Lambda's remaining time; a run with nothing to do changes nothing. A phase that raises
does not stop the next one; the run then ends in ``ReconcileIncomplete`` so the invocation fails.
"""

from __future__ import annotations

import contextlib
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from bson import ObjectId

from voice_agents.cleanup import (
    NUMBER,
    AgentResources,
    remove_resources,
    remover,
)
from voice_agents.deployment import MarkerState, describe_foreign, marker_state, read_marker
from voice_agents.errors import DeadlineExceeded, DomainError
from voice_agents.observability import count, logger
from voice_agents.records import DELETED, RETELL_AGENT, AgentRecord
from voice_agents.retry import TimeBudget, finish_by
from voice_agents.statuses import AgentStatus
from voice_agents.store import now
from voice_agents.sweep import Tagged, list_while, read_cursors, save_cursors
from voice_agents.tags import base_url_of, retell_webhook_url, tag_prefix, webhook_url

if TYPE_CHECKING:
    from voice_agents.runtime import Services

T = TypeVar("T")

REPAIR_LEASE = timedelta(minutes=2)
SWEEP_LOCK_TTL = timedelta(minutes=10)
# Stop claiming new work when less than this is left: a repair makes up to ~6 provider calls.
TIME_RESERVE_MS = 20_000
# The sweep lists provider pages while this much is left (at least one page, as the sweep starts
# only then); acting on them may go on until half of TIME_RESERVE_MS is left.
SWEEP_LISTING_RESERVE_MS = TIME_RESERVE_MS
MAX_RECORDS_PER_RUN = 200
SWEEP_LEASE = "sweep"  # one sweeper at a time
# A record whose repair fails (or leaves something pending) is retried after 1, 2, 4... minutes.
REPAIR_BACKOFF = timedelta(minutes=1)
REPAIR_BACKOFF_CAP = timedelta(hours=1)
# StuckRecords counts records that failed this many attempts, or are in flight this long.
STUCK_ATTEMPTS = 5
STUCK_AFTER = timedelta(minutes=30)
# Leases and deadlines are written by other processes' clocks: past this skew nothing is acted on.
MAX_CLOCK_SKEW = timedelta(seconds=30)
# Unaccounted resources listed in the run's answer (all are logged and counted).
REPORTED_UNACCOUNTED = 50

REMOVE = "remove"
REPOINT = "repoint"
REPOINT_EVENTS = "repoint_events"  # a Retell agent's webhook_url: changed through an update
_REPAIRABLE = {AgentStatus.PROVISIONING.value, AgentStatus.DELETING.value, AgentStatus.FAILED.value, DELETED}


class ReconcileIncomplete(RuntimeError):
    """A phase of the run raised (the others still ran): fail the invocation so it alarms."""

    def __init__(self, report: ReconcileReport) -> None:
        super().__init__(f"reconcile phases failed: {', '.join(report.errors)}")
        self.report = report


class MalformedRecord(ValueError):
    """A record the repair cannot act on safely (e.g. an unknown status): retried with back-off."""


@dataclass
class ReconcileReport:
    repaired: Counter[str] = field(default_factory=Counter)
    removed: Counter[str] = field(default_factory=Counter)
    webhooks_repaired: int = 0
    events_webhooks_repaired: int = 0
    swept: bool = False
    stopped_early: bool = False
    # Why the sweep did not run: "no_marker", "foreign_marker" or "clock_skew".
    sweep_skipped: str | None = None
    # Tagged resources whose tag names no record (None: nothing was listed this run).
    unaccounted: list[dict[str, Any]] | None = None
    removals_blocked: int = 0
    repair_failures: int = 0
    stuck_records: int | None = None
    # Listings whose pass the next run continues from the stored cursor, and listings listed again
    # from their first page because the provider refused the stored cursor.
    sweep_resumes: list[str] = field(default_factory=list)
    sweep_restarted: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "repaired": dict(self.repaired),
            "removed": dict(self.removed),
            "webhooksRepaired": self.webhooks_repaired,
            "eventsWebhooksRepaired": self.events_webhooks_repaired,
            "swept": self.swept,
            "stoppedEarly": self.stopped_early,
            "sweepSkipped": self.sweep_skipped,
            "unaccountedCount": None if self.unaccounted is None else len(self.unaccounted),
            "unaccounted": (self.unaccounted or [])[:REPORTED_UNACCOUNTED],
            "removalsBlocked": self.removals_blocked,
            "repairFailures": self.repair_failures,
            "stuckRecords": self.stuck_records,
            "sweepResumes": self.sweep_resumes,
            "sweepRestarted": self.sweep_restarted,
            "errors": self.errors,
        }


def reconcile(services: Services, *, remaining_ms: Callable[[], int], worker: str) -> ReconcileReport:
    report = ReconcileReport()
    # Provider calls are cut to the function's deadline (less the margin for the answer), so a hung
    # provider makes the run stop early rather than be killed mid-repair.
    with finish_by(TimeBudget.split(remaining_ms()).answer_by):
        scope = _phase(report, "identify", lambda: _identify(services, report))
        if scope is not None:
            if scope.marked:
                # Indexes only speed things up (every uniqueness we rely on is on _id), so they are
                # made here, off every request's path, and only in a database known to be ours.
                _phase(report, "indexes", services.store.ensure_indexes)
            _phase(report, "repair", lambda: _repair_records(services, scope, remaining_ms, worker, report))
            if scope.marked:
                _phase(report, "sweep", lambda: _sweep_under_lock(services, remaining_ms, worker, report))
            _phase(report, "stuck", lambda: _count_stuck(services, scope, report))
    _emit(report)
    logger.info("reconcile finished", **report.as_dict())
    if report.errors:
        raise ReconcileIncomplete(report)
    return report


def _phase(report: ReconcileReport, name: str, action: Callable[[], T]) -> T | None:
    """Run one phase; if it raises, log it and go on with the next (the run fails at the end)."""
    try:
        return action()
    except DeadlineExceeded as exc:
        # Out of time, not broken: the next scheduled run carries on from the records.
        logger.info("reconcile phase stopped at the run's deadline", phase=name, error=str(exc))
        report.stopped_early = True
        return None
    except Exception:
        logger.exception("reconcile phase failed; the next phases still run", phase=name)
        report.errors.append(name)
        return None


def _emit(report: ReconcileReport) -> None:
    for kind, number in report.repaired.items():
        count("RecordsRepaired", number, kind=kind)
    for resource, number in report.removed.items():
        count("OrphansRemoved", number, resource=resource)
    if report.webhooks_repaired:
        count("WebhooksRepaired", report.webhooks_repaired)
    if report.events_webhooks_repaired:
        count("EventsWebhooksRepaired", report.events_webhooks_repaired)
    if report.sweep_skipped:
        count("SweepSkipped")
    if report.unaccounted is not None:
        count("UnaccountedResources", len(report.unaccounted))
    if report.removals_blocked:
        count("MassRemovalBlocked")
    if report.stuck_records is not None:
        count("StuckRecords", report.stuck_records)


# --- 0. which database, which clock ------------------------------------------------------------


@dataclass(frozen=True)
class _Scope:
    prefix: str
    marked: bool  # the marker names this deployment: every record is ours, and the sweep may run

    def tagged(self) -> str | None:
        """The records this run may act on: all of them (None), or without a marker only those
        whose tag starts with this prefix."""
        return None if self.marked else tag_prefix(self.prefix)


def _identify(services: Services, report: ReconcileReport) -> _Scope | None:
    store, prefix = services.store, services.settings.resource_tag
    before = now()
    server = store.server_time()
    after = now()
    if server < before - MAX_CLOCK_SKEW or server > after + MAX_CLOCK_SKEW:
        logger.error(
            "this process's clock disagrees with the database server's: nothing is repaired or removed",
            local_time=after.isoformat(),
            server_time=server.isoformat(),
        )
        report.sweep_skipped = "clock_skew"
        return None
    marker = read_marker(store)
    state = marker_state(marker, prefix)
    if state is MarkerState.FOREIGN:
        logger.error(describe_foreign(store, marker, prefix) + "; this run does nothing")
        report.sweep_skipped = "foreign_marker"
        return None
    if state is MarkerState.ABSENT:
        logger.warning(
            f"database '{store.database.name}' has no deployment marker: only records tagged "
            f"'{prefix}:' are repaired and nothing is swept. If MONGODB_DATABASE is right, mark it: "
            "python -m voice_agents.operate mark --confirm"
        )
        report.sweep_skipped = "no_marker"
    return _Scope(prefix=prefix, marked=state is MarkerState.OURS)


# --- 1. records the journal says are unfinished ---------------------------------------------


def _repair_records(
    services: Services, scope: _Scope, remaining_ms: Callable[[], int], worker: str, report: ReconcileReport
) -> None:
    for _ in range(MAX_RECORDS_PER_RUN):
        if remaining_ms() < TIME_RESERVE_MS:
            report.stopped_early = True
            return
        record = services.store.claim_due_repairs(worker=worker, lease=REPAIR_LEASE, tagged=scope.tagged())
        if record is None:
            return
        logger.append_keys(agent_id=str(record.id))
        try:
            kind = _repair(record, services, worker, scope.prefix)
        except Exception as exc:  # one bad record never stops the pass
            _back_off(record, exc, services, worker, report)
            kind = "failed_attempt"
        finally:
            logger.remove_keys(["agent_id"])
        report.repaired[kind] += 1


def _repair(record: AgentRecord, services: Services, worker: str, prefix: str) -> str:
    status = record.status
    store = services.store
    if status == AgentStatus.ACTIVE.value:
        if record.pending_update is not None:
            # Imported here: only a run that meets an unfinished update loads the update path.
            from voice_agents.updating import repair_update

            return repair_update(record, services, worker)
        store.settle_active(record.id, worker)
        return "nothing_to_do"
    if status not in _REPAIRABLE:
        raise MalformedRecord(f"unknown status {status!r}: its resources are left until a person looks")
    # A create that died mid-call may have left Retell resources the record does not name: the
    # sweep below finds them by tag in one listing for all records, instead of one per record.
    resources = AgentResources.from_record(record, prefix=prefix)
    pending = remove_resources(resources, services.retell, services.twilio, reason=f"reconcile_{status}")
    if status == AgentStatus.DELETING.value:
        # The delete route's module (and the API's pydantic models) only on this path: cold start.
        from voice_agents.deletion import finish_deletion

        finish_deletion(record, pending, services, worker)
        return "deletion_finished" if not pending else "deletion_pending"
    # Still pending is a failed attempt too: back off, and count towards StuckRecords.
    store.settle_repair(
        record,
        worker,
        pending=pending,
        failed=status != DELETED,
        interrupted=status == AgentStatus.PROVISIONING.value and record.failure is None,
        retry_at=now() + _backoff(record.repair_attempts + 1) if pending else None,
    )
    logger.info("unfinished record settled", previous_status=status, pending=pending)
    return f"{status}_settled"


def _back_off(
    record: AgentRecord, exc: Exception, services: Services, worker: str, report: ReconcileReport
) -> None:
    attempts = record.repair_attempts + 1
    delay = _backoff(attempts)
    logger.error(
        "record repair failed; retried after a back-off",
        agent_id=str(record.id),
        attempts=attempts,
        retry_in_seconds=int(delay.total_seconds()),
        error=str(exc)[:300],
        error_type=type(exc).__name__,
        exc_info=not isinstance(exc, DomainError | MalformedRecord),  # a bug: keep its traceback
    )
    count("RecordRepairFailed")
    report.repair_failures += 1
    try:
        services.store.record_repair_failure(
            record.id, worker, attempts=attempts, retry_at=now() + delay, error=str(exc)[:300]
        )
    except Exception:
        logger.warning("could not record the failed attempt; the record's lease expires instead")


def _backoff(attempts: int) -> timedelta:
    return min(REPAIR_BACKOFF * 2 ** min(attempts - 1, 16), REPAIR_BACKOFF_CAP)


# --- 2. the sweep ----------------------------------------------------------------------------


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


def _sweep_under_lock(
    services: Services, remaining_ms: Callable[[], int], worker: str, report: ReconcileReport
) -> None:
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


def _sweep(services: Services, remaining_ms: Callable[[], int], worker: str, report: ReconcileReport) -> None:
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
            "(python -m voice_agents.operate unaccounted lists and releases these)",
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
        if remaining_ms() < TIME_RESERVE_MS // 2:
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
        if remaining_ms() < TIME_RESERVE_MS:
            report.stopped_early = True  # as above: the next run lists these pages again
            return
        report.events_webhooks_repaired += _repoint_events(
            item, record, services, worker, lambda: remaining_ms() - TIME_RESERVE_MS // 2
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
        from voice_agents.provisioning import LEASE_GRACE

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
    base = services.settings.webhook_base_url or base_url_of(record.webhook_url, record.id)
    return retell_webhook_url(base) if base else None


def _repoint_events(
    item: Tagged, record: AgentRecord, services: Services, worker: str, remaining_ms: Callable[[], int]
) -> int:
    expected = _expected_events_url(record, services)
    assert expected is not None
    # The update's module only when a Retell agent drifted: cold start.
    from voice_agents.updating import repoint_call_events

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
    expected = _expected_webhook(item, record, services)
    assert expected is not None
    try:
        if item.voice_url != expected:
            services.twilio.configure_webhook(item.resource_id, expected)
        # The webhook checks signatures against the stored URL, so it follows the number.
        services.store.record_webhook(item.agent_id, expected, repaired=True)
    except DomainError as exc:
        logger.warning("webhook repair failed; agent stays active and flagged", error=str(exc))
        with contextlib.suppress(DomainError):
            services.store.record_webhook(item.agent_id, None, repaired=False)
        return 0
    logger.info("webhook repaired", agent_id=str(item.agent_id), voice_url=expected, previous=item.voice_url)
    return 1


# --- 3. what needs a person ------------------------------------------------------------------


def _count_stuck(services: Services, scope: _Scope, report: ReconcileReport) -> None:
    stale = now() - STUCK_AFTER
    report.stuck_records = services.store.count_stuck(
        in_flight_since=stale, attempts=STUCK_ATTEMPTS, tagged=scope.tagged()
    )
    if report.stuck_records:
        logger.error(
            "records stuck: in flight too long or failing repair repeatedly",
            stuck_records=report.stuck_records,
        )
