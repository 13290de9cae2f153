"""Finding calls and adding up usage, warm: the calls routes per filter, the CSV, the usage route.

Not a pytest test (pytest collects test_*.py only): it prints figures and asserts nothing about timing.

    .venv/bin/python -m tests.benchmarks.bench_call_search [--calls N] [--runs N]

The local stack is started (FerretDB, or the MONGODB_URI in the environment: a real mongod or Atlas
gives that server's plans), two agents of one owner are created, the reconciler's indexes are made,
and N calls are written through the data layer as the webhook and Retell's events write them,
spread over 60 days, with a mix of statuses, 50 callers, post-call answers and Twilio prices. Then
each request is invoked --runs times through the get_agents handler, as Lambda calls it: the wall
time (p50, p99), the database commands it sent (a pymongo CommandListener), how many calls it
answered, and the server's explain() of the calls query it sent (FerretDB's SQLite plan: SCAN is a
scan of the collection).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
from datetime import timedelta
from typing import Any

from pymongo import monitoring

from tests.benchmarks.database import CommandsSent, watch_quietly
from tests.benchmarks.figures import print_header, summary, timed

MODULE = "tests.benchmarks.bench_call_search"
CALLERS = [f"+614{number:08d}" for number in range(12_345_600, 12_345_650)]
FIELDS = [
    {"name": "appointment_booked", "type": "boolean", "description": "Whether the caller booked."},
    {"name": "reason", "type": "enum", "description": "Why they called.", "choices": ["booking", "billing"]},
    {"name": "party_size", "type": "number", "description": "How many people."},
]


class _Commands(CommandsSent):
    """Every command sent, by name, and the last ``find`` on the calls collection not by ``_id``."""

    def __init__(self) -> None:
        super().__init__()
        self.calls_query: dict[str, Any] | None = None

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        super().started(event)
        command = event.command
        if event.command_name == "find" and command.get("find") == "calls" and "_id" not in command["filter"]:
            self.calls_query = {
                key: command[key] for key in ("find", "filter", "sort", "limit") if key in command
            }


def _seed(store: Any, agents: list[dict[str, Any]], owner: str, count: int) -> None:
    """``count`` calls over the last 60 days, as the webhook and Retell's events leave them."""
    from bson import ObjectId

    from voice_agents.core.clock import now
    from voice_agents.core.statuses import CallStatus
    from voice_agents.data.calls import PROGRESS, CallCost, CallFacts, TwilioCost

    chance = random.Random(7)
    statuses = [CallStatus.ENDED] * 14 + [CallStatus.NOT_CONNECTED] * 2 + [CallStatus.REGISTERED] * 3
    start = now() - timedelta(days=60)
    for number in range(count):
        sid = f"CA{number:032x}"
        agent = agents[number % len(agents)]
        moment = start + timedelta(seconds=chance.randrange(60 * 86_400))
        store.calls.remember(
            sid,
            retell_call_id=f"call_{sid}",
            agent_id=ObjectId(agent["id"]),
            owner_id=owner,
            from_number=chance.choice(CALLERS),
            to_number=agent["phoneNumber"],
            moment=moment,
            retention=timedelta(days=90),
        )
        status = chance.choice(statuses)
        answers: dict[str, str | bool | int | float] = {
            "appointment_booked": chance.random() < 0.3,
            "reason": chance.choice(["booking", "billing"]),
            "party_size": chance.randrange(1, 7),
        }
        facts = CallFacts(
            duration_ms=chance.randrange(5_000, 600_000),
            cost=CallCost(total_cents=chance.randrange(1, 80)),
            post_call_answers=answers if status is CallStatus.ENDED else None,
        )
        store.calls.apply_event(
            f"call_{sid}", call_sid=sid, progress=PROGRESS[status], facts=facts, moment=moment
        )
        if status is CallStatus.ENDED:
            seconds = chance.randrange(5, 600)
            store.calls.record_twilio_cost(
                sid, TwilioCost("USD", micros=seconds * 200, seconds=seconds, legs=1)
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000, help="calls seeded, over the last 60 days")
    parser.add_argument("--runs", type=int, default=50, help="requests of each kind")
    args = parser.parse_args(argv)
    commands = watch_quietly(_Commands())

    from local.invoke import http_event, invoke, json_body
    from local.stack import local_stack
    from voice_agents import runtime
    from voice_agents.core.clock import now

    print_header(MODULE, argv)
    with local_stack() as stack:
        os.environ.update(stack.environment())
        owner = "user-1234-owner"
        agents = []
        for key in ("first", "second"):
            body = json.loads(http_event("create_agent.json")["body"]) | {"postCallFields": FIELDS}
            event = http_event("create_agent.json", body=body, headers={"idempotency-key": key})
            agents.append(json_body(invoke("create_agent", event)))
        store = runtime.store()
        store.ensure_indexes()
        _seed(store, agents, owner, args.calls)

        today = now().date()
        week = {"from": str(today - timedelta(days=6)), "to": str(today), "timezone": "Australia/Sydney"}
        agent_id = agents[0]["id"]
        requests: dict[str, tuple[str, dict[str, str], dict[str, str]]] = {
            "no filter": ("list_calls.json", {}, {}),
            "status": ("list_calls.json", {"status": "not_connected"}, {}),
            "7 days": ("list_calls.json", week, {}),
            "caller": ("list_calls.json", {"caller": CALLERS[3]}, {}),
            "field": ("list_calls.json", {"field": "appointment_booked:true"}, {}),
            "combined": (
                "list_calls.json",
                {"status": "ended", "field": "reason:billing", "caller": CALLERS[3], **week},
                {},
            ),
            "all agents": ("list_all_calls.json", {}, {}),
            "all agents, field": ("list_all_calls.json", {"field": "party_size:2"}, {}),
            "CSV (all, <= 1,000)": ("list_calls.json", {}, {"accept": "text/csv"}),
            "usage, 30 days": ("get_usage.json", {"timezone": "Australia/Sydney"}, {}),
        }
        results: dict[str, Any] = {}
        print(
            f"\nget_agents warm, {args.calls} calls of 2 agents, {args.runs} requests each "
            "(ms, wall clock around invoke())"
        )
        for label, (event_name, query, headers) in requests.items():
            path_agent = None if event_name == "list_all_calls.json" else agent_id
            event = http_event(
                event_name,
                agent_id=path_agent,
                query={**query, "limit": "20"} if "calls" in event_name else query,
            )
            if headers:
                event["headers"] = {**event["headers"], **headers}
            answered: list[dict[str, Any]] = []
            before = commands.names.copy()
            commands.calls_query = None
            samples = [timed(functools.partial(_request, event, answered)) for _ in range(args.runs)]
            sent = {name: round(count / args.runs, 2) for name, count in (commands.names - before).items()}
            first = answered[0]
            body = first["body"]
            if first["headers"].get("Content-Type", "").startswith("text/csv"):
                items = body.count("\r\n") - 1
            elif "days" in body:
                items = len(json.loads(body)["days"])
            else:
                items = len(json.loads(body).get("items", []))
            plan = _plan(store.database, commands.calls_query)
            figures = summary(samples, tail=True)
            results[label] = {
                "status": first["statusCode"],
                "p50": figures["median"],
                "p99": figures["p99"],
                "commands": sent,
                "items": items,
                "plan": plan,
            }
            print(
                f"  {label:<20} p50 {figures['median']:>6} p99 {figures['p99']:>6}  answered {items:>4}  "
                f"commands per request: {sent}"
            )
            print(f"  {'':<20} plan: {plan}")
        print("RESULT " + json.dumps(results))


def _request(event: dict[str, Any], answered: list[dict[str, Any]]) -> None:
    from local.invoke import invoke

    answered.append(invoke("get_agents", event))


def _plan(database: Any, query: dict[str, Any] | None) -> Any:
    """The server's plan of the calls query a request sent (FerretDB: SQLite's; MongoDB: the winning
    plan's stages)."""
    if query is None:
        return None
    explained = database.command("explain", query, verbosity="queryPlanner")
    planner = explained.get("queryPlanner", {})
    if "Plan" in planner:  # FerretDB
        return planner["Plan"]
    return _stages(planner.get("winningPlan", {}))


def _stages(plan: dict[str, Any]) -> list[str]:
    stages = [f"{plan.get('stage')}{' ' + plan['indexName'] if 'indexName' in plan else ''}"]
    for child in [plan.get("inputStage"), *plan.get("inputStages", [])]:
        if child:
            stages += _stages(child)
    return stages


if __name__ == "__main__":
    main()
