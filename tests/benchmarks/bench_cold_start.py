"""Cold start: every function's import against its own library floor, tracing off and on.

Not a pytest test (pytest collects test_*.py only): it prints figures and asserts nothing about timing.

    .venv/bin/python -m tests.benchmarks.bench_cold_start [--runs N] [--root DIR]     (or: make bench)

For each function, in fresh interpreters, side by side in one run (interleaved, so drift touches every
figure alike), median of N (at least 7 by default):
  import    functions/<name>/app.py, plus what its first invocation imports (twilio.rest for the
            functions that buy or release numbers), after the stdlib-only `local.invoke` that plays
            Lambda's bootstrap;
  floor     the third-party modules the function's job needs, imported alone (listed per function);
  ratio     import / floor: the goal is at most 1.25.
Two environments, both "in Lambda" (LAMBDA_TASK_ROOT set): tracing off (POWERTOOLS_TRACE_DISABLED=true)
and tracing on (the template's `Tracing: Active`, Powertools' Tracer patching httpx and pymongo).
Separate runs with `-X importtime` give each function's heaviest packages (self time summed per
top-level package, so the rows add up to the import).

--root points the probes at another checkout (e.g. an older commit unpacked with `git archive`);
--before DIR measures such a checkout beside this one, interleaved in the same run (tracing off).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from tests.benchmarks.figures import print_header

ROOT = Path(__file__).resolve().parents[2]
MODULE = "tests.benchmarks.bench_cold_start"
GOAL_RATIO = 1.25
FUNCTIONS = (
    "twilio_webhook",
    "twilio_fallback",
    "retell_webhook",
    "get_agents",
    "create_agent",
    "update_agent",
    "delete_agent",
    "reconcile",
)
# What each function's first invocation imports beyond its module (lazily, to keep it off the others).
# The store (pymongo) is built on the first request by every function but the fallback URL's.
_STORE = "voice_agents.data.agents"
DEFERRED = {
    "twilio_webhook": (_STORE, "voice_agents.providers.retell"),
    "retell_webhook": (_STORE,),
    "get_agents": (_STORE,),
    "create_agent": (_STORE, "voice_agents.providers.retell", "voice_agents.providers.twilio"),
    "update_agent": (_STORE, "voice_agents.providers.retell"),
    "delete_agent": (_STORE, "voice_agents.providers.retell", "voice_agents.providers.twilio"),
    "reconcile": (_STORE, "voice_agents.providers.retell", "voice_agents.providers.twilio"),
}
# The adapters' names in a checkout from before the layer had a folder per layer (--before).
FLAT_NAMES = {
    _STORE: "voice_agents.store",
    "voice_agents.providers.retell": "voice_agents.retell",
    "voice_agents.providers.twilio": "voice_agents.twilio_numbers",
}
# The third-party modules each function's job cannot do without: the database, the provider it talks
# to, the HTTP API's routing and validation, logs and EMF metrics (Powertools' Logger and metrics).
_LOGS = ("aws_lambda_powertools.logging", "aws_lambda_powertools.metrics")
# The resolver is made with enable_validation=True, which imports Powertools' OpenAPI validation
# (and pydantic's BaseModel machinery) as it is constructed: part of routing and validation.
_API = (
    "pydantic",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.event_handler.middlewares.openapi_validation",
)
FLOORS = {
    "twilio_webhook": ("pymongo", "httpx", "twilio.request_validator", *_LOGS),
    # The number's fallback URL: a signature check and TwiML, no database and no provider call.
    "twilio_fallback": ("twilio.request_validator", *_LOGS),
    # The signature is hashlib's; the event is read by hand (no pydantic on this path).
    "retell_webhook": ("pymongo", *_LOGS),
    "get_agents": ("pymongo", *_API, *_LOGS),
    # Idempotency-Key: Powertools' idempotency utility (its package imports boto3 for DynamoDB).
    "create_agent": (
        "pymongo",
        *_API,
        "httpx",
        "twilio.rest",
        "aws_lambda_powertools.utilities.idempotency",
        *_LOGS,
    ),
    "update_agent": ("pymongo", *_API, "httpx", "aws_lambda_powertools.utilities.idempotency", *_LOGS),
    "delete_agent": ("pymongo", *_API, "httpx", "twilio.rest", *_LOGS),
    # No pydantic: the reconciler validates no request and builds no API answer.
    "reconcile": ("pymongo", "httpx", "twilio.rest", *_LOGS),
}
# Reported beside the table: what reading the secret (SECRETS_ARN) adds to any first invocation.
SECRET_READ = ("aws_lambda_powertools.utilities.parameters", "botocore.config")
WATCHED = (
    "aws_xray_sdk",
    "botocore.session",
    "boto3",
    "twilio.rest",
    "aws_lambda_powertools.utilities.idempotency",
)
MODES = ("tracing off", "tracing on")
NOT_IN_LAYER = ("click", "pygments", "rich")
HEAVIEST = 6
START_MARK = "@@bench-import-start"
END_MARK = "@@bench-import-end"

# Runs in a fresh interpreter: argv = root, "app" | "modules", the function or comma-separated modules.
PROBE = f"""
import importlib, json, os, sys, time
root = sys.argv[1]
sys.path[:0] = [root, os.path.join(root, "layers", "common")]
import local.invoke  # stdlib only (json, dataclasses, pathlib...), as Lambda's bootstrap has loaded
# Dev tools in this venv, absent from the layer: httpx imports its CLI (click, pygments, rich) when found.
for absent in {list(NOT_IN_LAYER)!r}:
    sys.modules[absent] = None
