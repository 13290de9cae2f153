"""What the per-owner rate limit adds to a request: p50 and p99 with and without it, side by side.

Not a pytest test (pytest collects test_*.py only): it prints figures and asserts nothing about timing.

    .venv/bin/python -m tests.benchmarks.bench_rate_limit [--runs N]

The local stack is started and one agent created. Then `GET /api/agents/{id}` and `GET /api/agents`
go through the get_agents handler in this process, as Lambda calls it, against FerretDB: N requests
of each, alternating request by request between the handler's own limiter (a budget too large to
reach: every request counted, none refused) and none, so drift affects both series alike; the
difference is the limiter's share, and the database commands each sends are counted. Then the
limiter's round trip alone (``RequestCounts.count``), N times. Last, what a refused request costs,
with a budget of one read: for each of N owners, its first read (counted, answered), its second
(counted, refused) and its third (refused from what the instance remembers, no round trip).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
from collections import Counter
from typing import Any

from tests.benchmarks.database import CommandsSent, watch_quietly
from tests.benchmarks.figures import percentile, print_header, summary, timed

MODULE = "tests.benchmarks.bench_rate_limit"
UNREACHABLE_BUDGET = "1000000000"


class _NoLimit:
    """The resolver's limiter taken out: every request goes on, nothing is counted."""

    def check(self, owner: str, method: str) -> None:
        return None


def _send(event: dict[str, Any], answered: Counter[int]) -> None:
    from local.invoke import invoke

    answered[invoke("get_agents", event)["statusCode"]] += 1


def _per_request(commands: Counter[str], requests: int) -> dict[str, float]:
    return {name: round(count / requests, 2) for name, count in sorted(commands.items())}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500, help="requests of each route with and without")
    args = parser.parse_args(argv)
    commands = watch_quietly(CommandsSent())

    from local.invoke import create_active_agent, handler_module, http_event
    from local.stack import local_stack
    from voice_agents import runtime
    from voice_agents.core.clock import now
    from voice_agents.http.rate_limit import CHECK_TIMEOUT_SECONDS, window_of

    print_header(MODULE, argv)
    with local_stack() as stack:
        os.environ.update(stack.environment())
        os.environ["OWNER_READS_PER_MINUTE"] = UNREACHABLE_BUDGET
        runtime.reset()
        agent = create_active_agent()
        app = handler_module("get_agents").app
        limiters = {"without limiter": _NoLimit(), "with limiter": app.rate_limit}
        routes = {
            "GET /api/agents/{id}": http_event("get_agent.json", agent_id=agent["id"]),
            "GET /api/agents": http_event("get_agents.json"),
        }
        result: dict[str, Any] = {"routes": {}}
        print(f"\nwarm, {args.runs} requests of each kind (ms, wall clock around invoke())")
        for route, event in routes.items():
            series: dict[str, list[float]] = {kind: [] for kind in limiters}
            sent: dict[str, Counter[str]] = {kind: Counter() for kind in limiters}
            answered: dict[str, Counter[int]] = {kind: Counter() for kind in limiters}
            for each in limiters.values():  # one of each first: connections and caches warm for both
                app.rate_limit = each
                _send(event, Counter())
            for _ in range(args.runs):
                for kind, each in limiters.items():
                    app.rate_limit = each
                    before = commands.names.copy()
                    series[kind].append(timed(functools.partial(_send, event, answered[kind])))
                    sent[kind] += commands.names - before
            app.rate_limit = limiters["with limiter"]
            print(f"  {route}")
            for kind, samples in series.items():
                print(
                    f"    {kind:<16} {summary(samples, tail=True)}  "
                    f"database commands per request: {_per_request(sent[kind], args.runs)}"
                )
            with_it, without = series["with limiter"], series["without limiter"]
            added = {
                name: round(percentile(with_it, q) - percentile(without, q), 2)
                for name, q in (("p50", 0.5), ("p99", 0.99))
            }
            print(f"    added by the limiter: p50 {added['p50']:+} ms, p99 {added['p99']:+} ms")
            result["routes"][route] = {
                kind: {
                    "p50": round(percentile(samples, 0.5), 2),
                    "p99": round(percentile(samples, 0.99), 2),
                    "answers": dict(answered[kind]),
                    "commands": _per_request(sent[kind], args.runs),
                }
                for kind, samples in series.items()
            } | {"added": added}

        # The limiter's round trip alone, as it counts a request: how much of what it adds is the database's.
        counts = runtime.store().request_counts
        owner = routes["GET /api/agents"]["requestContext"]["authorizer"]["jwt"]["claims"]["sub"]
        alone = [
            timed(lambda: counts.count(owner, "reads", window_of(now()), within=CHECK_TIMEOUT_SECONDS))
            for _ in range(args.runs)
        ]
        print(f"  the count alone, {args.runs} times: {summary(alone, tail=True)}")
        result["count alone"] = {
            "p50": round(percentile(alone, 0.5), 2),
            "p99": round(percentile(alone, 0.99), 2),
        }

        os.environ["OWNER_READS_PER_MINUTE"] = "1"
        runtime.reset()  # the budget is read from the settings, read once
        kinds = ("first read", "refused, counted", "refused, remembered")
        refusals: dict[str, list[float]] = {kind: [] for kind in kinds}
        refused_sent: dict[str, Counter[str]] = {kind: Counter() for kind in kinds}
        refused_answers: dict[str, Counter[int]] = {kind: Counter() for kind in kinds}
        for number in range(args.runs):
            event = http_event("get_agent.json", agent_id=agent["id"], owner=f"bench-owner-{number}")
            for kind in kinds:
                before = commands.names.copy()
                refusals[kind].append(timed(functools.partial(_send, event, refused_answers[kind])))
                refused_sent[kind] += commands.names - before
        print(f"\nrefused, budget of 1 read, {args.runs} owners (ms)")
        for kind, samples in refusals.items():
            print(
                f"  {kind:<20} {summary(samples, tail=True)}  answers {dict(refused_answers[kind])}  "
                f"database commands per request: {_per_request(refused_sent[kind], args.runs)}"
            )
        result["refused"] = {
            kind: {
                "p50": round(percentile(samples, 0.5), 2),
                "answers": dict(refused_answers[kind]),
                "commands": _per_request(refused_sent[kind], args.runs),
            }
            for kind, samples in refusals.items()
        }
        print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
