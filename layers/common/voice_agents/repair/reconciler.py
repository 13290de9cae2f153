"""The scheduled repair pass: finish what crashes left, remove what records say should go, repair
webhook drift. It never removes a paid resource on its own judgement: a record must account for it.

0. Identity and clock. The database's deployment marker (``voice_agents.data.deployment``) must name this
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
   duplicate beside an active agent's own), re-point an active agent's number whose webhook or
   VoiceFallbackUrl drifted (or that has no fallback URL yet) and its Retell agent whose call-events
   URL did (on a new published version, as an update does), leave the rest. A tag that names no
   record is reported (log, ``UnaccountedResources``, the report) and never removed here:
   ``python -m voice_agents.repair.operate unaccounted`` releases it when asked. A plan that would
   remove more than ``RECONCILER_MAX_REMOVALS`` removes none of them. A re-point that moves a number
   or a Retell agent onto a base URL it does not use yet waits until that base answers its health
   route with this deployment's tag, and a plan moving more than ``RECONCILER_MAX_REPOINTS`` moves
   none (``operate repoint --confirm`` does, on the operator's word). The listings are taken a page
   at a time while the run has time (``sweep``, ``listings``): a run plans and acts on the pages it
   listed, and the next run resumes the pass where this one stopped.
   Before the sweep, calls' recordings are copied from Retell into the stack's bucket
   (``flows/calls/recording_copy``), for at most RECORDINGS_PHASE_MS of the run.
3. Twilio's price of calls that ended (``prices``): a bounded number of due calls per run, read
   from Twilio and kept on the call's record (the usage route adds them up).
4. Records stuck in flight for long, or failing repair again and again, are counted for an alarm.
Bounded by the Lambda's remaining time; a run with nothing to do changes nothing. A phase that raises
does not stop the next one; the run then ends in ``ReconcileIncomplete`` so the invocation fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, TypeVar

from voice_agents.core.clock import now
from voice_agents.core.errors import DeadlineExceeded, DomainError
from voice_agents.core.observability import count, logger
from voice_agents.core.retry import TimeBudget, finish_by
from voice_agents.core.statuses import AgentStatus
from voice_agents.core.tags import tag_prefix
from voice_agents.data.agent_record import DELETED, AgentRecord
from voice_agents.data.deployment import MarkerState, describe_foreign, marker_state, read_marker
from voice_agents.flows.agents.cleanup import AgentResources, remove_resources
from voice_agents.repair.prices import read_prices
from voice_agents.repair.run import REPAIR_LEASE, ReconcileIncomplete, ReconcileReport
from voice_agents.repair.sweep import sweep

if TYPE_CHECKING:
    from voice_agents.data.agents import AgentStore
    from voice_agents.providers.s3 import RecordingBucket
    from voice_agents.runtime import Services

T = TypeVar("T")

# Stop claiming new work when less than this is left: a repair makes up to ~6 provider calls.
TIME_RESERVE_MS = 20_000
MAX_RECORDS_PER_RUN = 200
# A record whose repair fails (or leaves something pending) is retried after 1, 2, 4... minutes.
REPAIR_BACKOFF = timedelta(minutes=1)
REPAIR_BACKOFF_CAP = timedelta(hours=1)
# StuckRecords counts records that failed this many attempts, or are in flight this long.
STUCK_ATTEMPTS = 5
STUCK_AFTER = timedelta(minutes=30)
# Leases and deadlines are written by other processes' clocks: past this skew nothing is acted on.
MAX_CLOCK_SKEW = timedelta(seconds=30)
# The recordings' copy takes at most this much of a run, so the sweep after it always has its turn...
RECORDINGS_PHASE_MS = 60_000
# ...and starts a copy only with this much left beyond the reserve (a large recording downloading).
COPY_NEEDS_MS = 30_000

_REPAIRABLE = {AgentStatus.PROVISIONING.value, AgentStatus.DELETING.value, AgentStatus.FAILED.value, DELETED}


class MalformedRecord(ValueError):
    """A record the repair cannot act on safely (e.g. an unknown status): retried with back-off."""


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
            bucket = services.recordings
            if scope.marked and bucket is not None:
                _phase(
                    report,
                    "recordings",
                    lambda: _copy_recordings(services.store, bucket, remaining_ms, report),
                )
            if scope.marked:
                _phase(
                    report,
                    "sweep",
                    lambda: sweep(services, remaining_ms, worker, report, reserve_ms=TIME_RESERVE_MS),
                )
            _phase(
                report,
                "prices",
                lambda: read_prices(services, remaining_ms, report, reserve_ms=TIME_RESERVE_MS),
            )
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
    if report.repoints_blocked:
        count("MassRepointBlocked")
    if report.unverified_base:
        count("WebhookBaseUnverified")
    if report.stuck_records is not None:
        count("StuckRecords", report.stuck_records)
    if report.prices_read:
        count("CallPricesRead", report.prices_read)
    for outcome, number in (report.recordings or {}).items():
        if number:
            count(f"Recordings{outcome.capitalize()}", number)


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
            "python -m voice_agents.repair.operate mark --confirm"
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
            from voice_agents.flows.agents.update import repair_update

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
        from voice_agents.flows.agents.delete import finish_deletion

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


# --- calls' recordings ------------------------------------------------------------------------


def _copy_recordings(
    store: AgentStore, bucket: RecordingBucket, remaining_ms: Callable[[], int], report: ReconcileReport
) -> None:
    # Imported here: the copy's modules only in a run that has a bucket to copy into.
    from voice_agents.flows.calls.recording_copy import copy_due_recordings

    started = remaining_ms()

    def has_time() -> bool:
        left = remaining_ms()
        return left > TIME_RESERVE_MS + COPY_NEEDS_MS and started - left < RECORDINGS_PHASE_MS

    copied = copy_due_recordings(store, bucket, has_time=has_time)
    report.recordings = {"copied": copied.copied, "retried": copied.retried, "lost": copied.lost}


# --- 4. what needs a person ------------------------------------------------------------------


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