kind, target, deferred = sys.argv[2], sys.argv[3], [m for m in sys.argv[4].split(",") if m]
os.write(2, b"{START_MARK}\\n")
started, cpu_started = time.perf_counter(), time.process_time()
if kind == "app":
    local.invoke.handler_module(target)
    for name in deferred:
        importlib.import_module(name)
else:
    for name in target.split(","):
        importlib.import_module(name)
elapsed = (time.perf_counter() - started) * 1000
cpu = (time.process_time() - cpu_started) * 1000
os.write(2, b"{END_MARK}\\n")
loaded = [m for m in {list(WATCHED)!r} if m in sys.modules]
print(json.dumps({{"ms": elapsed, "cpu_ms": cpu, "loaded": loaded}}))
"""


def probe_environment(mode: str) -> dict[str, str]:
    """The parent's environment without Lambda/Powertools/AWS settings, plus Lambda's and the mode's."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "LAMBDA_", "POWERTOOLS_", "PYTHON", "_X_AMZN"))
    }
    env |= {
        "POWERTOOLS_SERVICE_NAME": "voice-agents",
        "POWERTOOLS_METRICS_NAMESPACE": "VoiceAgents",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "AWS_REGION": "ap-southeast-2",
        "AWS_DEFAULT_REGION": "ap-southeast-2",
        "LAMBDA_TASK_ROOT": "/var/task",
        "AWS_LAMBDA_FUNCTION_NAME": "voice-agents-bench",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "POWERTOOLS_TRACE_DISABLED": "true" if mode == "tracing off" else "false",
    }
    return env


