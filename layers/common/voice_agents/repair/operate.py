"""Operator commands, run with the deployment's environment (or SECRETS_ARN), or the local stack's.

    python -m voice_agents.repair.operate unaccounted [--older-than 1d] [--max N] [--expect-count N]
                                                     [--confirm]
        Tagged provider resources whose tag names no record. A dry run unless --confirm; only those
        older than --older-than are released, and only in a database marked as this deployment's.
        --max refuses when more than N would be released, --expect-count unless exactly N would.
    python -m voice_agents.repair.operate repoint [--confirm]
        The numbers and Retell agents whose URLs differ from those built on WEBHOOK_BASE_URL, marking
        the moves onto another base URL (what the reconciler's re-point brake holds back). With
        --confirm they are re-pointed, past the brake, once the base answers its health route with
        this deployment's tag.
    python -m voice_agents.repair.operate mark [--confirm] [--replace]
        Mark this database as the one serving RESOURCE_TAG (the reconciler sweeps only then).
    python -m voice_agents.repair.operate creation [status|pause|resume]
        The kill switch of creates (CREATION_PAUSED_PARAMETER): show it, or turn creates off or back
        on. The spending alarm turns it on; only an operator turns it back.

Exit status: 0 done (or a dry run), 1 something could not be removed, 2 refused.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from datetime import timedelta
from typing import TYPE_CHECKING

from voice_agents.core.clock import now
from voice_agents.core.errors import DomainError
from voice_agents.core.observability import logger
from voice_agents.core.retry import finish_by
from voice_agents.core.tags import tag_prefix
from voice_agents.data.deployment import (
    MarkerState,
    describe_foreign,
    marker_state,
    read_marker,
    write_marker,
)
from voice_agents.flows.agents.cleanup import NUMBER, RETELL_AGENT, RETELL_LLM
from voice_agents.repair.listings import Tagged, tagged_resources
from voice_agents.repair.run import ReconcileReport
from voice_agents.repair.sweep import (
    REMOVE,
    SWEEP_LEASE,
    SWEEP_LOCK_TTL,
    Plan,
    carry_out,
    plan_sweep,
    remove_tagged,
    unverified_base,
)

if TYPE_CHECKING:
    from voice_agents.providers.creation_switch import CreationSwitch
    from voice_agents.runtime import Services

REFUSED = 2
# The number first (it bills), then the Retell agent, then its LLM.
_REMOVAL_ORDER = {NUMBER: 0, RETELL_AGENT: 1, RETELL_LLM: 2}
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
# The re-points stop this long before the sweep lease the command holds expires (a run resumes).
REPOINT_RESERVE_MS = 20_000


def unaccounted(services: Services) -> list[Tagged]:
    """Tagged resources whose tag names no record in this database."""
    tagged = tagged_resources(services)
    records = services.store.find_many(sorted({item.agent_id for item in tagged})) if tagged else {}
    return [item for item in tagged if item.agent_id not in records]


def _unaccounted_command(
    services: Services, older_than: timedelta, confirm: bool, *, most: int | None, expected: int | None
) -> int:
    store, tag = services.store, services.settings.resource_tag
    moment = now()
    found = unaccounted(services)
    due = sorted(
        (item for item in found if item.age(moment) >= older_than),
        key=lambda item: (_REMOVAL_ORDER[item.resource], item.resource_id),
    )
    print(f"{len(found)} unaccounted resource(s) tagged '{tag}:' (database '{store.database.name}'):")
    for item in found:
        mark = "*" if item in due else " "
        age = timedelta(seconds=int(item.age(moment).total_seconds()))
        print(f" {mark} {item.resource:<13} {item.resource_id:<40} {item.tag}  age {age}")
    print(f"{len(due)} older than {older_than} (marked *).")
    # What the operator looked at bounds what --confirm may release.
    if most is not None and len(due) > most:
        print(f"Refused: {len(due)} marked, more than --max {most}; nothing released.", file=sys.stderr)
        return REFUSED
    if expected is not None and len(due) != expected:
        print(
            f"Refused: {len(due)} marked, not --expect-count {expected}; nothing released.", file=sys.stderr
        )
        return REFUSED
    if not due:
        return 0
    if not confirm:
        print("Dry run: nothing released. Add --confirm to release the marked ones.")
        return 0
    if not _marked_as_ours(services):
        return REFUSED
    # Look again just before acting: a record may have been written since the listing.
    records = store.find_many(sorted({item.agent_id for item in due}))
    failed = 0
    for item in due:
        if item.agent_id in records:
            print(f"   kept {item.resource} {item.resource_id}: its record exists now")
            continue
        logger.warning("releasing an unaccounted resource on the operator's request", **item.describe(moment))
        if remove_tagged(item, services, reason="operator"):
            print(f"   released {item.resource} {item.resource_id}")
        else:
            failed += 1
            print(
                f"   NOT released {item.resource} {item.resource_id} (already gone, or failed: see the log)"
            )
    return 1 if failed else 0


def _repoint_command(services: Services, confirm: bool) -> int:
    store, tag = services.store, services.settings.resource_tag
    base = services.settings.require("WEBHOOK_BASE_URL")  # the reconciler's: what to re-point onto
    moment = now()
    found = tagged_resources(services)
    records = store.find_many(sorted({item.agent_id for item in found})) if found else {}
    plan = plan_sweep(found, records, services, moment)
    repoints = plan.repoints()
    print(f"{len(repoints)} re-point(s) onto {base} (tag '{tag}:', database '{store.database.name}'):")
    for item, _ in repoints:
        move = plan.move_of(item)
        mark, where = ("*", f"{move.from_base or '(none of ours)'} -> {move.to_base}") if move else (" ", "")
        print(f" {mark} {item.resource:<13} {item.resource_id:<40} agent {item.agent_id}  {where}")
    print(f"{len(plan.moves)} move(s) onto another base URL (marked *).")
    if not repoints:
        return 0
    unverified = unverified_base(plan, services)
    if plan.moves and unverified is None:
        print(f"{base} answers its health route as this deployment.")
    if not confirm:
        print("Dry run: nothing re-pointed. Add --confirm to re-point them.")
        return 0
    if unverified is not None:
        print(f"Refused: {unverified[1]}; nothing re-pointed.", file=sys.stderr)
        return REFUSED
    if not _marked_as_ours(services):
        return REFUSED
    return _carry_out_repoints(plan, services, planned=len(repoints))


def _carry_out_repoints(plan: Plan, services: Services, *, planned: int) -> int:
    """The plan's re-points (never a removal), under the sweep's lease so no scheduled sweep plans
    the same moves meanwhile, and within that lease's time."""
    from voice_agents.runtime import WORKER_ID

    worker = f"operator:{WORKER_ID}"
    if not services.store.leases.acquire(SWEEP_LEASE, worker, SWEEP_LOCK_TTL):
        print("Refused: a reconciler is sweeping now; try again in a few minutes.", file=sys.stderr)
        return REFUSED
    deadline = time.monotonic() + SWEEP_LOCK_TTL.total_seconds()
    report = ReconcileReport()
    try:
        logger.warning("re-pointing on the operator's request", planned=planned, moves=len(plan.moves))
        with finish_by(deadline):
            carry_out(
                plan,
                services,
                lambda: int((deadline - time.monotonic()) * 1000),
                worker,
                report,
                reserve_ms=REPOINT_RESERVE_MS,
                allowed=lambda _, action: action != REMOVE,
            )
    finally:
        services.store.leases.release(SWEEP_LEASE, worker)
    done = report.webhooks_repaired + report.events_webhooks_repaired
    print(
        f"re-pointed {report.webhooks_repaired} number(s), {report.events_webhooks_repaired} Retell agent(s)"
    )
    if done < planned:
        print(
            f"{planned - done} NOT re-pointed (changed since the listing, failed, or out of time: see the "
            "log); run the command again"
        )
        return 1
    return 0


