"""The business is told: delivery figures on the local stack, from Retell's call_analyzed to the
owner's endpoint.

Not a pytest test (pytest collects test_*.py only): it prints figures and asserts nothing about timing.

    .venv/bin/python -m tests.benchmarks.bench_notifications [--calls N] [--retried N] [--dead N]

The local stack is started (SQS and SES in moto's server, the consumer run by the local SQS event
source, which long-polls 1 s at a time as Lambda's pollers do) and one agent takes calls through the
Twilio webhook. The owner's webhook is an endpoint on 127.0.0.1 that answers as told. Then:

- first try: --calls calls analysed one after the other, the endpoint answering 200; the latency is
  from the signed call_analyzed handed to the retell_webhook handler to the endpoint's receipt;
- after retries: --retried calls whose first POST is answered 500, then 200;
- dead letters: --dead calls whose endpoint answers 503 to every try (NOTIFICATION_MAX_ATTEMPTS, 3
  locally): the time to the dead-letter queue, and what is there.

The local back-off is NOTIFICATION_RETRY_BASE_SECONDS=1 (1 s, then 1-2 s): SQS visibility is whole
seconds. Deployed it is 30 s, doubling, with 8 tries; retried and dead-lettered times scale with it.
Also counted: the retell_webhook handler's own time for call_analyzed with notifications set (its
database reads, the delivery records and the SQS send), against the same event without them.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import time
from typing import Any

from tests.benchmarks.figures import print_header, summary, timed

MODULE = "tests.benchmarks.bench_notifications"
OWNER = "user-1234-owner"  # the sample events' owner: the agent's
DELIVERY_TIMEOUT_SECONDS = 60


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=30, help="calls delivered at the first try")
    parser.add_argument("--retried", type=int, default=5, help="calls whose first try is answered 500")
    parser.add_argument("--dead", type=int, default=3, help="calls whose every try is answered 503")
    args = parser.parse_args(argv)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")

    from local.aws import MAX_ATTEMPTS, consumer_event_source
    from local.fakes.owner_endpoint import OwnerEndpoint
    from local.invoke import http_event, invoke, json_body
    from local.stack import local_stack
    from tests.integration.test_twilio_webhook import signed_event
    from voice_agents import runtime

    print_header(MODULE, argv)
    total = args.calls + args.retried + args.dead
    with local_stack() as stack, OwnerEndpoint() as endpoint, consumer_event_source(stack.aws):
        os.environ.update(stack.environment())
        runtime.reset()
        agent = json_body(invoke("create_agent", http_event("create_agent.json")))
        for number in range(total + args.calls):
            invoke("twilio_webhook", signed_event(agent, call_sid=f"CA{number:032x}"))
        calls = list(stack.retell.calls_registered.values())

        # The handler's own time for call_analyzed without notifications set (other calls), then with.
        quiet = [timed(functools.partial(_analysed, each)) for each in calls[total:]]
        saved = invoke(
            "notifications", http_event("put_notifications.json", body={"webhookUrl": endpoint.url})
        )
        secret = json_body(saved)["signingSecret"]

        first_try, handler_ms = _deliver(endpoint, calls[: args.calls], answers=[])
        retried, _ = _deliver(endpoint, calls[args.calls : args.calls + args.retried], answers=[500])
        dead_started = time.monotonic()
        for each in calls[args.calls + args.retried : total]:
            endpoint.answer(*[503] * MAX_ATTEMPTS)
            _analysed(each)
        dead = _wait_for_dead_letters(stack, args.dead)
        dead_seconds = time.monotonic() - dead_started

        received = endpoint.received
        verified = _verified(received, secret)
        print(
            f"\ncall_analyzed -> the owner's endpoint, {MAX_ATTEMPTS} tries at most, back-off base 1 s (ms)"
        )
        print(f"  first try      ({args.calls} calls)   {summary(first_try)}")
        print(f"  after retries  ({args.retried} calls, 500 then 200)   {summary(retried)}")
        print(
            f"  dead letters   ({args.dead} calls, 503 every try)   {len(dead)} in the dead-letter queue "
            f"after {dead_seconds:.1f} s; {MAX_ATTEMPTS} POSTs each"
        )
        print(
            f"\nretell_webhook handler, call_analyzed (ms), {args.calls} events each:\n"
            f"  without notifications set {summary(quiet)}\n  with a webhook set      {summary(handler_ms)}"
        )
        print(f"  POSTs received {len(received)}, every signature verified: {verified == len(received)}")
        result = {
            "first_try": len(first_try),
            "retried": len(retried),
            "dead_letters": len(dead),
            "posts": len(received),
            "verified": verified,
            "expected_posts": args.calls + 2 * args.retried + MAX_ATTEMPTS * args.dead,
        }
        print("RESULT " + json.dumps(result))


def _analysed(call: dict[str, Any]) -> None:
    from local.invoke import invoke
    from local.sample_events import load_event
    from local.signing import signed_retell_event
    from local.stack import RETELL_API_KEY

    body = {
        "event": "call_analyzed",
        "call": {
            "call_id": call["call_id"],
            "call_status": "ended",
            "start_timestamp": 1_795_600_300_000,
            "end_timestamp": 1_795_600_372_500,
            "metadata": call["metadata"],
            "call_analysis": {
                "call_summary": "The caller booked a table for two.",
                "user_sentiment": "Positive",
            },
        },
    }
    event = signed_retell_event(load_event("retell_webhook.json", body=json.dumps(body)), RETELL_API_KEY)
    answer = invoke("retell_webhook", event)
    if answer["statusCode"] != 204:
        raise SystemExit(f"call_analyzed answered {answer['statusCode']}")


def _deliver(
    endpoint: Any, calls: list[dict[str, Any]], *, answers: list[int]
) -> tuple[list[float], list[float]]:
    """Each call analysed in turn and waited for until its endpoint answered 2xx: the latencies, and
    the handler's own times."""
    latencies: list[float] = []
    handler: list[float] = []
    for each in calls:
        endpoint.answer(*answers)
        before = len(endpoint.received)
        started = time.monotonic()
        handler.append(timed(functools.partial(_analysed, each)))
        wanted = before + len(answers) + 1
        received = endpoint.wait_for(wanted, DELIVERY_TIMEOUT_SECONDS)
        if len(received) < wanted or received[-1].status != 200:
            raise SystemExit(f"not delivered within {DELIVERY_TIMEOUT_SECONDS} s")
        latencies.append((received[-1].at - started) * 1000)
    return latencies, handler


def _wait_for_dead_letters(stack: Any, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + DELIVERY_TIMEOUT_SECONDS
    while True:
        dead: list[dict[str, Any]] = stack.aws.dead_letters()
        if len(dead) >= count or time.monotonic() > deadline:
            return dead
        time.sleep(0.2)


def _verified(received: list[Any], secret: str) -> int:
    from standardwebhooks import Webhook

    verified = 0
    for each in received:
        try:
            Webhook(secret).verify(each.body, each.headers)
            verified += 1
        except Exception:  # counted: every one must verify
            continue
    return verified


if __name__ == "__main__":
    main()
