"""make stack, make invoke and make call as a developer runs them: the local stack in a process of its
own with the events' agent, each event of events/ through its handler in a fresh process, in order."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from local.api.tokens import local_token
from local.invoke import ROOT
from local.sample_events import EVENTS_AGENT_ID

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`make stack` on free ports: the seeded local stack, its state file once it serves."""
    state = tmp_path_factory.mktemp("stack") / "local-stack.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "local.http_api", "--port", "0", "--seed-events", "--ready-file", str(state)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not state.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                stderr = process.stderr.read().decode() if process.stderr else ""
                pytest.fail(f"the local stack did not start: {stderr[-2000:]}")
            time.sleep(0.2)
        yield state
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert not state.exists(), "the state file outlived the stack"


def run_module(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -m <args>`` from the checkout, as the Makefile's targets run it."""
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )


def invoke(stack_state: Path, function: str, event: str) -> dict[str, Any]:
    """`make invoke FN=function EVENT=event`: the response the fresh process prints on stdout."""
    done = run_module("local.invoke", function, event, "--stack", str(stack_state), timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    response: dict[str, Any] = json.loads(done.stdout)
    return response


def test_every_event_works_as_it_is_in_order(stack_state: Path) -> None:
    # Given the stack seeded with the events' agent; when each event runs through its handler
    created = invoke(stack_state, "create_agent", "events/create_agent.json")
    fetched = invoke(stack_state, "get_agents", "events/get_agent.json")
    listed = invoke(stack_state, "GetAgentsFunction", "events/get_agents.json")
    called = invoke(stack_state, "twilio_webhook", "events/twilio_webhook.json")
    deleted = invoke(stack_state, "delete_agent", "events/delete_agent.json")
    reconciled = invoke(stack_state, "reconcile", "events/reconcile.json")
    replayed = invoke(stack_state, "create_agent", "events/create_agent.json")

    # Then create replays the seeded create (same Idempotency-Key), and the rest find its agent
    assert created["statusCode"] == 201, created
    assert json.loads(created["body"])["id"] == EVENTS_AGENT_ID
    assert fetched["statusCode"] == 200, fetched
    assert json.loads(fetched["body"])["status"] == "active"
    assert listed["statusCode"] == 200, listed
    assert [item["id"] for item in json.loads(listed["body"])["items"]] == [EVENTS_AGENT_ID]
    assert called["statusCode"] == 200, called
    assert "<Dial><Sip>sip:" in called["body"], called["body"]
    assert deleted["statusCode"] == 200, deleted
    assert json.loads(deleted["body"])["status"] == "deleted"
    assert "failed" not in reconciled or not reconciled["failed"], reconciled
    # And once deleted, a replay of its key says so, as GET does (404)
    assert replayed["statusCode"] == 410, replayed
    assert json.loads(replayed["body"])["error"] == "agent_deleted"


def test_an_unknown_function_names_the_known_ones(stack_state: Path) -> None:
    done = run_module("local.invoke", "no_such", "events/reconcile.json", "--stack", str(stack_state))
    assert done.returncode != 0
    assert "create_agent" in done.stderr


def test_make_call_places_a_signed_call_and_prints_the_twiml(tmp_path: Path, stack_state: Path) -> None:
    # Given an agent created through the running local API (the events' one may be deleted by now)
    state = json.loads(stack_state.read_text())
    agent = httpx.post(
        f"{state['apiUrl']}/api/agents",
        json={"name": "Call me", "prompt": "Be brief."},
        headers={"Authorization": f"Bearer {local_token('caller-test')}"},
        timeout=60,
    ).json()
    # When make call places a call to it
    done = run_module("local.call", agent["id"], "--stack", str(stack_state))
    # Then the signature validates and the caller is dialled through to Retell
    assert done.returncode == 0, done.stderr
    assert "<Dial><Sip>sip:" in done.stdout
    # And an unknown agent hears the apology, still a 200 (the signature is over its URL)
    apology = run_module("local.call", "0" * 24, "--stack", str(stack_state))
    assert apology.returncode == 0, apology.stderr
    assert "<Say>" in apology.stdout