def run_probe(
    root: Path,
    kind: str,
    target: str,
    env: dict[str, str],
    *,
    deferred: tuple[str, ...] = (),
    importtime: bool,
) -> tuple[dict[str, Any], str]:
    command = [sys.executable, *(["-X", "importtime"] if importtime else [])]
    command += ["-c", PROBE, str(root), kind, target, ",".join(deferred)]
    done = subprocess.run(
        command, env=env, cwd=root, capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"importing {target} failed in a fresh interpreter:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def self_time_by_package(stderr: str) -> dict[str, float]:
    """Self time (ms) of the imports between the marks, summed per top-level package."""
    sums: dict[str, float] = defaultdict(float)
    inside = False
    for line in stderr.splitlines():
        if line.startswith(START_MARK):
            inside = True
        elif line.startswith(END_MARK):
            break
        elif inside and line.startswith("import time:") and "self [us]" not in line:
            self_us, _, name = line[len("import time:") :].split("|", 2)
            top = name.strip().split(".", maxsplit=1)[0]
            package = "(stdlib)" if top in sys.stdlib_module_names or top.startswith("_") else top
            sums[package] += int(self_us) / 1000
    return sums


def measure(
    root: Path, functions: tuple[str, ...], runs: int, profiles: int, before: Path | None = None
) -> dict[str, Any]:
    envs = {mode: probe_environment(mode) for mode in MODES}
    floor_env = envs["tracing off"]
    apps = [(mode, function) for mode in MODES for function in functions]
    floors = [*dict.fromkeys(",".join(FLOORS[function]) for function in functions), ",".join(SECRET_READ)]
    for mode, function in apps:  # one unmeasured pass: .pyc files written, the page cache warm
        run_probe(root, "app", function, envs[mode], deferred=DEFERRED.get(function, ()), importtime=False)
    times: dict[str, list[float]] = defaultdict(list)
    loaded: dict[str, list[str]] = {}
    packages: dict[str, list[dict[str, float]]] = defaultdict(list)
    for round_ in range(runs):
        for mode, function in apps:
            result, _ = run_probe(
                root, "app", function, envs[mode], deferred=DEFERRED.get(function, ()), importtime=False
            )
            times[f"{mode}:{function}"].append(result["ms"])
            times[f"cpu {mode}:{function}"].append(result["cpu_ms"])
            loaded[f"{mode}:{function}"] = result["loaded"]
            older = before is not None and (before / "functions" / function / "app.py").is_file()
            if before is not None and older and mode == "tracing off":  # the older checkout, interleaved
                deferred = tuple(FLAT_NAMES.get(name, name) for name in DEFERRED.get(function, ()))
                if not (before / "layers/common/voice_agents/providers").is_dir():
                    result, _ = run_probe(
                        before, "app", function, envs[mode], deferred=deferred, importtime=False
                    )
                else:
                    result, _ = run_probe(
                        before,
                        "app",
                        function,
                        envs[mode],
                        deferred=DEFERRED.get(function, ()),
                        importtime=False,
                    )
                times[f"cpu before:{function}"].append(result["cpu_ms"])
        for modules in floors:
            result, _ = run_probe(root, "modules", modules, floor_env, importtime=False)
            times[f"floor:{modules}"].append(result["ms"])
            times[f"cpu floor:{modules}"].append(result["cpu_ms"])
        if round_ < profiles:
            for mode, function in apps:
                _, stderr = run_probe(
                    root, "app", function, envs[mode], deferred=DEFERRED.get(function, ()), importtime=True
                )
                packages[f"{mode}:{function}"].append(self_time_by_package(stderr))
    return {"times": times, "loaded": loaded, "packages": packages}


def heaviest(runs: list[dict[str, float]]) -> list[tuple[str, float]]:
    names = {name for run in runs for name in run}
    medians = [(name, statistics.median(run.get(name, 0.0) for run in runs)) for name in names]
    return sorted(medians, key=lambda row: row[1], reverse=True)[:HEAVIEST]


def report(measured: dict[str, Any], functions: tuple[str, ...], runs: int) -> dict[str, Any]:
    times, loaded, packages = measured["times"], measured["loaded"], measured["packages"]
    median = {key: statistics.median(values) for key, values in times.items()}
    figures: dict[str, Any] = {}
    print()
    print(
        f"import time, fresh interpreter each, median of {runs} (ms of CPU, time.process_time around the "
        "imports, interpreter start-up excluded: on a shared machine the wall clock also counts the other "
        f"processes' turns; the wall clock's median beside it); goal: ratio <= {GOAL_RATIO}"
    )
    for function in functions:
        floor_key = f"floor:{','.join(FLOORS[function])}"
        floor, floor_wall = median[f"cpu {floor_key}"], median[floor_key]
        deferred = " + first invocation's " + ", ".join(DEFERRED[function]) if function in DEFERRED else ""
        print()
        print(f"{function}  (functions/{function}/app.py{deferred})")
        print(f"  floor: {', '.join(FLOORS[function])}")
        print(f"  {'':<14}{'import':>9}{'floor':>9}{'ratio':>8}  {'goal':<9}{'wall':>15}  loaded")
        figures[function] = {
            "floor_cpu_ms": round(floor, 1),
            "floor_wall_ms": round(floor_wall, 1),
            "floor_modules": FLOORS[function],
        }
        for mode in MODES:
            key = f"{mode}:{function}"
            cpu = median[f"cpu {key}"]
            ratio = cpu / floor
            verdict = "met" if ratio <= GOAL_RATIO else "NOT met"
            watched = ", ".join(loaded[key]) or "-"
            wall = f"{median[key]:.0f}/{floor_wall:.0f}"
            print(f"  {mode:<14}{cpu:>9.1f}{floor:>9.1f}{ratio:>8.2f}  {verdict:<9}{wall:>15}  {watched}")
            figures[function][mode] = {
                "import_cpu_ms": round(cpu, 1),
                "import_wall_ms": round(median[key], 1),
                "ratio": round(ratio, 3),
                "goal_met": ratio <= GOAL_RATIO,
                "loaded": loaded[key],
            }
            if packages.get(key):
                rows = heaviest(packages[key])
                print(
                    f"    heaviest ({mode}, -X importtime self time per package, median of "
                    f"{len(packages[key])}): " + ", ".join(f"{name} {value:.0f}" for name, value in rows)
                )
                figures[function][mode]["heaviest_ms"] = {name: round(value, 1) for name, value in rows}
        if f"cpu before:{function}" in median:
            earlier = median[f"cpu before:{function}"]
            print(
                f"  {'before':<14}{earlier:>9.1f}{floor:>9.1f}{earlier / floor:>8.2f}"
                "  (tracing off, --before)"
            )
            figures[function]["before_cpu_ms"] = round(earlier, 1)
            figures[function]["before_ratio"] = round(earlier / floor, 3)
        tracing_cost = median[f"cpu tracing on:{function}"] - median[f"cpu tracing off:{function}"]
        print(f"  tracing on costs {tracing_cost:+.1f} ms at import (X-Ray SDK, patching httpx and pymongo)")
        figures[function]["tracing_on_minus_off_ms"] = round(tracing_cost, 1)
    secret = median[f"cpu floor:{','.join(SECRET_READ)}"]
    print()
    print(
        f"reading the secret (SECRETS_ARN) adds at the first invocation, alone: {', '.join(SECRET_READ)} = "
        f"{secret:.1f} ms of CPU (boto3/botocore: the same for every function, not part of any floor above)"
    )
    figures["secret_read_import_ms"] = round(secret, 1)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh interpreters per figure (median)")
    parser.add_argument("--profiles", type=int, default=3, help="-X importtime runs per function and mode")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose functions are imported")
    parser.add_argument(
        "--before",
        type=Path,
        help="an older checkout measured in the same run (tracing off), for before/after",
    )
    parser.add_argument("--functions", nargs="+", choices=FUNCTIONS, default=list(FUNCTIONS))
    args = parser.parse_args(argv)
    if args.runs < 1 or args.profiles < 0:
        parser.error("--runs must be at least 1 and --profiles at least 0")
    print_header(MODULE, argv)
    print(f"checkout measured: {args.root.resolve()}")
    functions = tuple(args.functions)
    if args.before:
        print(f"older checkout measured beside it: {args.before.resolve()}")
    before = args.before.resolve() if args.before else None
    measured = measure(args.root.resolve(), functions, args.runs, min(args.profiles, args.runs), before)
    figures = report(measured, functions, args.runs)
    print("RESULT " + json.dumps(figures, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
