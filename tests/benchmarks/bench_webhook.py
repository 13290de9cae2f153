"""Warm overhead of the Twilio voice webhook: p50 and p99 of the handler's own time per call.

Not a pytest test (pytest collects test_*.py only): it prints figures and asserts nothing about timing.

    .venv/bin/python -m tests.benchmarks.bench_webhook [--runs N]

Warm overhead. The local stack is started, one active agent is created through the create_agent
handler, then N signed inbound calls (each with its own CallSid) go through the twilio_webhook handler
exactly as Lambda calls it. The fake Retell answers `register_call` with 0 ms injected latency, so
what is measured is our own work: signature check, Mongo lookup of the agent, dedupe lookup and write
of the call, the Retell HTTP round trip to a loopback fake, the TwiML, Powertools' decorators. Each
call is followed at once by a Twilio retry (same CallSid: must be answered from the call record,
without a second Retell registration; the fake's register_call count shows whether it was), a forged
signature (403 before any read) and a missing signature (403 before any work). Interleaving
the four series makes drift affect them alike. Then where a call's time goes: the Mongo, Retell and
signature steps timed inside real calls, and the same steps alone, back to back. The calls
collection is emptied before each call unless --keep-db (FerretDB has no TTL index, so in a
long-running local stack the records pile up: --keep-db shows what that costs).
The goal: a signed call's p99 at most 5 ms on the development machine (no injected latency, so
the figure is the handler's own time). Cold starts: tests/benchmarks/bench_cold_start.py.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from tests.benchmarks.figures import print_header, summary, timed

if TYPE_CHECKING:
    from local.stack import LocalStack

MODULE = "tests.benchmarks.bench_webhook"
CALLER = "+61298765432"
PRIMITIVE_SAMPLES = 50
GOAL_P99_MS = 5.0


# --------------------------------------------------------------------------------------------------
# Warm overhead: the handler in this process, against the local stack
# --------------------------------------------------------------------------------------------------


def measure_warm(stack: LocalStack, runs: int, *, keep_db: bool, log_sink: Any) -> dict[str, Any]:
    from pymongo import MongoClient

    from local.demo import signed_call_event
    from local.invoke import create_active_agent, handler_module, invoke
    from local.signing import set_header
    from voice_agents import runtime
    from voice_agents.core import observability

    admin: MongoClient[dict[str, Any]] = MongoClient(stack.mongodb_uri, tz_aware=True)
    admin.drop_database(stack.database)
    info = admin.server_info()
    server = "FerretDB" if "ferretdbVersion" in info else "MongoDB"
    database = admin[stack.database]
    stack.reset()

    with contextlib.redirect_stdout(log_sink):  # the Logger takes sys.stdout as it is made
        handler_module("create_agent")
        handler_module("twilio_webhook")
    handler = observability.logger.registered_handler
    if hasattr(handler, "setStream"):
        handler.setStream(log_sink)

    with contextlib.redirect_stdout(log_sink):
        agent = create_active_agent()
    # Forget the clients create_agent built, so the webhook's first invocation builds its own
    # (settings, MongoClient + connection, httpx client), as in a fresh webhook Lambda instance.
    runtime.reset()
    # 0 ms injected latency: the fake refuses a fault that does nothing, so none is queued at all.
    stack.retell.clear_faults()
    if stack.retell.faults():
        raise SystemExit(f"the fake Retell still has faults queued: {stack.retell.faults()}")
    registered_before = stack.retell.call_count("register_call")

    def call(event: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        response: dict[str, Any] = {}

        def action() -> None:
            nonlocal response
            with contextlib.redirect_stdout(log_sink):  # EMF metrics are printed
                response = invoke("twilio_webhook", event)

        return timed(action), response

    def signed() -> dict[str, Any]:
        return signed_call_event(agent["webhookUrl"], agent["id"], CALLER, agent["phoneNumber"])

    def expect(response: dict[str, Any], status: int, what: str) -> None:
        if response.get("statusCode") != status:
            raise SystemExit(f"{what}: webhook answered {response.get('statusCode')}: {response.get('body')}")

    first_ms, first = call(signed())
    expect(first, 200, "first call")
    if "<Sip>sip:" not in first["body"]:
        raise SystemExit(f"first call was not connected: {first['body']}")

    external = external_work(agent)
    fresh, retry, forged, unsigned, floor = [], [], [], [], []
    same_answer = 0
    for _ in range(runs):
        if not keep_db:
            database["calls"].delete_many({})
        # Events are built (and signed) outside the timed region: Twilio does that part.
        event = signed()
        retry_event = json.loads(json.dumps(event))
        forged_event = json.loads(json.dumps(event))
        set_header(forged_event, "X-Twilio-Signature", "Zm9yZ2VkLXNpZ25hdHVyZQ==")
        unsigned_event = json.loads(json.dumps(event))
        del unsigned_event["headers"]["X-Twilio-Signature"]

        elapsed, response = call(event)
        expect(response, 200, "signed call")
        if "<Sip>sip:" not in response["body"]:
            raise SystemExit(f"a signed call was not connected: {response['body']}")
        fresh.append(elapsed)
        elapsed, retried = call(retry_event)
        expect(retried, 200, "Twilio retry")
        retry.append(elapsed)
        same_answer += retried["body"] == response["body"]
        elapsed, response = call(forged_event)
        expect(response, 403, "forged signature")
        forged.append(elapsed)
        elapsed, response = call(unsigned_event)
        expect(response, 403, "missing signature")
        unsigned.append(elapsed)
        floor.append(timed(external))

    registered = stack.retell.call_count("register_call") - registered_before - len(floor)
    database["calls"].delete_many({"_id": {"$regex": "^CAfloor"}})
    calls_in_db = database["calls"].count_documents({})
    steps = measure_steps_in_calls(min(runs, 100), call, signed, database, keep_db=keep_db)
    primitives = measure_primitives(stack, agent, signed(), log_sink)
    admin.close()
    runtime.reset()
    quarter = max(1, runs // 4)
    return {
        "server": f"{server} (reports {info.get('version', '?')})",
        "first_ms": first_ms,
        "fresh": fresh,
        "retry": retry,
        "forged": forged,
        "unsigned": unsigned,
        "floor": floor,
        "register_calls": registered,
        "register_calls_expected": runs + 1,  # one per distinct CallSid, the first call included
        "retry_same_answer": same_answer,
        "calls_in_db": calls_in_db,
        "fresh_first_quarter_median": statistics.median(fresh[:quarter]),
        "fresh_last_quarter_median": statistics.median(fresh[-quarter:]),
        "primitives": primitives,
        "steps": steps,
    }


def external_work(agent: dict[str, Any]) -> Callable[[], None]:
    """A signed call's round trips alone, in its order, with no handler around them: the agent read,
    the call lookup (a miss), the Retell registration, the call record's write. Timed beside each
    call, its p50/p99 is the part of the call's time that is FerretDB's, the fake's and the machine's."""
    from datetime import timedelta

    from bson import ObjectId

    from voice_agents import runtime
    from voice_agents.core.clock import now
    from voice_agents.flows.calls import destinations

    store, retell = runtime.store(), runtime.retell()
    oid = ObjectId(agent["id"])
    sequence = iter(range(10**9))

    def run() -> None:
        call_sid = f"CAfloor{next(sequence)}"
        record = store.get_record(oid)
        assert record is not None
        moment = now()
        assert store.calls.registered(call_sid, moment) is None
        call_id = retell.register_phone_call(
            agent_id=agent["retellAgentId"],
            from_number=CALLER,
            to_number=agent["phoneNumber"],
            metadata={"twilio_call_sid": call_sid, "agent_id": agent["id"]},
            timeout_seconds=destinations.REGISTER_TIMEOUT_SECONDS,
            agent_version=record.retell_agent_version,
        )
        store.calls.remember(
            call_sid,
            retell_call_id=call_id,
            agent_id=oid,
            owner_id=record.owner_id,
            from_number=CALLER,
            to_number=agent["phoneNumber"],
            moment=moment,
            retention=timedelta(days=1),
        )

    return run


@contextlib.contextmanager
def step_timers() -> Iterator[dict[str, float]]:
    """Time the external steps inside real handler calls: wraps, for the duration, pymongo's
    Collection.find_one/update_one, RetellClient.register_phone_call and RequestValidator.validate
    (a few microseconds of wrapper each), and restores them afterwards."""
    from pymongo.collection import Collection
    from twilio.request_validator import RequestValidator

    from voice_agents.providers.retell import RetellClient

    spent: dict[str, float] = defaultdict(float)
    wrapped = [
        (Collection, "find_one", lambda self: f"mongo {self.name}.find_one"),
        (Collection, "update_one", lambda self: f"mongo {self.name}.update_one"),
        (RetellClient, "register_phone_call", lambda self: "retell register_phone_call (HTTP)"),
        (RequestValidator, "validate", lambda self: "signature check (RequestValidator)"),
    ]
    originals = [(owner, name, owner.__dict__[name]) for owner, name, _ in wrapped]

    def timer(original: Callable[..., Any], label: Callable[[Any], str]) -> Callable[..., Any]:
        def timed_method(self: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(self, *args, **kwargs)
            finally:
                spent[label(self)] += (time.perf_counter() - started) * 1000

        return timed_method

    for (owner, name, label), (_, _, original) in zip(wrapped, originals, strict=True):
        setattr(owner, name, timer(original, label))
    try:
        yield spent
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


def measure_steps_in_calls(
    runs: int,
    call: Callable[[dict[str, Any]], tuple[float, dict[str, Any]]],
    signed: Callable[[], dict[str, Any]],
    database: Any,
    *,
    keep_db: bool,
) -> dict[str, float]:
    """Median time of each step inside real signed calls (new CallSid), and of what is left."""
    samples: dict[str, list[float]] = defaultdict(list)
    with step_timers() as spent:
        for _ in range(runs):
            if not keep_db:
                database["calls"].delete_many({})
            event = signed()
            spent.clear()
            elapsed, response = call(event)
            if response.get("statusCode") != 200:
                raise SystemExit(f"instrumented call answered {response.get('statusCode')}")
            samples["whole call (instrumented)"].append(elapsed)
            for label, value in spent.items():
                samples[label].append(value)
            samples["everything else"].append(elapsed - sum(spent.values()))
    return {label: round(statistics.median(values), 3) for label, values in samples.items()}


def measure_primitives(
    stack: LocalStack, agent: dict[str, Any], event: dict[str, Any], log_sink: Any
) -> dict[str, float]:
    """Median times of the single steps of a connected call (register_call still at 0 ms)."""
    import httpx
    from bson import ObjectId
    from twilio.request_validator import RequestValidator

    from local.stack import TWILIO_AUTH_TOKEN
    from voice_agents import runtime
    from voice_agents.core.clock import now
    from voice_agents.core.observability import count
    from voice_agents.data.database import CALLS
    from voice_agents.flows.calls import destinations
    from voice_agents.flows.calls.twilio_request import form_params

    store = runtime.store()
    calls = store.database[CALLS]
    retell = runtime.retell()
    oid = ObjectId(agent["id"])
    record = store.get(oid)
    assert record is not None
    params = form_params(event["body"], event["isBase64Encoded"])
    assert params is not None
    signature = event["headers"]["X-Twilio-Signature"]
    sequence = iter(range(10**9))

    def median_ms(action: Callable[[], Any]) -> float:
        return round(statistics.median(timed(action) for _ in range(PRIMITIVE_SAMPLES)), 3)

    def upsert() -> None:
        moment = now()
        calls.update_one(
            {"_id": f"CAbench{next(sequence)}"},
            {
                "$set": {
                    "retellCallId": "call_bench",
                    "agentId": oid,
                    "createdAt": moment,
                    "expiresAt": moment,
                }
            },
            upsert=True,
        )

    def emit_metric() -> None:
        with contextlib.redirect_stdout(log_sink):
            count("BenchMetric")

    def register() -> None:
        retell.register_phone_call(
            agent_id=record["retellAgentId"],
            from_number=CALLER,
            to_number=agent["phoneNumber"],
            metadata={"twilio_call_sid": "CAbench", "agent_id": agent["id"]},
            timeout_seconds=destinations.REGISTER_TIMEOUT_SECONDS,
        )

    bare = httpx.Client(base_url=stack.retell.base_url)
    figures = {
        "form_params (base64 + parse_qsl)": median_ms(lambda: form_params(event["body"], True)),
        "signature check (RequestValidator)": median_ms(
            lambda: RequestValidator(TWILIO_AUTH_TOKEN).validate(agent["webhookUrl"], params, signature)
        ),
        "mongo agents.find_one by _id": median_ms(lambda: store.get(oid)),
        "mongo calls.find_one by _id (miss)": median_ms(
            lambda: calls.find_one({"_id": "CAnot-there", "expiresAt": {"$gt": now()}})
        ),
        "mongo calls.update_one upsert": median_ms(upsert),
        "retell register_phone_call (HTTP)": median_ms(register),
        "bare httpx GET to the same fake": median_ms(lambda: bare.get("/__control/calls")),
        "EMF metric (count) to /dev/null": median_ms(emit_metric),
    }
    bare.close()
    calls.delete_many({"_id": {"$regex": "^CAbench"}})
    return figures


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------


def report_warm(runs: int, warm: dict[str, Any]) -> dict[str, Any]:
    rows = [
        ("signed call, new CallSid (registers)", warm["fresh"]),
        ("Twilio retry, same CallSid (no register)", warm["retry"]),
        ("403 forged signature (before any read)", warm["forged"]),
        ("403 missing signature (no work)", warm["unsigned"]),
        ("round trips alone, no handler (the floor)", warm["floor"]),
    ]
    print()
    print(f"twilio_webhook warm, {runs} calls per series, interleaved (ms, wall clock around invoke())")
    print(f"{'series':<44}{'median':>9}{'p90':>9}{'p99':>9}{'min':>9}{'max':>9}")
    stats = {}
    for name, samples in rows:
        s = summary(samples, digits=2, tail=True)
        stats[name] = s
        print(
            f"{name:<44}{s['median']:>9.2f}{s['p90']:>9.2f}{s['p99']:>9.2f}{s['min']:>9.2f}{s['max']:>9.2f}"
        )
    p99 = stats[rows[0][0]]["p99"]
    verdict = "met" if p99 <= GOAL_P99_MS else "NOT met"
    print(f"signed call p99 {p99:.2f} ms: goal p99 <= {GOAL_P99_MS} ms {verdict}")
    own = {key: stats[rows[0][0]][key] - stats[rows[4][0]][key] for key in ("median", "p99")}
    print(
        f"the handler's own share (signed call minus the round trips alone): median {own['median']:.2f} ms, "
        f"p99 {own['p99']:.2f} ms; the round trips alone: median {stats[rows[4][0]]['median']:.2f} ms, "
        f"p99 {stats[rows[4][0]]['p99']:.2f} ms"
    )
    print(
        f"first webhook invocation in this process (new MongoClient + connection, new httpx client, "
        f"settings; imports already done): {warm['first_ms']:.1f} ms"
    )
    print(
        f"fresh-call median, first quarter {warm['fresh_first_quarter_median']:.2f} ms vs last quarter "
        f"{warm['fresh_last_quarter_median']:.2f} ms (call records in the db at the end: "
        f"{warm['calls_in_db']})"
    )
    expected = warm["register_calls_expected"]
    print(
        f"fake Retell register_call count: {warm['register_calls']} for {expected} distinct CallSids and "
        f"{runs} retries -> dedupe {'worked' if warm['register_calls'] == expected else 'DID NOT work'}; "
        f"retry answered with the same TwiML {warm['retry_same_answer']}/{runs}"
    )
    print()
    steps = warm["steps"]
    runs_instrumented = min(runs, 100)
    print(
        f"where a signed call's time goes: inside {runs_instrumented} real calls (new CallSid), median (ms)"
    )
    for name, value in steps.items():
        print(f"  {name:<44}{value:>9.3f}")
    print(
        "  (everything else = handler + Powertools decorators + parsing + TwiML + EMF metric; the 403 "
        f"missing-signature median, {stats[rows[3][0]]['median']:.3f} ms, bounds the decorators' share)"
    )
    print()
    print(f"the same steps alone, back to back, median of {PRIMITIVE_SAMPLES} (ms; a floor: hot caches)")
    for name, value in warm["primitives"].items():
        print(f"  {name:<44}{value:>9.3f}")
    return {
        "fresh_ms": stats[rows[0][0]],
        "retry_ms": stats[rows[1][0]],
        "forbidden_bad_signature_ms": stats[rows[2][0]],
        "forbidden_missing_signature_ms": stats[rows[3][0]],
        "round_trips_alone_ms": stats[rows[4][0]],
        "first_invocation_ms": round(warm["first_ms"], 1),
        "register_call_count": warm["register_calls"],
        "register_call_expected": expected,
        "retry_same_answer": warm["retry_same_answer"],
        "calls_in_db_at_end": warm["calls_in_db"],
        "steps_in_calls_ms": warm["steps"],
        "primitives_ms": warm["primitives"],
        "server": warm["server"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="warm calls per series (at least 20)")
    parser.add_argument(
        "--keep-db",
        action="store_true",
        help="let the call records pile up instead of emptying the calls collection before each call "
        "(on FerretDB v1 a lookup by _id scans the collection, so the dedupe lookup slows as it grows)",
    )
    args = parser.parse_args(argv)
    if args.runs < 20:
        parser.error("--runs must be at least 20")

    print_header(MODULE, argv)

    from local.stack import local_stack

    with local_stack() as stack:
        for key, value in stack.environment().items():
            os.environ[key] = value
        for key in ("SECRETS_ARN",):
            os.environ.pop(key, None)
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "INFO")  # the template's default LogLevel
        print(
            f"stack: {stack.mongodb_uri} (db {stack.database}), retell {stack.retell.base_url}, "
            f"twilio {stack.twilio.base_url}; Powertools tracing disabled as in the tests"
        )
        with open(os.devnull, "w") as log_sink:
            warm = measure_warm(stack, args.runs, keep_db=args.keep_db, log_sink=log_sink)
    kept = "kept" if args.keep_db else "emptied before each call"
    print(f"database: {warm['server']}; calls collection {kept}")

    figures: dict[str, Any] = {"runs": args.runs}
    figures.update(report_warm(args.runs, warm))
    figures["fresh_samples_ms"] = [round(each, 2) for each in warm["fresh"]]
    figures["python"] = platform.python_version()
    figures["platform"] = platform.platform()
    print()
    print("RESULT " + json.dumps(figures, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
