"""Warm overhead of the Twilio voice webhook and the cold-start import cost of every function.

Not a pytest test (pytest collects test_*.py only): it prints figures and asserts nothing about timing.

    .venv/bin/python -m tests.benchmarks.bench_webhook [--runs N] [--import-runs K]

Warm overhead. The local stack is started, one active agent is created through the create_agent
handler, then N signed inbound calls (each with its own CallSid) go through the twilio_webhook handler
exactly as Lambda calls it. The fake Retell answers `register_call` with 0 ms injected latency, so
what is measured is our own work: signature check, Mongo lookup of the agent, dedupe lookup and write
of the call, the Retell HTTP round trip to a loopback fake, the TwiML, Powertools' decorators. Each
call is followed at once by a Twilio retry (same CallSid: must be answered from the call record,
without a second Retell registration; the fake's register_call count shows whether it was), a forged
signature (403 after the agent lookup) and a missing signature (403 before any work). Interleaving
the four series makes drift affect them alike. Then where a call's time goes: the Mongo, Retell and
signature steps timed inside real calls, and the same steps alone, back to back. The calls
collection is emptied before each call unless --keep-db (FerretDB has no TTL index, so in a
long-running local stack the records pile up: --keep-db shows what that costs).

Cold start. Each function's app.py is imported in fresh interpreters (`handler_module`, after the
stdlib-only `local.invoke` that plays Lambda's bootstrap), K times each, median, interleaved with
`import twilio.rest` alone, `import boto3` alone and a few other libraries, so ratios compare figures
from the same run. Two environments: "lambda" (LAMBDA_TASK_ROOT set, tracing on as the template's
`Tracing: Active` makes it: Powertools' Tracer patches the X-Ray-supported libraries) and "local"
(POWERTOOLS_TRACE_DISABLED=true outside Lambda, as the local stack and the tests run). Separate runs
with `-X importtime` give the top modules by cumulative time and the self time per package.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.benchmarks.figures import print_header, summary, timed

ROOT = Path(__file__).resolve().parents[2]
# What pytest's `pythonpath` setting gives the tests; `python -m` only puts the working directory first.
for entry in (ROOT / "layers" / "common", ROOT):
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))

if TYPE_CHECKING:
    from local.stack import LocalStack

MODULE = "tests.benchmarks.bench_webhook"
CALLER = "+61298765432"
PRIMITIVE_SAMPLES = 50
FUNCTIONS = ("create_agent", "get_agents", "delete_agent", "twilio_webhook", "reconcile")
# Libraries imported alone, for scale: the two the brief compares against, then the webhook's parts.
LIBRARIES = (
    "twilio.rest",
    "boto3",
    "twilio.request_validator",
    "voice_agents.observability",  # Powertools Logger + Tracer (+ X-Ray SDK) + metrics
    "pymongo",
    "httpx",
    "pydantic",
)
# Powertools' Tracer as observability.py makes it (auto_patch: every X-Ray-supported library that is
# installed, botocore and requests included) against one patching only what the webhook calls. Only
# the "lambda" environment patches anything; outside Lambda the Tracer disables itself.
_PATCH_ALL = "Tracer() (patch_all, as now)"
_PATCH_TWO = "Tracer(patch_modules=(httpx, pymongo))"
SNIPPETS = {
    _PATCH_ALL: "from aws_lambda_powertools import Tracer\nTracer(service='voice-agents')",
    _PATCH_TWO: (
        "from aws_lambda_powertools import Tracer\n"
        "Tracer(service='voice-agents', patch_modules=('httpx', 'pymongo'))"
    ),
    # httpx/__init__ tries `from ._main import main` (its CLI): with click and pygments installed, as
    # in this venv (dev tools), they are imported before rich is found missing. The layer has neither.
    "import click, pygments.lexers (venv only)": "import click, pygments.lexers, pygments.util",
}
# Whether each of these is in sys.modules after a function's import.
WATCHED = (
    "twilio.rest",
    "twilio.request_validator",
    "boto3",
    "botocore",
    "aws_xray_sdk",
    "pymongo",
    "httpx",
    "pydantic",
    "requests",
    "aiohttp",
    "click",
    "pygments",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.utilities.parser",
    "aws_lambda_powertools.utilities.parameters",
    "aws_lambda_powertools.utilities.idempotency",
)
TOP_MODULES = 8
BREAKDOWN_FUNCTIONS = ("twilio_webhook", "create_agent")
START_MARK = "@@bench-import-start"
END_MARK = "@@bench-import-end"

# Runs in a fresh interpreter: argv = kind ("app" | "module" | "snippet"), target. Prints one JSON line.
PROBE = f"""
import importlib, json, os, sys, time
sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / "layers" / "common")!r}]
import local.invoke  # stdlib only (json, dataclasses, pathlib...), as Lambda's bootstrap has loaded
kind, target = sys.argv[1], sys.argv[2]
before = len(sys.modules)
os.write(2, b"{START_MARK}\\n")
started = time.perf_counter()
if kind == "app":
    local.invoke.handler_module(target)
