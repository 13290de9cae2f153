"""How long create and delete take to answer when the providers are slow, against the function's timeout.

Not a pytest test: it prints figures and asserts nothing about timing.

    .venv/bin/python -m tests.benchmarks.bench_slow_providers [--runs N]     (or: make bench)

Each invocation gets a Lambda context whose remaining time starts at the function's Timeout in
template.yaml (28 s for both), and the fake providers are made slow in two ways:
    hanging    every call answers after HANG_MS, later than the configured per-call timeouts (8 s):
               every call times out, the create gives up and rolls back what it can, the delete skips
               the removals that no longer fit; what is left is listed for the reconciler
    slow       every call answers after SLOW_MS; the create fails at its last Retell step (a 500), so
               everything it made must be rolled back; the delete removes everything
The figure is the time from the context's start to the answer, and what is left of the timeout.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from typing import TYPE_CHECKING, Any

from tests.benchmarks.figures import print_header, summary
from tests.integration.faults import make_providers_slow

if TYPE_CHECKING:
    pass

MODULE = "tests.benchmarks.bench_slow_providers"
HANG_MS = 12_000
SLOW_MS = 2_000
SCENARIOS = ("create, hanging", "create, slow + failure", "delete, hanging", "delete, slow")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="runs of each scenario (each takes up to 28 s)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    from local.stack import local_stack
    from local.template import function_properties, load_template

    print_header(MODULE, argv)
    functions = function_properties(load_template())
    timeouts_ms = {
        "create": functions["CreateAgentFunction"]["Timeout"] * 1000,
        "delete": functions["DeleteAgentFunction"]["Timeout"] * 1000,
    }

    with local_stack() as stack:
        for key, value in stack.environment().items():
            os.environ[key] = value
        for key in ("SECRETS_ARN",):
            os.environ.pop(key, None)
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "INFO")
        log_sink = open(os.devnull, "w")  # noqa: SIM115 - open for the whole run
        with contextlib.redirect_stdout(log_sink):
            from local.invoke import (
                LambdaContext,
                create_active_agent,
                http_event,
                invoke,
                json_body,
            )
            from local.sample_events import load_event
            from voice_agents import runtime
            from voice_agents.core import observability
        handler = observability.logger.registered_handler
        if hasattr(handler, "setStream"):
            handler.setStream(log_sink)
        from pymongo import MongoClient

        settings = runtime.settings()
        print(
            f"per-call timeouts: Retell {settings.retell_timeout_seconds} s, Twilio "
            f"{settings.twilio_timeout_seconds} s; hanging providers answer after {HANG_MS} ms, slow ones "
            f"after {SLOW_MS} ms"
        )
        admin: MongoClient[dict[str, Any]] = MongoClient(stack.mongodb_uri, tz_aware=True)
        database = admin[stack.database]

        def fresh_state() -> None:
            for collection in ("agents", "idempotency", "leases", "purchases"):
                database[collection].delete_many({})
            stack.reset()
            runtime.reset()

        def answer(function: str, event: dict[str, Any]) -> dict[str, Any]:
            context = LambdaContext(timeout_ms=timeouts_ms[function])
            with contextlib.redirect_stdout(log_sink):
                response = invoke(f"{function}_agent", event, context)
            body = json_body(response)
            return {
                "answer_ms": timeouts_ms[function] - context.get_remaining_time_in_millis(),
                "status": response["statusCode"],
                "error": body.get("error"),
                "left": body.get("cleanupPending") or body.get("pending") or [],
                "rolled_back": body.get("rolledBack"),
            }

        def run(scenario: str) -> dict[str, Any]:
            fresh_state()
            function, kind = scenario.split(", ", 1)
            agent = None
            if function == "delete":
                with contextlib.redirect_stdout(log_sink):
                    agent = create_active_agent()
            if kind == "slow + failure":
                stack.retell.inject("create_agent", status=500, message="injected", delay_ms=SLOW_MS, times=1)
            make_providers_slow(stack, HANG_MS if kind == "hanging" else SLOW_MS)
            if agent is None:
                return answer("create", load_event("create_agent.json"))
            return answer("delete", http_event("delete_agent.json", agent_id=agent["id"]))

        results: dict[str, list[dict[str, Any]]] = {scenario: [] for scenario in SCENARIOS}
        for _ in range(args.runs):
            for scenario in SCENARIOS:
                results[scenario].append(run(scenario))
        fresh_state()
        admin.close()
        log_sink.close()

    figures = report(results, timeouts_ms)
    print("RESULT " + json.dumps(figures, separators=(",", ":")))
    return 0


def report(results: dict[str, list[dict[str, Any]]], timeouts_ms: dict[str, int]) -> dict[str, Any]:
    print()
    print(
        "time from the function's start to its answer (ms, the Lambda context's clock), against its Timeout"
    )
    print(
        f"{'scenario':<24}{'timeout':>9}{'median':>9}{'max':>9}{'spare':>9}  answer, left for the reconciler"
    )
    figures: dict[str, Any] = {}
    for scenario, runs in results.items():
        timeout = timeouts_ms[scenario.split(",", 1)[0]]
        stats = summary([float(each["answer_ms"]) for each in runs], digits=0)
        last = runs[-1]
        outcome = f"{last['status']} {last['error'] or ''}".strip()
        spare = timeout - stats["max"]
        print(
            f"{scenario:<24}{timeout:>9}{stats['median']:>9.0f}{stats['max']:>9.0f}{spare:>9.0f}"
            f"  {outcome}, {last['left'] or 'nothing'}"
        )
        figures[scenario] = {"timeout_ms": timeout, "answer_ms": stats, "runs": runs}
    return figures


if __name__ == "__main__":
    raise SystemExit(main())
