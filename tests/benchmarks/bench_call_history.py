"""The call history warm: Retell's call events through the retell_webhook handler, and the calls route.

Not a pytest test (pytest collects test_*.py only): it prints figures and asserts nothing about timing.

    .venv/bin/python -m tests.benchmarks.bench_call_history [--calls N] [--runs N]

The local stack is started, one agent is created, and N calls go through the Twilio webhook. Then,
interleaved per call: a signed `call_ended` carrying the registration's metadata (one update, by
`_id`), the same event again (a replay), one without the metadata (found by the Retell call id: on
FerretDB a scan of the calls), an event for a call we never registered, and a forged signature (401
before any database command). Each is
the handler's wall time in this process, as Lambda calls it, with the database commands it sent.
Last, the calls route: the first page (20) and the last page of the agent's N calls, --runs times
each.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
from collections import Counter
from typing import Any

from tests.benchmarks.database import CommandsSent, watch_quietly
from tests.benchmarks.figures import print_header, summary, timed

MODULE = "tests.benchmarks.bench_call_history"


def _event(body: dict[str, Any], key: str) -> dict[str, Any]:
    from local.sample_events import load_event
    from local.signing import signed_retell_event

    event = load_event("retell_webhook.json", body=json.dumps(body))
    return signed_retell_event(event, key)


def _send(event: dict[str, Any], answered: list[dict[str, Any]]) -> None:
    from local.invoke import invoke

    answered.append(invoke("retell_webhook", event))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="calls taken, then ended by an event each")
    parser.add_argument("--runs", type=int, default=30, help="reads of each page of the calls route")
    args = parser.parse_args(argv)
    commands = watch_quietly(CommandsSent())

    from local.invoke import http_event, invoke, json_body
    from local.stack import RETELL_API_KEY, local_stack
    from tests.integration.test_twilio_webhook import signed_event

    print_header(MODULE, argv)
    with local_stack() as stack:
        os.environ.update(stack.environment())
        agent = json_body(invoke("create_agent", http_event("create_agent.json")))
        for number in range(args.calls):
            invoke("twilio_webhook", signed_event(agent, call_sid=f"CA{number:032x}"))
        registered = stack.retell.calls_registered
        call_ids = list(registered)

        kinds = ("event", "replay", "no metadata", "unknown call", "forged")
        series: dict[str, list[float]] = {kind: [] for kind in kinds}
        per_kind: dict[str, Counter[str]] = {kind: Counter() for kind in series}
        answers: dict[str, Counter[int]] = {kind: Counter() for kind in series}
        for call_id in call_ids:
            # Retell echoes the metadata the call was registered with (the CallSid): found by _id.
            ended = {"event": "call_ended", "call": {"call_id": call_id, "call_status": "ended",
                     "start_timestamp": 1_795_600_300_000, "end_timestamp": 1_795_600_372_500,
                     "metadata": registered[call_id]["metadata"]}}  # fmt: skip
            bare = {"event": "call_ended", "call": {"call_id": call_id, "call_status": "ongoing"}}
            unknown = {"event": "call_ended", "call": {"call_id": "call_unknown_" + call_id}}
            for kind, event in (
                ("event", _event(ended, RETELL_API_KEY)),
                ("replay", _event(ended, RETELL_API_KEY)),
                ("no metadata", _event(bare, RETELL_API_KEY)),
                ("unknown call", _event(unknown, RETELL_API_KEY)),
                ("forged", _event(ended, "not-the-key")),
            ):
                before = commands.names.copy()
                answered: list[dict[str, Any]] = []
                series[kind].append(timed(functools.partial(_send, event, answered)))
                answers[kind][answered[0]["statusCode"]] += 1
                per_kind[kind] += commands.names - before

        print(f"\nretell_webhook warm, {len(call_ids)} events of each kind (ms, wall clock around invoke())")
        for kind, samples in series.items():
            sent = {name: round(count / len(call_ids), 2) for name, count in per_kind[kind].items()}
            print(f"  {kind:<13} {summary(samples, tail=True)}  database commands per event: {sent or 0}")

        first_page = http_event("list_calls.json", agent_id=agent["id"])
        pages, cursor = 0, ""
        while True:
            query = {"limit": "20", **({"cursor": cursor} if cursor else {})}
            page = json_body(
                invoke("get_agents", http_event("list_calls.json", agent_id=agent["id"], query=query))
            )
            pages += 1
            if page["nextCursor"] is None:
                break
            cursor = str(page["nextCursor"])
        last_query = {"limit": "20", **({"cursor": cursor} if cursor else {})}
        last_page = http_event("list_calls.json", agent_id=agent["id"], query=last_query)
        print(
            f"\nGET /api/agents/{{id}}/calls, {len(call_ids)} calls ({pages} pages of 20), "
            f"{args.runs} reads each (ms)"
        )
        for label, event in (("first page", first_page), ("last page", last_page)):
            before = commands.names.copy()
            samples = [timed(functools.partial(invoke, "get_agents", event)) for _ in range(args.runs)]
            sent = {name: round(count / args.runs, 2) for name, count in (commands.names - before).items()}
            print(f"  {label:<11} {summary(samples)}  database commands per read: {sent}")
        result = {
            "answers": {kind: dict(counts) for kind, counts in answers.items()},
            "commands": {kind: dict(counts) for kind, counts in per_kind.items()},
            "pages": pages,
            "retell_calls": len(call_ids),
        }
        print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
