"""What a call record weighs with its whole call, and what Retell's call_ended costs the event path.

Not a pytest test (pytest collects test_*.py only): it prints figures (tests/integration/
test_benchmarks.py runs it small and checks the sizes stay under the caps' bounds).

    .venv/bin/python -m tests.benchmarks.bench_call_record [--runs N]

A conversation is made up the way people talk on the phone: 150 words a minute between the two of
them, turns of 3 to 30 words (seeded, so every run makes the same calls), and played out into the
call_ended body Retell sends (the fake Retell's shapes: transcript, transcript_object with every word
timed, transcript_with_tool_calls, call_cost). For a 10-minute and a 60-minute call, and for a
transcript at the caps in 4-byte characters (the heaviest a record can be), it prints the event's
body, the record as FerretDB stores it (bytes of BSON, the transcript's share), and, on the local
stack, the retell_webhook handler's wall time for that event and the one-call route's.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
from typing import Any

from tests.benchmarks.figures import print_header, summary, timed

MODULE = "tests.benchmarks.bench_call_record"
WORDS_PER_MINUTE = 150
# What the made-up callers and agents say, a word at a time.
SPOKEN = (
    "the a to and you I is it that for of we can on have your be with this at what our do "
    "appointment booking Thursday morning afternoon available thanks thank please yes no okay sure "
    "name number phone check-up cleaning dentist clinic Northstar time next week Monday ten eleven "
    "o'clock would like need help let me see there is one more question about price insurance"
)


def conversation(minutes: float, seed: int = 7) -> list[tuple[str, str]]:
    """Turns of 3 to 30 words, agent first, until the call's words are spoken."""
    chance = random.Random(seed)  # a made-up conversation, the same every run
    vocabulary = SPOKEN.split()
    words_left = int(minutes * WORDS_PER_MINUTE)
    turns: list[tuple[str, str]] = []
    while words_left > 0:
        length = min(chance.randint(3, 30), words_left)
        text = " ".join(chance.choice(vocabulary) for _ in range(length)).capitalize() + "."
        turns.append(("agent" if len(turns) % 2 == 0 else "user", text))
        words_left -= length
    return turns


def call_ended(
    call_id: str, turns: list[tuple[str, str]], minutes: float, metadata: dict[str, str]
) -> dict[str, Any]:
    """Retell's call_ended for a call of ``minutes``, as the fake Retell plays one out."""
    from local.fakes.retell_call_data import call_cost, transcript, utterances

    spoken = utterances(turns, minutes * 60)
    started = 1_795_600_300_000
    ended = started + int(minutes * 60_000)
    return {
        "event": "call_ended",
        "call": {
            "call_id": call_id,
            "call_type": "phone_call",
            "call_status": "ended",
            "start_timestamp": started,
            "end_timestamp": ended,
            "duration_ms": ended - started,
            "disconnection_reason": "user_hangup",
            "metadata": metadata,
            "transcript": transcript(spoken),
            "transcript_object": spoken,
            "transcript_with_tool_calls": spoken,
            "recording_url": f"https://retellai.s3.us-west-2.amazonaws.com/{call_id}/recording.wav",
            "call_cost": call_cost(ended - started),
        },
    }


def bson_bytes(document: dict[str, Any]) -> int:
    from bson import encode

    return len(encode(document))


def heaviest_transcript() -> dict[str, Any]:
    """The record's transcript fields at the caps, every character 4 bytes of UTF-8."""
    from voice_agents.data.calls import (
        TRANSCRIPT_MAX_CHARACTERS,
        TRANSCRIPT_MAX_TURNS,
        Turn,
        stored_transcript,
    )

    per_turn = TRANSCRIPT_MAX_CHARACTERS // TRANSCRIPT_MAX_TURNS
    turns = [
        Turn("agent", "\U0001f600" * per_turn, n * 1.5, n * 1.5 + 1.2) for n in range(TRANSCRIPT_MAX_TURNS)
    ]
    return stored_transcript(turns)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="deliveries of each call's call_ended")
    args = parser.parse_args(argv)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")

    from pymongo import MongoClient

    from local.invoke import http_event, invoke, json_body
    from local.sample_events import load_event
    from local.signing import signed_retell_event
    from local.stack import RETELL_API_KEY, local_stack
    from tests.integration.test_twilio_webhook import signed_event

    print_header(MODULE, argv)
    result: dict[str, Any] = {}
    with local_stack() as stack:
        os.environ.update(stack.environment())
        agent = json_body(invoke("create_agent", http_event("create_agent.json")))
        client: MongoClient[dict[str, Any]] = MongoClient(stack.mongodb_uri, tz_aware=True)
        database = client[stack.database]
        for label, minutes, sid in (("10 minutes", 10, "CA" + "a" * 32), ("60 minutes", 60, "CA" + "b" * 32)):
            invoke("twilio_webhook", signed_event(agent, call_sid=sid))
            call_id = next(
                each
                for each, call in stack.retell.calls_registered.items()
                if call["metadata"]["twilio_call_sid"] == sid
            )
            turns = conversation(minutes)
            body = json.dumps(call_ended(call_id, turns, minutes, {"twilio_call_sid": sid}))
            event = signed_retell_event(load_event("retell_webhook.json", body=body), RETELL_API_KEY)
            answered: list[int] = []

            def deliver(event: dict[str, Any] = event, answered: list[int] = answered) -> None:
                answered.append(invoke("retell_webhook", event)["statusCode"])

            samples = [timed(deliver) for _ in range(args.runs)]  # the first one writes, the rest replay
            assert set(answered) == {204}, answered
            record = database.calls.find_one({"_id": sid})
            assert record is not None
            read = http_event("get_call.json", agent_id=agent["id"], call_sid=sid)
            reads = [timed(functools.partial(invoke, "get_agents", read)) for _ in range(args.runs)]
            figures = {
                "turns": len(turns),
                "characters": sum(len(text) for _, text in turns),
                "event_body_bytes": len(body.encode()),
                "record_bson_bytes": bson_bytes(record),
                "transcript_bson_bytes": bson_bytes({"transcript": record["transcript"]}),
                "truncated": record["transcriptTruncated"],
            }
            result[label] = figures
            print(f"\n{label}: {figures['turns']} turns, {figures['characters']} characters")
            print(f"  call_ended body          {figures['event_body_bytes']:>9,} bytes of JSON")
            print(
                f"  the call's record        {figures['record_bson_bytes']:>9,} bytes of BSON (its "
                f"transcript {figures['transcript_bson_bytes']:,}; truncated: {figures['truncated']})"
            )
            print(f"  retell_webhook, warm     {summary(samples)} ms")
            print(f"  GET one call, warm       {summary(reads)} ms")
    heaviest = bson_bytes(heaviest_transcript())
    result["at the caps, 4-byte characters"] = {"transcript_bson_bytes": heaviest}
    print(f"\nat the caps (1,000 turns, 100,000 characters of 4 bytes): the transcript, {heaviest:,} bytes")
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