def _marked_as_ours(services: Services) -> bool:
    """Whether the database is marked as this deployment's; says why not (the operator acts only then)."""
    store, tag = services.store, services.settings.resource_tag
    state = marker_state(read_marker(store), tag)
    if state is not MarkerState.OURS:
        print(
            f"Refused: database '{store.database.name}' is not marked as serving '{tag}' ({state}).",
            file=sys.stderr,
        )
    return state is MarkerState.OURS


def _mark_command(services: Services, confirm: bool, replace: bool) -> int:
    store, tag = services.store, services.settings.resource_tag
    marker = read_marker(store)
    state = marker_state(marker, tag)
    records = store.count_records()
    ours = store.count_records(tagged=tag_prefix(tag))
    print(f"database '{store.database.name}': {records} record(s), {ours} tagged '{tag}:'; marker: {state}")
    if state is MarkerState.OURS:
        return 0
    if state is MarkerState.FOREIGN and not replace:
        print(
            f"Refused: {describe_foreign(store, marker, tag)}. --replace rewrites the marker.",
            file=sys.stderr,
        )
        return REFUSED
    if not confirm:
        print(f"Dry run: would mark it as serving '{tag}'. Add --confirm.")
        return 0
    write_marker(store, tag, replace=replace)
    print(f"marked: database '{store.database.name}' serves '{tag}'")
    return 0


