"""The voice webhook under a flood of forged requests: what each costs, and whether real calls still connect.

Not a pytest test: it prints figures and asserts nothing about timing.

    .venv/bin/python -m tests.benchmarks.bench_webhook_flood [--seconds S] [--forgers N] [--calls N]

On loopback only. The local stack and the template's routes (the local API, in this process) serve
one active agent. Three phases, back to back, in one run:

1. signed calls alone: ``--calls`` calls signed as Twilio signs them, one at a time, each its own
   CallSid, over HTTP to the local API; their latency (p50, p99) and whether each got ``<Dial><Sip>``.
2. forged requests alone: ``--forgers`` connections in another process post forged calls (a wrong
   signature, a real-looking form) as fast as the local API answers, for ``--seconds``; how many,
   what each cost this process in CPU (the local API's HTTP parsing included, which is API Gateway's
   work in AWS: an upper bound of the handler's), and the database commands they sent (none expected:
   the signature is checked before anything is read).
3. the same signed calls while the same flood runs: latency and connections again.

In AWS the web ACL's per-source rule refuses one address over its share before the route's throttle;
this measures what is left when a flood gets through it (many addresses): the handler's own cost.
The handler alone (no HTTP) is timed too, for a forged form and for a body over the cap (413 before
any parsing).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
from typing import Any

from tests.benchmarks.database import CommandsSent, watch_quietly
from tests.benchmarks.figures import ROOT, print_header, summary, timed

MODULE = "tests.benchmarks.bench_webhook_flood"
CALLER = "+61298765432"
FORGED_SIGNATURE = "Zm9yZ2VkLXNpZ25hdHVyZQ=="


def call_form(to: str) -> dict[str, str]:
    return {"CallSid": "CA" + os.urandom(16).hex(), "AccountSid": "AC" + "0" * 32, "From": CALLER, "To": to,
            "CallStatus": "ringing", "Direction": "inbound", "ApiVersion": "2010-04-01",
            "FromCity": "", "FromState": "", "FromZip": "", "ToCity": "", "ToZip": ""}  # fmt: skip


def forge(url: str, seconds: float, connections: int, to: str) -> None:
    """The flood (run in its own process): forged calls on ``connections`` connections for ``seconds``."""
    import httpx

    answers: dict[str, int] = {}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker() -> None:
        mine: dict[str, int] = {}
        headers = {
            "X-Twilio-Signature": FORGED_SIGNATURE,
            "Content-Type": "application/x-www-form-urlencoded",
        }
        with httpx.Client(timeout=10) as client:
            while time.monotonic() < deadline:
                body = urllib.parse.urlencode(call_form(to))
                status = str(client.post(url, content=body, headers=headers).status_code)
                mine[status] = mine.get(status, 0) + 1
        with lock:
            for status, count in mine.items():
                answers[status] = answers.get(status, 0) + count

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps(answers))


def measure(seconds: float, forgers: int, calls: int) -> dict[str, Any]:
    import httpx

    from local.api.server import LocalHttpApi
    from local.invoke import create_active_agent, handler_module, invoke
    from local.signing import call_event, signature
    from local.stack import local_stack
    from voice_agents import runtime
    from voice_agents.flows.calls.webhook_event import TWILIO_MAX_BODY_BYTES

    commands = watch_quietly(CommandsSent())  # every command of this process

    with (
        local_stack() as stack,
        open(os.devnull, "w") as access_log,
        LocalHttpApi(port=0, access_log=access_log) as api,
    ):
        os.environ.update(stack.environment() | {"WEBHOOK_BASE_URL": api.base_url})
        os.environ["POWERTOOLS_LOG_LEVEL"] = "ERROR"
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
        runtime.reset()
        agent = create_active_agent()
        url = f"{api.base_url}/api/webhooks/twilio/{agent['id']}"

        def signed_calls(client: httpx.Client) -> tuple[list[float], int, int]:
            latencies: list[float] = []
            connected = 0
            before = commands.total
            for _ in range(calls):
                params = call_form(agent["phoneNumber"])
                headers = {
                    "X-Twilio-Signature": signature(agent["webhookUrl"], params),
                    "Content-Type": "application/x-www-form-urlencoded",
                }
                body = urllib.parse.urlencode(params)
                started = time.perf_counter()
                answer = client.post(url, content=body, headers=headers)
                latencies.append((time.perf_counter() - started) * 1000)
                connected += answer.status_code == 200 and "<Sip>" in answer.text
            return latencies, connected, commands.total - before

        def flood() -> subprocess.Popen[str]:
            return subprocess.Popen(
                [
                    *(sys.executable, "-m", MODULE, "--forge", url, "--seconds", str(seconds)),
                    *("--forgers", str(forgers), "--to", agent["phoneNumber"]),
                ],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
                env={
                    **os.environ,
                    "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "common")]),
                },
            )

        def answers_of(process: subprocess.Popen[str]) -> dict[str, int]:
            out, _ = process.communicate(timeout=seconds + 60)
            answers: dict[str, int] = json.loads(out.strip().splitlines()[-1])
            return answers

        with httpx.Client(timeout=30) as client:
            signed_calls(client)  # warm: the handlers imported, the clients connected
            alone, alone_connected, alone_commands = signed_calls(client)

            cpu_before, commands_before = time.process_time(), commands.total
            process = flood()
            forged_alone = answers_of(process)
            cpu_ms = (time.process_time() - cpu_before) * 1000
            forged_commands = commands.total - commands_before

            process = flood()
            time.sleep(min(1.0, seconds / 4))  # the flood is under way before the first call
            during, during_connected, during_commands = signed_calls(client)
            forged_during = answers_of(process)

        # The handler alone, as Lambda calls it: a forged form, and a body over the cap.
        handler_module("twilio_webhook")
        forged_event = call_event(agent["id"], call_form(agent["phoneNumber"]), FORGED_SIGNATURE)
        oversized_event = call_event(
            agent["id"], {"Padding": "x" * (TWILIO_MAX_BODY_BYTES + 1)}, FORGED_SIGNATURE
        )
        with open(os.devnull, "w") as sink:
            sys.stdout, saved = sink, sys.stdout
            try:
                forged_handler = [timed(lambda: invoke("twilio_webhook", forged_event)) for _ in range(200)]
                oversized_handler = [
                    timed(lambda: invoke("twilio_webhook", oversized_event)) for _ in range(200)
                ]
                oversized_status = invoke("twilio_webhook", oversized_event)["statusCode"]
            finally:
                sys.stdout = saved

    forged_count = sum(forged_alone.values())
    return {
        "signed alone": {
            "ms": summary(alone, digits=2, tail=True),
            "connected": alone_connected,
            "calls": calls,
        },
        "forged alone": {
            "answers": forged_alone,
            "per_second": round(forged_count / seconds, 1),
            "cpu_ms_each_in_this_process": round(cpu_ms / max(forged_count, 1), 3),
            "database_commands": forged_commands,
        },
        "signed during the flood": {
            "ms": summary(during, digits=2, tail=True),
            "connected": during_connected,
            "calls": calls,
            "forged_answers": forged_during,
        },
        "database_commands_per_signed_call": {
            "alone": round(alone_commands / calls, 2),
            "during": round(during_commands / calls, 2),
        },
        "p99_ratio_during_over_alone": round(
            summary(during, digits=3, tail=True)["p99"] / summary(alone, digits=3, tail=True)["p99"], 2
        ),
        "handler alone, ms": {
            "forged": summary(forged_handler, digits=3, tail=True),
            "oversized": summary(oversized_handler, digits=3, tail=True),
            "oversized_status": oversized_status,
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="how long each flood lasts")
    parser.add_argument("--forgers", type=int, default=8, help="connections posting forged calls")
    parser.add_argument("--calls", type=int, default=200, help="signed calls per phase")
    parser.add_argument("--forge", help=argparse.SUPPRESS)  # the flood's own process
    parser.add_argument("--to", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.forge:
        forge(args.forge, args.seconds, args.forgers, args.to)
        return 0
    print_header(MODULE, argv)
    figures = measure(args.seconds, args.forgers, args.calls)
    for name, value in figures.items():
        print(f"{name}: {json.dumps(value)}")
    print("RESULT " + json.dumps(figures, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
