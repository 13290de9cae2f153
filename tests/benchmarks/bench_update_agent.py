"""End-to-end latency of PATCH /api/agents/{agentId} (an update on a new Retell version).

Not a pytest test: it prints figures and asserts nothing about timing.

    .venv/bin/python -m tests.benchmarks.bench_update_agent [--runs N]     (or: make bench)

The fake Retell gets fixed latencies (create_agent_version 200 ms, update_llm 300 ms, update_agent
250 ms, publish_agent_version 150 ms). The four requests run one after the other (each needs the
draft, and publishing needs both changes), so 900 ms is the bound; what is measured above it is the
update's own work (the journal, the draft's record, the commit, the reads around them). Each run
changes the prompt and the voice, so both Retell updates are sent. Then the same with no injected
latency: the local overhead alone.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from typing import Any

from tests.benchmarks.figures import print_header, summary, timed

RETELL_LATENCY_MS = {
    "create_agent_version": 200,
    "update_llm": 300,
    "update_agent": 250,
    "publish_agent_version": 150,
}
BOUND_MS = sum(RETELL_LATENCY_MS.values())  # 900: the requests depend on each other
MODULE = "tests.benchmarks.bench_update_agent"
VOICES = ("11labs-Emily", "11labs-Adrian")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="warm runs per series")
    args = parser.parse_args(argv)

    from local.stack import local_stack

    print_header(MODULE, argv)
    with local_stack() as stack:
        for key, value in stack.environment().items():
            os.environ[key] = value
        for key in ("SECRETS_ARN",):
            os.environ.pop(key, None)
        log_sink = open(os.devnull, "w")  # noqa: SIM115 - open for the whole run

        from local.invoke import create_active_agent, http_event, invoke, json_body
        from voice_agents import runtime
        from voice_agents.core import observability

        handler = observability.logger.registered_handler
        if hasattr(handler, "setStream"):
            handler.setStream(log_sink)  # log lines are written, as in Lambda, but not onto the figures
        with contextlib.redirect_stdout(log_sink):
            runtime.reset()
            agent = create_active_agent()

        def update(run: int) -> float:
            body = {"prompt": f"Prompt number {run}.", "voiceId": VOICES[run % 2]}
            event = http_event("update_agent.json", agent_id=agent["id"], body=body)
            response: dict[str, Any] = {}

            def call() -> None:
                nonlocal response
                with contextlib.redirect_stdout(log_sink):
                    response = invoke("update_agent", event)

            elapsed = timed(call)
            if response.get("statusCode") != 200:
                raise SystemExit(
                    f"update_agent answered {response.get('statusCode')}: {response.get('body')}"
                )
            if json_body(response)["prompt"] != body["prompt"]:
                raise SystemExit("the update did not apply")
            return elapsed

        update(0)  # the update function's first invocation: imports and clients, reported apart
        for operation, delay in RETELL_LATENCY_MS.items():
            stack.retell.inject(operation, delay_ms=delay, times=None)
        with_latency = [update(run) for run in range(1, args.runs + 1)]
        stack.retell.clear_faults()
        local = [update(run) for run in range(args.runs + 1, 2 * args.runs + 1)]

    warm = summary(with_latency)
    print(f"\nupdate_agent end to end, warm (ms, wall clock): {args.runs} runs per series")
    print(f"{'series':40} {'median':>8} {'p90':>8} {'min':>8} {'max':>8}")
    for name, figures in (("injected Retell latencies", warm), ("no injected latency", summary(local))):
        print(f"{name:40} " + " ".join(f"{figures[key]:8.1f}" for key in ("median", "p90", "min", "max")))
    print(f"\nbound (four dependent Retell requests) = {BOUND_MS} ms")
    print(f"median / bound = {warm['median'] / BOUND_MS:.3f}; overhead = {warm['median'] - BOUND_MS:.1f} ms")
    result = {
        "runs": args.runs,
        "bound_ms": BOUND_MS,
        "warm_ms": warm,
        "local_ms": summary(local),
        "ratio_median_bound": round(warm["median"] / BOUND_MS, 3),
    }
    print("RESULT " + json.dumps(result, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