elif kind == "module":
    importlib.import_module(target)
else:
    exec(target)
elapsed = (time.perf_counter() - started) * 1000
os.write(2, b"{END_MARK}\\n")
watched = {list(WATCHED)!r}
print(json.dumps({{"ms": elapsed, "new_modules": len(sys.modules) - before,
                  "loaded": {{name: name in sys.modules for name in watched}}}}))
"""


# --------------------------------------------------------------------------------------------------
# Cold start: imports in fresh interpreters
# --------------------------------------------------------------------------------------------------


def probe_environment(mode: str) -> dict[str, str]:
    """The parent's environment without Lambda/Powertools/AWS settings, plus the mode's."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "LAMBDA_", "POWERTOOLS_", "PYTHON", "_X_AMZN"))
    }
    env.update(
        {
            "POWERTOOLS_SERVICE_NAME": "voice-agents",
            "POWERTOOLS_METRICS_NAMESPACE": "VoiceAgents",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "AWS_REGION": "ap-southeast-2",
            "AWS_DEFAULT_REGION": "ap-southeast-2",
        }
    )
    if mode == "lambda":
        env.update(
            {
                "LAMBDA_TASK_ROOT": "/var/task",
                "AWS_LAMBDA_FUNCTION_NAME": "voice-agents-bench",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            }
        )
    else:
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
    return env


