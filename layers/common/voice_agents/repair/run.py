"""What every phase of a reconciler run shares: the lease it holds on a record it acts on, and the
run's report (logged, emitted as metrics, and answered)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

REPAIR_LEASE = timedelta(minutes=2)
# Unaccounted resources listed in the run's answer (all are logged and counted).
REPORTED_UNACCOUNTED = 50


class ReconcileIncomplete(RuntimeError):
    """A phase of the run raised (the others still ran): fail the invocation so it alarms."""

    def __init__(self, report: ReconcileReport) -> None:
        super().__init__(f"reconcile phases failed: {', '.join(report.errors)}")
        self.report = report


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
    # Moves onto another base URL held back: more than the brake allows, or onto a base that does
    # not answer its health route as this deployment's.
    repoints_blocked: int = 0
    unverified_base: str | None = None
    repair_failures: int = 0
    stuck_records: int | None = None
    # Twilio's prices of ended calls (repair/prices.py): read, asked again later, left unpriced, failed.
    prices_read: int = 0
    prices_deferred: int = 0
    prices_given_up: int = 0
    price_failures: int = 0
    # Listings whose pass the next run continues from the stored cursor, and listings listed again
    # from their first page because the provider refused the stored cursor.
    sweep_resumes: list[str] = field(default_factory=list)
    sweep_restarted: list[str] = field(default_factory=list)
    # Calls' recordings copied into the bucket, tried again later, and given up (None: no copy ran).
    recordings: dict[str, int] | None = None
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
            "repointsBlocked": self.repoints_blocked,
            "unverifiedBase": self.unverified_base,
            "repairFailures": self.repair_failures,
            "stuckRecords": self.stuck_records,
            "pricesRead": self.prices_read,
            "pricesDeferred": self.prices_deferred,
            "pricesGivenUp": self.prices_given_up,
            "priceFailures": self.price_failures,
            "sweepResumes": self.sweep_resumes,
            "sweepRestarted": self.sweep_restarted,
            "recordings": self.recordings,
            "errors": self.errors,
        }
