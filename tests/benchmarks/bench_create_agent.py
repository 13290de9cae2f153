"""End-to-end latency of POST /api/agents (the create-agent saga) against the local stack.

Not a pytest test (pytest collects test_*.py only): it prints figures and asserts nothing about timing.

    .venv/bin/python -m tests.benchmarks.bench_create_agent [--runs N]     (or: make bench)

The fake providers get fixed latencies (Retell create_llm 400 ms, get_llm 100 ms, create_agent 300 ms;
Twilio search_numbers 300 ms, buy_number 800 ms), so the chains take 800 ms (Retell) and 1100 ms
(Twilio). Run concurrently, the saga cannot beat the longer chain: 1100 ms is the critical-path bound,
and 1900 ms is what running every step one after the other would cost. Whatever is measured above the
bound is the saga's own overhead (Mongo writes to FerretDB, HTTP to the fakes, threads, Powertools).

One cold invocation comes first (imports, Mongo connection and index set-up, HTTP clients) and is
reported apart; then N warm invocations, each with its own Idempotency-Key (the dashboard always sends
one, so the idempotency records are part of the measured path). Between runs the fakes are reset and
the latencies injected again. Then the same with no injected latency, which shows the local overhead
alone, and round trips of the single operations the saga is made of.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from pymongo import monitoring

from tests.benchmarks.figures import print_header, summary, timed

if TYPE_CHECKING:
    from local.stack import LocalStack

RETELL_LATENCY_MS = {"create_llm": 400, "get_llm": 100, "create_agent": 300}
TWILIO_LATENCY_MS = {"search_numbers": 300, "buy_number": 800}
RETELL_CHAIN_MS = sum(RETELL_LATENCY_MS.values())  # 800
TWILIO_CHAIN_MS = sum(TWILIO_LATENCY_MS.values())  # 1100
BOUND_MS = max(RETELL_CHAIN_MS, TWILIO_CHAIN_MS)  # 1100: the critical path
SEQUENTIAL_MS = RETELL_CHAIN_MS + TWILIO_CHAIN_MS  # 1900: every step one after the other
TARGET_RATIO = 1.10
MODULE = "tests.benchmarks.bench_create_agent"
PRIMITIVE_SAMPLES = 30


class RoundTrips(monitoring.CommandListener):
    """The database commands sent while ``counting`` is on, as "command collection" (every command
    is one round trip; handshakes and heartbeats are not commands)."""

    def __init__(self) -> None:
        self.counting = False
        self.seen: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.counting and event.command_name not in ("hello", "isMaster", "ismaster", "endSessions"):
            target = event.command.get(event.command_name)
            self.seen.append(
                f"{event.command_name} {target}" if isinstance(target, str) else event.command_name
            )

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


ROUND_TRIPS = RoundTrips()
monitoring.register(ROUND_TRIPS)  # before any client is made: listeners are read at construction


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="warm runs per series (at least 10)")
    parser.add_argument(
        "--keep-db",
        action="store_true",
        help="let the records pile up instead of emptying the collections before each run (on FerretDB "
        "v1 every lookup by _id scans the collection, so the writes slow down as it grows)",
    )
    args = parser.parse_args(argv)
    if args.runs < 10:
        parser.error("--runs must be at least 10")

    from local.stack import local_stack

    print_header(MODULE, argv)

    with local_stack() as stack:
        for key, value in stack.environment().items():
            os.environ[key] = value
        for key in ("SECRETS_ARN",):
            os.environ.pop(key, None)
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "INFO")  # the template's default LogLevel
        # One owner creates every run: time the create (its purchase reserved), not the budget.
        os.environ["PURCHASE_BUDGET_PER_DAY"] = str(10**6)

        from local.invoke import handler_module, invoke, json_body
        from local.sample_events import load_event

        # The cold start's imports (Powertools, pydantic, pymongo, boto3, the domain package): none is
        # imported before, except httpx, which the local stack's fakes load. The JSON log lines are
        # still formatted and written (as in Lambda), but not onto the figures: the Logger takes
        # sys.stdout as it is made.
        log_sink = open(os.devnull, "w")  # noqa: SIM115 - open for the whole run
        with contextlib.redirect_stdout(log_sink):
            import_ms = timed(lambda: handler_module("create_agent"))

        from pymongo import MongoClient

        from voice_agents import runtime
        from voice_agents.core import observability

        handler = observability.logger.registered_handler
        if hasattr(handler, "setStream"):
            handler.setStream(log_sink)

        admin: MongoClient[dict[str, Any]] = MongoClient(stack.mongodb_uri, tz_aware=True)
        admin.drop_database(stack.database)
        info = admin.server_info()
        server = "FerretDB" if "ferretdbVersion" in info else "MongoDB"
        server_version = f"{server} (reports {info.get('version', '?')})"
        runtime.reset()
        print(
            f"stack: {server_version} at {stack.mongodb_uri} (db {stack.database}), "
            f"retell {stack.retell.base_url}, twilio {stack.twilio.base_url}"
        )

        database = admin[stack.database]

        def fresh_state(*, latency: bool) -> None:
            if not args.keep_db:
                for collection in ("agents", "idempotency", "purchases"):
                    database[collection].delete_many({})
            stack.reset()
            if latency:
                for operation, delay in RETELL_LATENCY_MS.items():
                    stack.retell.inject(operation, delay_ms=delay, times=None)
                for operation, delay in TWILIO_LATENCY_MS.items():
                    stack.twilio.inject(operation, delay_ms=delay, times=None)

        def create(*, idempotency_key: bool) -> float:
            event = load_event("create_agent.json")
            headers = {k: v for k, v in event["headers"].items() if k != "idempotency-key"}
            if idempotency_key:
                headers["idempotency-key"] = f"bench-{uuid.uuid4().hex}"
            event["headers"] = headers
            response: dict[str, Any] = {}

            def call() -> None:
                nonlocal response
                with contextlib.redirect_stdout(log_sink):  # metrics (EMF) are printed at flush
                    response = invoke("create_agent", event)

            elapsed = timed(call)
            if response.get("statusCode") != 201:
                status, body = response.get("statusCode"), response.get("body")
                raise SystemExit(f"create_agent answered {status} instead of 201: {body}")
            if json_body(response).get("status") != "active":
                raise SystemExit(f"create_agent returned an agent that is not active: {response['body']}")
            return elapsed

        def series(runs: int, *, latency: bool, idempotency_key: bool) -> list[float]:
            samples = []
            for _ in range(runs):
                fresh_state(latency=latency)
                samples.append(create(idempotency_key=idempotency_key))
            return samples

        fresh_state(latency=True)
        first_ms = create(idempotency_key=True)  # connections, indexes, twilio.rest, first requests
        warm = series(args.runs, latency=True, idempotency_key=True)
        # Cheap, so three times as many, interleaved so that drift affects both alike.
        local_keyed, local_unkeyed = [], []
        for _ in range(3 * args.runs):
            local_keyed += series(1, latency=False, idempotency_key=True)
            local_unkeyed += series(1, latency=False, idempotency_key=False)
        trips = {}
        for keyed in (True, False):
            fresh_state(latency=False)
            ROUND_TRIPS.seen.clear()
            ROUND_TRIPS.counting = True
            create(idempotency_key=keyed)
            ROUND_TRIPS.counting = False
            trips["with Idempotency-Key" if keyed else "without"] = list(ROUND_TRIPS.seen)
        primitives = measure_primitives(stack)
        agents_in_db = database["agents"].count_documents({})
        admin.close()
        runtime.reset()
        log_sink.close()

    figures = report(args.runs, import_ms, first_ms, warm, local_keyed, local_unkeyed, primitives)
    print()
    print("database round trips of one warm create, in order (every command is one)")
    for series_name, commands in trips.items():
        print(f"  {series_name:<22}{len(commands):>3}: {', '.join(commands)}")
    figures["round_trips"] = {name: len(commands) for name, commands in trips.items()}
    figures["agents_in_db_at_end"] = agents_in_db
    figures["db_emptied_between_runs"] = not args.keep_db
    emptied = "kept" if args.keep_db else "emptied before each run"
    print(f"(database {emptied}; agent records at the end: {agents_in_db})")
    print("RESULT " + json.dumps(figures, separators=(",", ":")))
    return 0


def measure_primitives(stack: LocalStack) -> dict[str, float]:
    """Median round trips of the single operations the saga is made of, with no injected latency
    (the Mongo ones on whatever the collection holds now)."""
    from bson import ObjectId

    from voice_agents import runtime
    from voice_agents.core.clock import now

    stack.reset()
    services = runtime.services()
    store = services.store
    agents = store.agents
    scratch = ObjectId()
    agents.insert_one({"_id": scratch, "ownerId": "bench-primitives", "status": "provisioning"})
    llm_id = services.retell.create_llm(prompt="bench", begin_message=None, tag="va-local:bench")

    def median_ms(action: Callable[[], Any]) -> float:
        return round(statistics.median(timed(action) for _ in range(PRIMITIVE_SAMPLES)), 2)

    def pool_of_two() -> None:
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="bench") as pool:
            for future in [pool.submit(lambda: None), pool.submit(lambda: None)]:
                future.result()

    figures = {
        "mongo_insert_one": median_ms(
            lambda: agents.insert_one({"ownerId": "bench-primitives", "status": "provisioning"})
        ),
        "mongo_update_one": median_ms(lambda: store.record(scratch, retellLlmId="llm_bench")),
        "mongo_find_one_and_update": median_ms(
            lambda: store.update(scratch, {"status": "provisioning"}, unset=("leaseOwner",))
        ),
        "mongo_find_one": median_ms(lambda: store.get(scratch)),
        "retell_get_llm_http": median_ms(lambda: services.retell.get_llm(llm_id)),
        "twilio_search_http": median_ms(
            lambda: services.twilio.search(services.settings.number_order(*services.settings.default_pair))
        ),
        "thread_pool_of_two": median_ms(pool_of_two),
        "clock_now": median_ms(now),
    }
    agents.delete_many({"ownerId": "bench-primitives"})
    return figures


def report(
    runs: int,
    import_ms: float,
    first_ms: float,
    warm: list[float],
    local_keyed: list[float],
    local_unkeyed: list[float],
    primitives: dict[str, float],
) -> dict[str, Any]:
    warm_stats = summary(warm)
    keyed_stats = summary(local_keyed)
    unkeyed_stats = summary(local_unkeyed)
    median = warm_stats["median"]
    overhead = median - BOUND_MS
    ratio = median / BOUND_MS
    retell_slack = TWILIO_CHAIN_MS - RETELL_CHAIN_MS
    cold_ms = import_ms + first_ms

    print()
    print(
        f"create_agent end to end, warm (ms, wall clock, time.perf_counter): {runs} runs with latencies, "
        f"{len(local_keyed)} of each series without"
    )
    print(f"{'series':<44}{'median':>9}{'p90':>9}{'min':>9}{'max':>9}")
    rows = [
        ("injected latencies, Idempotency-Key", warm_stats),
        ("no injected latency, Idempotency-Key", keyed_stats),
        ("no injected latency, no Idempotency-Key", unkeyed_stats),
    ]
    for name, stats in rows:
        print(
            f"{name:<44}{stats['median']:>9.1f}{stats['p90']:>9.1f}{stats['min']:>9.1f}{stats['max']:>9.1f}"
        )
    print(
        f"cold start (latencies injected): {cold_ms:.1f} ms = handler import {import_ms:.1f} (httpx was "
        f"already loaded by the fakes) "
        f"+ first invocation {first_ms:.1f}"
    )
    print()
    print(f"critical-path bound  max(Retell {RETELL_CHAIN_MS}, Twilio {TWILIO_CHAIN_MS}) = {BOUND_MS} ms")
    print(f"sequential sum of all steps                = {SEQUENTIAL_MS} ms")
    verdict = "within" if ratio <= TARGET_RATIO else "ABOVE"
    print(f"median / bound       = {ratio:.3f}  ({verdict} the {TARGET_RATIO:.2f} target)")
    print(f"median / sequential  = {median / SEQUENTIAL_MS:.3f}")
    print(f"overhead             = median - bound = {overhead:.1f} ms")
    print(
        f"  local overhead of a whole saga (no injected latency): {keyed_stats['median']:.1f} ms with "
        f"Idempotency-Key, {unkeyed_stats['median']:.1f} ms without "
        f"(idempotency records: {keyed_stats['median'] - unkeyed_stats['median']:.1f} ms)"
    )
    print(
        f"  the Retell chain has {retell_slack} ms of slack, so its own local work is hidden unless it "
        "exceeds that; only the Twilio chain's and the serial parts' local work adds to the bound"
    )
    print(
        f"  cold start extra     = cold - warm median = {cold_ms - median:.1f} ms "
        f"(imports {import_ms:.1f}, first invocation {first_ms - median:.1f})"
    )
    print()
    print(f"single operations, median of {PRIMITIVE_SAMPLES} (ms, no injected latency)")
    for name, value in primitives.items():
        print(f"  {name:<28}{value:>8.2f}")

    return {
        "runs": runs,
        "bound_ms": BOUND_MS,
        "sequential_ms": SEQUENTIAL_MS,
        "warm_ms": warm_stats,
        "cold_ms": round(cold_ms, 1),
        "cold_import_ms": round(import_ms, 1),
        "cold_first_invocation_ms": round(first_ms, 1),
        "ratio_median_bound": round(ratio, 3),
        "ratio_median_sequential": round(median / SEQUENTIAL_MS, 3),
        "overhead_ms": round(overhead, 1),
        "local_keyed_ms": keyed_stats,
        "local_unkeyed_ms": unkeyed_stats,
        "primitives_ms": primitives,
        "warm_samples_ms": [round(each, 1) for each in warm],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


if __name__ == "__main__":
    raise SystemExit(main())