def run_probe(kind: str, target: str, env: dict[str, str], *, importtime: bool) -> tuple[dict[str, Any], str]:
    command = [sys.executable, *(["-X", "importtime"] if importtime else []), "-c", PROBE, kind, target]
    done = subprocess.run(
        command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"importing {target} failed in a fresh interpreter:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def parse_importtime(stderr: str) -> dict[str, tuple[float, float, int]]:
    """name -> (self ms, cumulative ms, depth) for the imports between the two marks."""
    rows: dict[str, tuple[float, float, int]] = {}
    inside = False
    for line in stderr.splitlines():
        if line.startswith(START_MARK):
            inside = True
        elif line.startswith(END_MARK):
            break
        elif inside and line.startswith("import time:") and "self [us]" not in line:
            self_us, cumulative_us, name = line[len("import time:") :].split("|", 2)
            label = name.strip()
            depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
            rows[label] = (int(self_us) / 1000, int(cumulative_us) / 1000, depth)
    return rows


def package_of(module: str) -> str:
    top = module.split(".", maxsplit=1)[0]
    if top in sys.stdlib_module_names or top.startswith("_"):
        return "(stdlib)"
    return top


def measure_imports(runs: int, modes: tuple[str, ...]) -> dict[str, Any]:
    targets = [("app", name, name) for name in FUNCTIONS] + [("module", name, name) for name in LIBRARIES]
    targets += [("snippet", label, code) for label, code in SNIPPETS.items()]
    envs = {mode: probe_environment(mode) for mode in modes}
    # One unmeasured pass: .pyc files written, the page cache warm.
    for kind, _, target in targets:
        run_probe(kind, target, envs[modes[0]], importtime=False)
    times: dict[str, dict[str, list[float]]] = {mode: defaultdict(list) for mode in modes}
    loaded: dict[str, dict[str, dict[str, bool]]] = {mode: {} for mode in modes}
    new_modules: dict[str, dict[str, int]] = {mode: {} for mode in modes}
    profiles: dict[str, dict[str, list[dict[str, tuple[float, float, int]]]]] = {
        mode: defaultdict(list) for mode in modes
    }
    for _ in range(runs):  # interleaved: drift touches every target alike
        for mode in modes:
            for kind, key, target in targets:
                result, _ = run_probe(kind, target, envs[mode], importtime=False)
                times[mode][key].append(result["ms"])
                loaded[mode][key] = result["loaded"]
                new_modules[mode][key] = result["new_modules"]
            for function in BREAKDOWN_FUNCTIONS:
                _, stderr = run_probe("app", function, envs[mode], importtime=True)
                profiles[mode][function].append(parse_importtime(stderr))
    return {"times": times, "loaded": loaded, "new_modules": new_modules, "profiles": profiles}


def top_cumulative(profile_runs: list[dict[str, tuple[float, float, int]]]) -> list[tuple[str, int, float]]:
    """(module, depth, median cumulative ms), the TOP_MODULES largest."""
    cumulative: dict[str, list[float]] = defaultdict(list)
    depth: dict[str, int] = {}
    for run in profile_runs:
        for name, (_, cum, level) in run.items():
            cumulative[name].append(cum)
            depth[name] = level
    medians = [(name, depth[name], statistics.median(values)) for name, values in cumulative.items()]
    return sorted(medians, key=lambda row: row[2], reverse=True)[:TOP_MODULES]


def self_by_package(profile_runs: list[dict[str, tuple[float, float, int]]]) -> list[tuple[str, float]]:
    """Median over runs of the summed self time of each package's modules: they add up to the total."""
    per_run: dict[str, list[float]] = defaultdict(list)
    for run in profile_runs:
        sums: dict[str, float] = defaultdict(float)
        for name, (self_ms, _, _) in run.items():
            sums[package_of(name)] += self_ms
        for package, total in sums.items():
            per_run[package].append(total)
    medians = [(package, statistics.median(values)) for package, values in per_run.items()]
    return sorted(medians, key=lambda row: row[1], reverse=True)[:TOP_MODULES]


# --------------------------------------------------------------------------------------------------
# Warm overhead: the handler in this process, against the local stack
# --------------------------------------------------------------------------------------------------


def measure_warm(stack: LocalStack, runs: int, *, keep_db: bool, log_sink: Any) -> dict[str, Any]:
    from pymongo import MongoClient

    from local.demo import signed_call_event
    from local.invoke import create_active_agent, handler_module, invoke
    from voice_agents import observability, runtime

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

    fresh, retry, forged, unsigned = [], [], [], []
    same_answer = 0
    for _ in range(runs):
        if not keep_db:
            database["calls"].delete_many({})
        # Events are built (and signed) outside the timed region: Twilio does that part.
        event = signed()
        retry_event = json.loads(json.dumps(event))
        forged_event = json.loads(json.dumps(event))
        forged_event["headers"]["x-twilio-signature"] = "Zm9yZ2VkLXNpZ25hdHVyZQ=="
        unsigned_event = json.loads(json.dumps(event))
        del unsigned_event["headers"]["x-twilio-signature"]

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

    registered = stack.retell.call_count("register_call") - registered_before
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
        "register_calls": registered,
        "register_calls_expected": runs + 1,  # one per distinct CallSid, the first call included
        "retry_same_answer": same_answer,
        "calls_in_db": calls_in_db,
        "fresh_first_quarter_median": statistics.median(fresh[:quarter]),
        "fresh_last_quarter_median": statistics.median(fresh[-quarter:]),
        "primitives": primitives,
        "steps": steps,
    }


