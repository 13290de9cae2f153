"""How the system's cost grows with agents and calls, on the local stack.

Not a pytest test (pytest collects test_*.py only): it prints figures and asserts nothing about timing.

    .venv/bin/python -m tests.benchmarks.bench_scale [--agents 1000 10000] [--webhooks 1 10 50] ...

Figures that do not depend on the machine's speed come first: database commands (a pymongo
CommandListener on every client of this process, by command name; handshakes and heartbeats left out)
and provider requests (the fakes' per-operation counters). Times come beside them.

  many agents   active agents are seeded (records cloned from one real create, with their Twilio
                number, Retell agent and LLM cloned into the fakes, each with its own ids and tag),
                then: GET /api/agents page 1 against page 200 (50 a page, cursor on _id, no skip);
                a reconciler run on a quiet system, and one where a few records need repair; a
                sweep whose provider listing does not fit its time budget, run until its pass
                completes (does each run resume where the one before stopped?)
  many calls    N concurrent signed webhook calls through the local HTTP API (the template's routes),
                p50/p99, and the database connections this process opened meanwhile (one pool)
  many creates  concurrent creates, each in its own process (a Lambda instance each), against a fake
                Twilio that answers 20429 above a rate: answers, time against the Timeout, and what
                was left behind (resources whose record is not active)
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from pymongo import monitoring

from tests.benchmarks.figures import ROOT, percentile, print_header, timed

if TYPE_CHECKING:
    from pymongo.database import Database

    from local.stack import LocalStack

MODULE = "tests.benchmarks.bench_scale"
OWNER = "bench-scale-owner"
PAGE_SIZE = 50
REPAIRS = 3  # records needing repair in the second reconciler run: 3 resources each, under the brake
IGNORED_COMMANDS = frozenset({"hello", "ismaster", "isMaster", "ping", "endSessions", "buildInfo"})
CALLER = "+61298765432"
LISTING_OPERATIONS = {
    "twilio_number": "twilio.list_numbers",
    "retell_agent": "retell.list_agents",
    "retell_llm": "retell.list_llms",
}


# --------------------------------------------------------------------------------------------------
# Counting: database commands and connections (this process), provider requests (the fakes)
# --------------------------------------------------------------------------------------------------


class DatabaseCounter(monitoring.CommandListener, monitoring.ConnectionPoolListener):
    """Commands sent by every MongoClient of this process, and the connections its pools opened."""

    def __init__(self) -> None:
        self.commands: Counter[str] = Counter()
        self.connections_created = 0
        self.checked_out = 0
        self.most_checked_out = 0
        self._lock = threading.Lock()

    # CommandListener
    def started(self, event: Any) -> None:
        if event.command_name not in IGNORED_COMMANDS:
            with self._lock:
                self.commands[event.command_name] += 1

    def succeeded(self, event: Any) -> None:
        pass

    def failed(self, event: Any) -> None:
        pass

    # ConnectionPoolListener
    def pool_created(self, event: Any) -> None:
        pass

    def connection_created(self, event: Any) -> None:
        with self._lock:
            self.connections_created += 1

    def connection_checked_out(self, event: Any) -> None:
        with self._lock:
            self.checked_out += 1
            self.most_checked_out = max(self.most_checked_out, self.checked_out)

    def connection_checked_in(self, event: Any) -> None:
        with self._lock:
            self.checked_out -= 1

    def pool_ready(self, event: Any) -> None:
        pass

    def pool_cleared(self, event: Any) -> None:
        pass

    def pool_closed(self, event: Any) -> None:
        pass

    def connection_ready(self, event: Any) -> None:
        pass

    def connection_closed(self, event: Any) -> None:
        pass

    def connection_check_out_started(self, event: Any) -> None:
        pass

    def connection_check_out_failed(self, event: Any) -> None:
        pass

    @contextlib.contextmanager
    def measuring(self) -> Iterator[dict[str, Any]]:
        """Yields a dict filled, on exit, with the commands and connections of the block."""
        with self._lock:
            before, created = Counter(self.commands), self.connections_created
            self.most_checked_out = self.checked_out
        figures: dict[str, Any] = {}
        yield figures
        with self._lock:
            spent = self.commands - before
            figures |= {
                "db_commands": sum(spent.values()),
                "db_by_command": dict(sorted(spent.items())),
                "connections_opened": self.connections_created - created,
                "most_connections_in_use": self.most_checked_out,
            }


def provider_calls(stack: LocalStack) -> Counter[str]:
    calls: Counter[str] = Counter()
    for name, fake in (("retell", stack.retell), ("twilio", stack.twilio)):
        for operation, value in fake.call_counts().items():
            calls[f"{name}.{operation}"] += value
    return calls


@contextlib.contextmanager
def counting(stack: LocalStack, database: DatabaseCounter) -> Iterator[dict[str, Any]]:
    """Database commands, provider requests and wall time of the block."""
    before = provider_calls(stack)
    with database.measuring() as figures:
        started = time.perf_counter()
        yield figures
        figures["ms"] = round((time.perf_counter() - started) * 1000, 1)
    spent = provider_calls(stack) - before
    figures |= {"provider_calls": sum(spent.values()), "provider_by_operation": dict(sorted(spent.items()))}


# --------------------------------------------------------------------------------------------------
# Seeding: clones of one real agent, in the database and in the fakes
# --------------------------------------------------------------------------------------------------


def _replaced(value: Any, replacements: dict[str, str]) -> Any:
    if isinstance(value, str):
        for old, new in replacements.items():
            value = value.replace(old, new)
        return value
    if isinstance(value, dict):
        return {key: _replaced(item, replacements) for key, item in value.items()}
    if isinstance(value, list):
        return [_replaced(item, replacements) for item in value]
    return value


def seed_agents(
    stack: LocalStack, db: Database[dict[str, Any]], template: dict[str, Any], count: int
) -> None:
    """`count` more active agents like `template` (a record made by a real create), resources included."""
    from bson import ObjectId

    twilio, retell = stack.twilio, stack.retell
    number = twilio._owned[template["twilioPhoneNumberSid"]]
    agent = retell._agents[template["retellAgentId"]]
    llm = retell._llms[template["retellLlmId"]]
    start = db.agents.count_documents({"ownerId": OWNER})
    records = []
    for index in range(start, start + count):
        oid = ObjectId()
        ids = {
            str(template["_id"]): str(oid),
            template["twilioPhoneNumberSid"]: f"PN{oid}{index:08x}",
            template["retellAgentId"]: f"agent_{oid}{index:04x}",
            template["retellLlmId"]: f"llm_{oid}{index:04x}",
            template["phoneNumber"]: f"+6149{index:07d}",
        }
        record = _replaced({k: v for k, v in template.items() if k != "_id"}, ids)
        records.append({**record, "_id": oid, "ownerId": OWNER})
        with twilio._lock:
            twilio._owned[ids[template["twilioPhoneNumberSid"]]] = _replaced(copy.deepcopy(number), ids)
        with retell._lock:
            retell._agents[ids[template["retellAgentId"]]] = _replaced(copy.deepcopy(agent), ids)
            retell._llms[ids[template["retellLlmId"]]] = _replaced(copy.deepcopy(llm), ids)
    for batch in range(0, len(records), 1000):
        db.agents.insert_many(records[batch : batch + 1000])


# --------------------------------------------------------------------------------------------------
# Many agents
# --------------------------------------------------------------------------------------------------


def reconcile_once(timeout_ms: int, log_sink: Any) -> dict[str, Any]:
    from local.invoke import LambdaContext, invoke
    from local.sample_events import load_event

    with contextlib.redirect_stdout(log_sink):
        try:
            return {
                "answer": invoke(
                    "reconcile", load_event("reconcile.json"), LambdaContext(timeout_ms=timeout_ms)
                )
            }
        except Exception as exc:  # ReconcileIncomplete: the invocation fails, its report is on it
            report = getattr(exc, "report", None)
            return {"failed": type(exc).__name__, "answer": report.as_dict() if report else None}


def measure_reconciler(
    stack: LocalStack, db: Database[dict[str, Any]], database: DatabaseCounter, timeout_ms: int, log_sink: Any
) -> dict[str, Any]:
    """A quiet run, then one where REPAIRS failed records still hold their resources."""
    from voice_agents.core.clock import now

    figures: dict[str, Any] = {}
    with counting(stack, database) as quiet:
        quiet["outcome"] = _outcome(reconcile_once(timeout_ms, log_sink))
    figures["quiet"] = quiet
    broken = [each["_id"] for each in db.agents.find({"ownerId": OWNER}, {"_id": 1}).limit(REPAIRS)]
    db.agents.update_many(
        {"_id": {"$in": broken}}, {"$set": {"status": "failed", "repairAfter": now(), "updatedAt": now()}}
    )
    with counting(stack, database) as repair:
        repair["outcome"] = _outcome(reconcile_once(timeout_ms, log_sink))
    figures[f"{REPAIRS} records to repair"] = repair
    return figures


def _outcome(result: dict[str, Any]) -> str:
    answer = result.get("answer") or {}
    keys = (
        "repaired", "removed", "webhooksRepaired", "swept", "stoppedEarly", "unaccountedCount",
        "sweepResumes", "sweepRestarted", "errors",
    )  # fmt: skip
    shown = {key: answer[key] for key in keys if answer.get(key)}
    prefix = f"FAILED ({result['failed']}) " if "failed" in result else ""
    return prefix + json.dumps(shown, default=str)


def measure_sweep_budget(
    stack: LocalStack,
    database: DatabaseCounter,
    log_sink: Any,
    *,
    page_delay_ms: int,
    timeout_ms: int,
    max_runs: int,
) -> list[dict[str, Any]]:
    """Runs whose Twilio listing cannot finish in one run's time, one after the other until every
    listing has reached its last page once (each listing's pass is its own): does each run pick up
    where the one before stopped, or list from the first page again?"""
    stack.twilio.inject("list_numbers", delay_ms=page_delay_ms, times=None)
    runs: list[dict[str, Any]] = []
    unfinished = {"twilio_number", "retell_agent", "retell_llm"}
    while unfinished and len(runs) < max_runs:
        with counting(stack, database) as run:
            result = reconcile_once(timeout_ms, log_sink)
            run["outcome"] = _outcome(result)
        resumes = (result.get("answer") or {}).get("sweepResumes")
        if resumes is None:  # the sweep did not run (or failed): nothing ended
            resumes = sorted(unfinished)
        # The pages of each listing up to the run in which it reached its last page
        run["counted"] = {
            listing: run["provider_by_operation"].get(operation, 0)
            for listing, operation in LISTING_OPERATIONS.items()
            if listing in unfinished
        }
        unfinished &= set(resumes)
        run["unfinished"] = sorted(unfinished)
        runs.append(run)
    stack.twilio.clear_faults()
    return runs


def measure_listing(
    db: Database[dict[str, Any]], database: DatabaseCounter, repeats: int, log_sink: Any
) -> dict[str, Any]:
    """GET /api/agents through the handler at several depths, interleaved, median of `repeats`.

    A deep page's cursor is made from the record ids (the cursor is the last id of the page before);
    the API's own second-page cursor is checked to be made the same way first."""

    from local.invoke import http_event, invoke, json_body

    def page(cursor: str | None) -> tuple[float, dict[str, Any]]:
        query = {"limit": str(PAGE_SIZE), **({"cursor": cursor} if cursor else {})}
        event = http_event("get_agents.json", owner=OWNER, query=query)
        answer: dict[str, Any] = {}

        def call() -> None:
            nonlocal answer
            with contextlib.redirect_stdout(log_sink):
                answer = invoke("get_agents", event)

        elapsed = timed(call)
        if answer.get("statusCode") != 200:
            raise SystemExit(f"GET /api/agents answered {answer.get('statusCode')}: {answer.get('body')}")
        return elapsed, json_body(answer)

    ids = [str(each["_id"]) for each in db.agents.find({"ownerId": OWNER}, {"_id": 1}).sort("_id", -1)]
    pages = -(-len(ids) // PAGE_SIZE)

    def cursor_of(number: int) -> str | None:
        if number == 1:
            return None
        return ids[(number - 1) * PAGE_SIZE - 1]

    _, first = page(None)
    if pages > 1 and first["nextCursor"] != cursor_of(2):
        raise SystemExit("the API's cursor is not the last id of the page: update measure_listing")
    depths = sorted({1, max(1, pages // 4), max(1, pages // 2), pages})
    samples: dict[int, list[float]] = {number: [] for number in depths}
    commands: dict[int, dict[str, Any]] = {}
    for _ in range(repeats):
        for number in depths:
            with database.measuring() as spent:
                elapsed, body = page(cursor_of(number))
            if body["items"] and body["items"][0]["id"] != ids[(number - 1) * PAGE_SIZE]:
                raise SystemExit(f"page {number} did not start where it should")
            samples[number].append(elapsed)
            commands[number] = spent
    return {
        "pages": pages,
        "agents": len(ids),
        "page_ms": {number: round(statistics.median(values), 2) for number, values in samples.items()},
        "page_db_commands": {number: spent["db_commands"] for number, spent in commands.items()},
    }


# --------------------------------------------------------------------------------------------------
# Many calls: concurrent signed webhooks through the local HTTP API
# --------------------------------------------------------------------------------------------------


def measure_webhooks(
    agent: dict[str, Any], database: DatabaseCounter, levels: list[int], total: int
) -> dict[int, dict[str, Any]]:
    import httpx
    from twilio.request_validator import RequestValidator

    from local.api.server import LocalHttpApi
    from local.stack import TWILIO_AUTH_TOKEN

    signer = RequestValidator(TWILIO_AUTH_TOKEN)

    def signed_call(client: httpx.Client, base_url: str) -> float:
        params = {"CallSid": "CA" + os.urandom(16).hex(), "AccountSid": "AC" + "0" * 32, "From": CALLER,
                  "To": agent["phoneNumber"], "CallStatus": "ringing", "Direction": "inbound"}  # fmt: skip
        headers = {
            "x-twilio-signature": signer.compute_signature(agent["webhookUrl"], params),
            "content-type": "application/x-www-form-urlencoded",
        }
        body = urllib.parse.urlencode(params)
        started = time.perf_counter()
        answer = client.post(f"{base_url}/api/webhooks/twilio/{agent['id']}", content=body, headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        if answer.status_code != 200 or "<Sip>" not in answer.text:
            raise SystemExit(f"webhook answered {answer.status_code}: {answer.text[:300]}")
        return elapsed

    figures: dict[int, dict[str, Any]] = {}
    with open(os.devnull, "w") as access_log, LocalHttpApi(port=0, access_log=access_log) as api:
        with httpx.Client(timeout=60) as warmup:
            signed_call(warmup, api.base_url)
        for level in levels:
            per_client = max(3, total // level)

            def client_calls(_: int, calls: int = per_client) -> list[float]:
                with httpx.Client(timeout=60) as client:
                    return [signed_call(client, api.base_url) for _ in range(calls)]

            with database.measuring() as spent, ThreadPoolExecutor(max_workers=level) as pool:
                started = time.perf_counter()
                samples = [value for each in pool.map(client_calls, range(level)) for value in each]
                wall = time.perf_counter() - started
            figures[level] = {
                "calls": len(samples),
                "p50_ms": round(statistics.median(samples), 1),
                "p99_ms": round(percentile(samples, 0.99), 1),
                "calls_per_s": round(len(samples) / wall, 1),
                "connections_opened": spent["connections_opened"],
                "most_connections_in_use": spent["most_connections_in_use"],
                "db_commands_per_call": round(spent["db_commands"] / len(samples), 2),
            }
    return figures


# --------------------------------------------------------------------------------------------------
# Many creates: concurrent processes against a rate-limited Twilio
# --------------------------------------------------------------------------------------------------

CREATE_WORKER = """
import json, os, sys, time
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/layers/common"]
import contextlib
with contextlib.redirect_stdout(open(os.devnull, "w")):
    from local.invoke import LambdaContext, handler_module, http_event, invoke
    handler_module("create_agent")
    import voice_agents.providers.twilio  # what the first invocation imports, before the start line
timeout_ms = int(sys.argv[2])
print("ready", flush=True)
sys.stdin.readline()  # "go": every process has imported before any starts
context = LambdaContext(timeout_ms=timeout_ms)
with contextlib.redirect_stdout(open(os.devnull, "w")):
    event = http_event("create_agent.json", headers={"idempotency-key": os.urandom(16).hex()})
    answer = invoke("create_agent", event, context)
body = json.loads(answer["body"])
print(json.dumps({"status": answer["statusCode"], "ms": timeout_ms - context.get_remaining_time_in_millis(),
                  "error": body.get("error"), "step": body.get("step"),
                  "rolledBack": body.get("rolledBack"), "cleanupPending": body.get("cleanupPending")}))
"""


def measure_creates(
    stack: LocalStack,
    db: Database[dict[str, Any]],
    creates: int,
    per_second: float,
    burst: int,
    timeout_ms: int,
) -> dict[str, Any]:
    from voice_agents.core.tags import agent_id_from_tag

    settings_tag = "va-local"
    # An empty collection, as for a create on a quiet system: FerretDB v1 scans a collection for
    # the per-owner count, and with the seeded records every create timed out on it (503).
    db.agents.delete_many({})
    db.purchases.delete_many({})
    stack.twilio.reset()  # the inventory again (the seeded numbers are not offered, but they crowd the list)
    stack.retell.reset()
    stack.twilio.limit_rate(per_second=per_second, burst=burst)
    # One owner makes every create: the figure is Twilio's rate limit, not the purchase budget.
    env = dict(os.environ) | {"PURCHASE_BUDGET_PER_DAY": str(max(creates, 1))}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", CREATE_WORKER, str(ROOT), str(timeout_ms)],
            env=env,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(creates)
    ]
    for worker in workers:
        assert worker.stdout is not None
        if worker.stdout.readline().strip() != "ready":
            raise SystemExit(f"a create process failed to start:\n{worker.communicate()[1][-2000:]}")
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    answers = []
    for worker in workers:
        out, err = worker.communicate(timeout=timeout_ms / 1000 + 120)
        if worker.returncode != 0:
            raise SystemExit(f"a create process failed:\n{err[-2000:]}")
        answers.append(json.loads(out.strip().splitlines()[-1]))
    rate_limited = stack.twilio.rate_limited()
    stack.twilio.reset()  # lifts the limit
    records = {str(each["_id"]): each for each in db.agents.find({})}
    owned = [
        n for n in stack.twilio.owned.values() if str(n.get("friendly_name", "")).startswith(settings_tag)
    ]
    retell_state = stack.retell.state()
    leftovers = []
    for kind, tag_text in (
        [("number", n.get("friendly_name")) for n in owned]
        + [("retell_agent", each.get("agent_name")) for each in retell_state.get("agents", {}).values()]
        + [
            ("retell_llm", (each.get("default_dynamic_variables") or {}).get("voice_agents_tag"))
            for each in retell_state.get("llms", {}).values()
        ]
    ):
        agent_id = agent_id_from_tag(settings_tag, tag_text)
        record = records.get(str(agent_id)) if agent_id else None
        if record is None or record.get("status") != "active":
            leftovers.append((kind, tag_text, record.get("status") if record else None))
    statuses = Counter(each.get("status") for each in records.values())
    return {
        "creates": creates,
        "answers": dict(Counter(f"{a['status']} {a['error'] or ''}".strip() for a in answers)),
        "failed_steps": dict(Counter(a["step"] for a in answers if a["status"] != 201)),
        "ms_max": max(a["ms"] for a in answers),
        "ms_median": statistics.median(a["ms"] for a in answers),
        "timeout_ms": timeout_ms,
        "rate_limited_requests": rate_limited,
        "record_statuses": dict(statuses),
        "left_behind": leftovers,
        "cleanup_pending": [a["cleanupPending"] for a in answers if a.get("cleanupPending")],
    }


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------


def print_counts(label: str, figures: dict[str, Any]) -> None:
    print(
        f"  {label:<28} db commands {figures['db_commands']:>6}  provider calls "
        f"{figures['provider_calls']:>5}"
        f"  {figures['ms']:>9.1f} ms   {figures.get('outcome', '')}"
    )
    print(f"  {'':<28} db: {figures['db_by_command']}  providers: {figures['provider_by_operation']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, nargs="+", default=[1000, 10000], help="agent counts, rising")
    parser.add_argument("--list-repeats", type=int, default=5, help="timed repeats of each page measured")
    parser.add_argument("--page-delay-ms", type=int, default=3000, help="the sweep scenario's Twilio page")
    parser.add_argument(
        "--sweep-timeout-ms",
        type=int,
        default=30_000,
        help="the sweep scenario's run (it lists while 20 s are left; 10,000 agents need 30 s of pages)",
    )
    parser.add_argument("--sweep-runs", type=int, default=8, help="the sweep scenario's runs, at most")
    parser.add_argument("--webhooks", type=int, nargs="+", default=[1, 10, 50], help="concurrent calls")
    parser.add_argument("--webhook-calls", type=int, default=200, help="calls per concurrency level")
    parser.add_argument("--creates", type=int, default=20, help="concurrent creates (one process each)")
    parser.add_argument("--twilio-rate", type=float, default=4.0, help="Twilio requests a second, then 20429")
    parser.add_argument("--twilio-burst", type=int, default=4)
    args = parser.parse_args(argv)
    sizes = sorted(args.agents)

    from pymongo import MongoClient

    from local.stack import local_stack
    from local.template import function_properties, load_template

    print_header(MODULE, argv)
    functions = function_properties(load_template())
    reconcile_timeout_ms = functions["ReconcileFunction"]["Timeout"] * 1000
    create_timeout_ms = functions["CreateAgentFunction"]["Timeout"] * 1000
    database = DatabaseCounter()
    monitoring.register(database)  # every client made from now on reports to it
    figures: dict[str, Any] = {}

    with local_stack() as stack, open(os.devnull, "w") as log_sink:
        for key, value in stack.environment().items():
            os.environ[key] = value
        for key in ("SECRETS_ARN",):
            os.environ.pop(key, None)
        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
        with contextlib.redirect_stdout(log_sink):
            from local.invoke import create_active_agent
            from voice_agents import runtime
            from voice_agents.repair import listings as sweep_module

        admin: MongoClient[dict[str, Any]] = MongoClient(stack.mongodb_uri, tz_aware=True)
        admin.drop_database(stack.database)
        db = admin[stack.database]
        stack.reset()
        runtime.reset()
        with contextlib.redirect_stdout(log_sink):
            agent = create_active_agent()  # also writes the deployment marker
        from bson import ObjectId

        template = db.agents.find_one({"_id": ObjectId(agent["id"])})
        assert template is not None

        print()
        print(
            "many agents: the reconciler's run (the function's Timeout "
            f"{reconcile_timeout_ms // 1000} s), database commands and provider requests per run"
        )
        seeded = 1
        for size in sizes:
            seed_agents(stack, db, template, size - seeded)
            seeded = size
            figures[f"reconciler at {size}"] = runs = measure_reconciler(
                stack, db, database, reconcile_timeout_ms, log_sink
            )
            # Put the repaired records back as they were, for the next size and the listing
            db.agents.update_many({"ownerId": OWNER, "status": "failed"}, {"$set": {"status": "active"}})
            print(f" {size} agents")
            for label, run in runs.items():
                print_counts(label, run)
            quiet, repair = runs["quiet"], runs[f"{REPAIRS} records to repair"]
            listing = sum(v for k, v in quiet["provider_by_operation"].items() if ".list_" in k)
            print(
                f"  {REPAIRS} repairs added {repair['db_commands'] - quiet['db_commands']} database commands "
                f"and {repair['provider_calls'] - quiet['provider_calls']} provider requests; the quiet "
                f"run's provider requests are the sweep's listing ({listing} list pages)"
            )

        listing = measure_listing(db, database, args.list_repeats, log_sink)
        figures["listing"] = listing
        print()
        print(
            f"GET /api/agents, {PAGE_SIZE} a page, {listing['agents']} agents of one owner "
            f"({listing['pages']} pages), median of {args.list_repeats} (cursor on _id, no skip):"
        )
        for number, value in listing["page_ms"].items():
            print(
                f"  page {number:>4}: {value:>9.2f} ms, "
                f"{listing['page_db_commands'][number]} database command(s)"
            )

        sweep = measure_sweep_budget(
            stack,
            database,
            log_sink,
            page_delay_ms=args.page_delay_ms,
            timeout_ms=args.sweep_timeout_ms,
            max_runs=args.sweep_runs,
        )
        figures["sweep over budget"] = sweep
        pages = -(-seeded // sweep_module.PAGE_SIZE)
        print()
        print(
            f"sweep over its budget: {seeded} agents ({pages} pages of numbers), Twilio answers each page "
            f"after {args.page_delay_ms} ms, the run has {args.sweep_timeout_ms} ms; runs one after the "
            f"other until the pass completes (at most {args.sweep_runs})"
        )
        for number, run in enumerate(sweep, 1):
            print_counts(f"run {number}", run)
        fetched = {
            listing: sum(run["counted"].get(listing, 0) for run in sweep) for listing in LISTING_OPERATIONS
        }
        complete = not sweep[-1]["unfinished"]
        print(
            f"  every listing's pass {'complete' if complete else 'NOT complete'} after {len(sweep)} runs; "
            f"pages requested until each listing's last page: {fetched} (each page once: {pages} each)"
        )

        print()
        print(
            "many calls: concurrent signed webhook calls through the local HTTP API "
            "(one warm instance per function, as make api serves them)"
        )
        webhooks = measure_webhooks(agent, database, args.webhooks, args.webhook_calls)
        print(f"  (one MongoClient, MONGODB_MAX_POOL_SIZE={runtime.settings().mongodb_max_pool_size})")
        figures["webhooks"] = webhooks
        print(
            f"  {'N':>4}{'calls':>7}{'p50 ms':>9}{'p99 ms':>9}{'calls/s':>9}"
            "  db connections opened, most in use"
        )
        for level, row in webhooks.items():
            print(
                f"  {level:>4}{row['calls']:>7}{row['p50_ms']:>9.1f}{row['p99_ms']:>9.1f}"
                f"{row['calls_per_s']:>9.1f}"
                f"  {row['connections_opened']}, {row['most_connections_in_use']}"
                f"  ({row['db_commands_per_call']} commands a call)"
            )

        creates = measure_creates(
            stack, db, args.creates, args.twilio_rate, args.twilio_burst, create_timeout_ms
        )
        figures["creates"] = creates
        print()
        print(
            f"many creates: {creates['creates']} at once, one process each, Twilio answering 20429 above "
            f"{args.twilio_rate}/s (burst {args.twilio_burst})"
        )
        print(f"  answers: {creates['answers']}; failed steps: {creates['failed_steps']}")
        print(
            f"  answered after median {creates['ms_median']} ms, max {creates['ms_max']} ms of the "
            f"{creates['timeout_ms']} ms Timeout; requests refused 20429: {creates['rate_limited_requests']}"
        )
        print(
            f"  records: {creates['record_statuses']}; resources left whose record is not active: "
            f"{len(creates['left_behind'])} {creates['left_behind'][:5]}; cleanup pending: "
            f"{creates['cleanup_pending']}"
        )
        admin.close()
        runtime.reset()

    print()
    print("RESULT " + json.dumps(figures, separators=(",", ":"), default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