def _creation_command(switch: CreationSwitch | None, action: str) -> int:
    if switch is None:
        print("Refused: CREATION_PAUSED_PARAMETER is not set, so creates cannot be paused.", file=sys.stderr)
        return REFUSED
    if action != "status":
        switch.set(paused=action == "pause")
    state = "paused" if switch.paused() else "allowed"
    print(f"creating agents is {state} (SSM parameter {switch.name}; every create sees it within a minute)")
    return 0


def _age(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r}: use a number and s, m, h or d, e.g. 36h or 7d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: use a whole number, 0 or more")
    return int(text)


def main(argv: list[str] | None = None, services: Services | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m voice_agents.repair.operate", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser(
        "unaccounted", help="list (and on --confirm release) resources no record names"
    )
    listing.add_argument(
        "--older-than", type=_age, default=timedelta(days=1), help="age threshold (default 1d)"
    )
    listing.add_argument("--max", type=_count, dest="most", help="refuse when more than N would be released")
    listing.add_argument(
        "--expect-count", type=_count, dest="expected", help="refuse unless exactly N would be released"
    )
    listing.add_argument("--confirm", action="store_true", help="release them (default: a dry run)")
    repointing = commands.add_parser(
        "repoint", help="list (and on --confirm re-point) numbers and agents onto WEBHOOK_BASE_URL"
    )
    repointing.add_argument(
        "--confirm", action="store_true", help="re-point them, past the brake (default: a dry run)"
    )
    marking = commands.add_parser("mark", help="mark this database as serving RESOURCE_TAG")
    marking.add_argument("--confirm", action="store_true", help="write the marker (default: a dry run)")
    marking.add_argument("--replace", action="store_true", help="replace another deployment's marker")
    creating = commands.add_parser("creation", help="show, pause or resume creating agents (the kill switch)")
    creating.add_argument("action", nargs="?", choices=("status", "pause", "resume"), default="status")
    args = parser.parse_args(argv)

    try:
        if args.command == "creation":  # needs neither the database nor the providers
            from voice_agents import runtime

            switch = services.creation_switch if services is not None else runtime.creation_switch()
            return _creation_command(switch, args.action)
        if services is None:
            from voice_agents import runtime

            services = runtime.services()
        if args.command == "mark":
            return _mark_command(services, args.confirm, args.replace)
        if args.command == "repoint":
            return _repoint_command(services, args.confirm)
        return _unaccounted_command(
            services, args.older_than, args.confirm, most=args.most, expected=args.expected
        )
    except DomainError as exc:  # a setting, the database or a provider: say which, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return REFUSED


if __name__ == "__main__":
    # Metrics need CloudWatch's log agent: from a shell they would only clutter the output.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    sys.exit(main())