@contextlib.contextmanager
def step_timers() -> Iterator[dict[str, float]]:
    """Time the external steps inside real handler calls: wraps, for the duration, pymongo's
    Collection.find_one/update_one, RetellClient.register_phone_call and RequestValidator.validate
    (a few microseconds of wrapper each), and restores them afterwards."""
    from pymongo.collection import Collection
    from twilio.request_validator import RequestValidator

    from voice_agents.retell import RetellClient

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
    from voice_agents import runtime, webhook
    from voice_agents.observability import count
    from voice_agents.store import CALLS, now

    store = runtime.store()
    calls = store.database[CALLS]
    retell = runtime.retell()
    oid = ObjectId(agent["id"])
    record = store.get(oid)
    assert record is not None
    params = webhook._form_params(event["body"], True)
    assert params is not None
    signature = event["headers"]["x-twilio-signature"]
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
            timeout_seconds=webhook.REGISTER_TIMEOUT_SECONDS,
        )

    bare = httpx.Client(base_url=stack.retell.base_url)
    figures = {
        "form_params (base64 + parse_qsl)": median_ms(lambda: webhook._form_params(event["body"], True)),
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


def yes_no(value: bool) -> str:
    return "yes" if value else "no"


def report_warm(runs: int, warm: dict[str, Any]) -> dict[str, Any]:
    rows = [
        ("signed call, new CallSid (registers)", warm["fresh"]),
        ("Twilio retry, same CallSid (no register)", warm["retry"]),
        ("403 forged signature (after agent lookup)", warm["forged"]),
        ("403 missing signature (no work)", warm["unsigned"]),
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
        "first_invocation_ms": round(warm["first_ms"], 1),
        "register_call_count": warm["register_calls"],
        "register_call_expected": expected,
        "retry_same_answer": warm["retry_same_answer"],
        "calls_in_db_at_end": warm["calls_in_db"],
        "steps_in_calls_ms": warm["steps"],
        "primitives_ms": warm["primitives"],
        "server": warm["server"],
    }


def report_imports(imports: dict[str, Any], runs: int, modes: tuple[str, ...]) -> dict[str, Any]:
    times = imports["times"]
    medians = {
        mode: {target: round(statistics.median(values), 1) for target, values in times[mode].items()}
        for mode in modes
    }
    print()
    print(
        f"cold-start import cost, fresh interpreter each, median of {runs} (ms, time.perf_counter around "
        "handler_module / import_module; interpreter start-up and the stdlib of local.invoke excluded)"
    )
    header = f"{'import':<44}" + "".join(f"{mode:>10}" for mode in modes)
    print(header + "".join(f"{'n:' + mode:>10}" for mode in modes))
    for target in [*FUNCTIONS, *LIBRARIES, *SNIPPETS]:
        if target in FUNCTIONS:
            label = f"functions/{target}/app.py"
        else:
            label = target if target in SNIPPETS else f"import {target}"
        cells = "".join(f"{medians[mode][target]:>10.1f}" for mode in modes)
        counts = "".join(f"{imports['new_modules'][mode][target]:>10}" for mode in modes)
        print(f"{label:<44}{cells}{counts}")
    saved = {mode: round(medians[mode][_PATCH_ALL] - medians[mode][_PATCH_TWO], 1) for mode in modes}
    print(
        "  -> patching only httpx and pymongo instead of everything saves "
        + ", ".join(f"{value:.1f} ms ({mode})" for mode, value in saved.items())
        + " (outside Lambda the Tracer patches nothing either way); n: = modules newly imported"
    )
    print()
    ratios: dict[str, dict[str, float]] = {}
    for mode in modes:
        m = medians[mode]
        ratios[mode] = {
            "webhook_over_create": round(m["twilio_webhook"] / m["create_agent"], 3),
            "twilio_rest_over_boto3": round(m["twilio.rest"] / m["boto3"], 3),
        }
        print(
            f"[{mode}] webhook / create_agent = {m['twilio_webhook']:.1f} / {m['create_agent']:.1f} = "
            f"{ratios[mode]['webhook_over_create']:.2f};  beside it, same run: "
            f"twilio.rest {m['twilio.rest']:.1f}, "
            f"boto3 {m['boto3']:.1f} (twilio.rest / boto3 = {ratios[mode]['twilio_rest_over_boto3']:.2f})"
        )
    print()
    print(f"loaded after importing the function ({modes[0]} env; {'/'.join(modes)} where they differ)")
    print(f"{'module':<44}" + "".join(f"{name[:13]:>14}" for name in FUNCTIONS))
    loaded = imports["loaded"]
    for module in WATCHED:
        answers: list[str] = []
        for function in FUNCTIONS:
            values = [loaded[mode][function][module] for mode in modes]
            answer = yes_no(values[0]) if len(set(values)) == 1 else "/".join(yes_no(v) for v in values)
            answers.append(f"{answer:>14}")
        print(f"{module:<44}" + "".join(answers))
    twilio_rest = {mode: loaded[mode]["twilio_webhook"]["twilio.rest"] for mode in modes}
    loaded_by_function = {
        mode: {
            function: [module for module in WATCHED if loaded[mode][function][module]]
            for function in FUNCTIONS
        }
        for mode in modes
    }
    print(
        "twilio_webhook imports twilio.rest: "
        + ", ".join(f"{mode} {yes_no(value)}" for mode, value in twilio_rest.items())
    )

    breakdown: dict[str, Any] = {}
    for mode in modes:
        for function in BREAKDOWN_FUNCTIONS:
            runs_of = imports["profiles"][mode][function]
            top = top_cumulative(runs_of)
            packages = self_by_package(runs_of)
            print()
            print(
                f"[{mode}] {function}: top {TOP_MODULES} by cumulative import time "
                f"(-X importtime, median of {len(runs_of)}; indentation = nesting)"
            )
            for name, depth, cum in top:
                print(f"  {cum:>8.1f} ms  {'  ' * depth}{name}")
            print(f"[{mode}] {function}: self time by package (sums to the whole import)")
            for package, value in packages:
                print(f"  {value:>8.1f} ms  {package}")
            breakdown[f"{mode}:{function}"] = {
                "top_cumulative_ms": {name: round(cum, 1) for name, _, cum in top},
                "self_by_package_ms": {package: round(value, 1) for package, value in packages},
            }
    return {
        "import_runs": runs,
        "imports_median_ms": medians,
        "ratios": ratios,
        "webhook_imports_twilio_rest": twilio_rest,
        "tracer_patch_only_httpx_pymongo_saves_ms": saved,
        "loaded": loaded_by_function,
        "breakdown": breakdown,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="warm calls per series (at least 20)")
    parser.add_argument(
        "--import-runs", type=int, default=7, help="fresh interpreters per import (at least 3)"
    )
    parser.add_argument(
        "--keep-db",
        action="store_true",
        help="let the call records pile up instead of emptying the calls collection before each call "
        "(on FerretDB v1 a lookup by _id scans the collection, so the dedupe lookup slows as it grows)",
    )
    args = parser.parse_args(argv)
    if args.runs < 20:
        parser.error("--runs must be at least 20")
    if args.import_runs < 3:
        parser.error("--import-runs must be at least 3")

    print_header(MODULE, argv)

    modes = ("lambda", "local")
    # First, while nothing else runs: the local stack's servers would share the CPUs.
    imports = measure_imports(args.import_runs, modes)

    from local.stack import local_stack

    with local_stack() as stack:
        for key, value in stack.environment().items():
            os.environ[key] = value
        for key in ("SECRETS_ARN", "TWILIO_BUNDLE_SID", "TWILIO_ADDRESS_SID"):
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
    figures.update(report_imports(imports, args.import_runs, modes))
    figures["fresh_samples_ms"] = [round(each, 2) for each in warm["fresh"]]
    figures["python"] = platform.python_version()
    figures["platform"] = platform.platform()
    print()
    print("RESULT " + json.dumps(figures, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
