"""X-Ray traces carry no personal data. Real handlers run with tracing on, in a fresh process (the
tracer is made at import, as in a cold start), and send their subsegments to a UDP socket of the test
standing in for the X-Ray daemon.

Each run is repeated with the tracing the functions had before (Powertools' ``capture_lambda_handler``
and the X-Ray SDK's subsegment context manager, with their defaults): that run's segments do carry
the prompt, the numbers and the answers, so the check is shown able to fail.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from local.invoke import ROOT, create_active_agent, http_event
from local.sample_events import load_event
from local.stack import LocalStack
from tests.integration.test_twilio_webhook import CALL_SID, CALLER, OTHER_CALL_SID, signed_event

pytestmark = pytest.mark.integration

TRANSFER_NUMBER = "+61293744000"
# Twilio error messages may quote what was sent: numbers, a caller's included.
RELEASE_REFUSED = "The phone number cannot be released while it has calls in progress"

# Runs ``[function, event]`` pairs (stdin) through their handlers; prints their answers, one JSON line.
PROBE = """
import json, sys
root, tracing = sys.argv[1], sys.argv[2]
sys.path[:0] = [root, root + "/layers/common"]
from voice_agents.core import observability
if tracing == "powertools-defaults":  # how every function was traced before
    observability.OptionalTracer.capture_lambda_handler = (
        lambda self, handler: self.tracer.capture_lambda_handler(handler)
    )
    observability.OptionalTracer.subsegment = lambda self, name, **_: self.tracer.provider.in_subsegment(name)
from local.invoke import invoke
answers = [invoke(function, event) for function, event in json.load(sys.stdin)]
print(json.dumps(answers))
"""


@pytest.fixture
def xray_daemon() -> Iterator[socket.socket]:
    """A UDP socket on 127.0.0.1 in place of the X-Ray daemon."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as daemon:
        daemon.bind(("127.0.0.1", 0))
        daemon.settimeout(0.5)
        yield daemon


def person_first_agent() -> dict[str, Any]:
    """An agent that rings a person first: its prompt and two numbers are what the answers carry."""
    body = json.loads(load_event("create_agent.json")["body"])
    body |= {"transferNumber": TRANSFER_NUMBER, "answerMode": "person_first"}
    return create_active_agent(http_event("create_agent.json", body=body, headers={}))


def calls_to(agent: dict[str, Any], call_sid: str) -> list[tuple[str, dict[str, Any]]]:
    """The agent read, a signed call to it (its answer rings the transfer number), its delete."""
    return [
        ("get_agents", http_event("get_agent.json", agent_id=agent["id"])),
        ("twilio_webhook", signed_event(agent, call_sid)),
        ("delete_agent", http_event("delete_agent.json", agent_id=agent["id"])),
    ]


def traced_run(
    stack: LocalStack, daemon: socket.socket, calls: list[tuple[str, dict[str, Any]]], tracing: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The handlers' answers and every segment they sent, with tracing on as in Lambda."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "LAMBDA_", "POWERTOOLS_", "_X_AMZN"))
    }
    environment |= stack.environment() | {
        "LAMBDA_TASK_ROOT": "/var/task",
        "AWS_REGION": "ap-southeast-2",
        "POWERTOOLS_TRACE_DISABLED": "false",
        "POWERTOOLS_METRICS_DISABLED": "true",
        # Powertools' own switches say capture: what the functions record must not depend on them.
        "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "true",
        "POWERTOOLS_TRACER_CAPTURE_ERROR": "true",
        "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}",
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        # What Lambda sets for a sampled invocation: the X-Ray SDK hangs subsegments on its segment.
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(ROOT), tracing],
        input=json.dumps(calls),
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answers: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    return answers, received_segments(daemon)


def received_segments(daemon: socket.socket) -> list[dict[str, Any]]:
    segments: list[dict[str, Any]] = []
    while True:
        try:
            datagram = daemon.recv(65535).decode()
        except TimeoutError:
            return segments
        header, _, body = datagram.partition("\n")
        assert json.loads(header) == {"format": "json", "version": 1}
        segments.append(json.loads(body))


def texts(node: Any) -> Iterator[str]:
    """Every key and string value anywhere in a segment."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from texts(item)


def found_in(segments: list[dict[str, Any]], personal: dict[str, str]) -> set[str]:
    """The names of the personal values some segment carries."""
    carried = list(texts(segments))
    return {name for name, value in personal.items() if any(value in text for text in carried)}


def personal_data(agent: dict[str, Any], answers: list[dict[str, Any]]) -> dict[str, str]:
    """What must stay out of traces, by name: the agent's prompt and numbers, and what was answered."""
    return {
        "prompt": agent["prompt"],
        "agent's number": agent["phoneNumber"],
        "transfer number": TRANSFER_NUMBER,
        "the agent answered": answers[0]["body"],
        "the TwiML answered": answers[1]["body"],
        "Twilio's error message": RELEASE_REFUSED,
    }


def test_traces_carry_no_answer_prompt_number_or_error_message(env, xray_daemon):
    # Given an agent, and Twilio refusing to release numbers with a message (one that could quote them)
    agent = person_first_agent()
    env.twilio.inject("release_number", 400, code=21_000, message=RELEASE_REFUSED)

    # When it is read, called and deleted with tracing on
    answers, segments = traced_run(env, xray_daemon, calls_to(agent, CALL_SID), "as-deployed")

    # Then they answered as usual: the agent, TwiML ringing the person, the release left pending
    assert [answer["statusCode"] for answer in answers] == [200, 200, 202]
    assert TRANSFER_NUMBER in answers[1]["body"]
    # And no segment carries the prompt, a number, an answer or the error's message
    assert found_in(segments, personal_data(agent, answers) | {"caller": CALLER}) == set()
    # But the traces still time each invocation and each provider call, and say what failed
    handlers = [segment for segment in segments if segment["name"] == "## lambda_handler"]
    assert [handler["annotations"]["ColdStart"] for handler in handlers] == [True, False, False]
    release = next(segment for segment in segments if segment["name"] == "## twilio.release_number")
    assert release["fault"] is True
    assert release["annotations"] == {
        "provider": "twilio",
        "operation": "release_number",
        "error": "UpstreamError",
    }
    assert "cause" not in release

    # And traced as the functions were before, the same calls to another agent put all of it in the trace
    other = person_first_agent()
    answers, before = traced_run(env, xray_daemon, calls_to(other, OTHER_CALL_SID), "powertools-defaults")
    personal = personal_data(other, answers)
    assert found_in(before, personal) == set(personal)
