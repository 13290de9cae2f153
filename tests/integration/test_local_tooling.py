"""make stack, make invoke and make call as a developer runs them: the local stack in a process of its
own with the events' agent, each event of events/ through its handler in a fresh process, in order."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from local.api.tokens import LOCAL_USER, local_token
from local.sample_events import EVENTS_AGENT_ID
from tests.integration.served_stack import run_module, serve_local_stack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`make stack` on free ports: the seeded local stack, its state file once it serves."""
    yield from serve_local_stack(tmp_path_factory, "--seed-events")


@pytest.fixture(scope="module")
def api_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`make api` on a free port: numbers point at this API, so the fake Twilio can play calls to it."""
    yield from serve_local_stack(tmp_path_factory)


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
    assert "<Sip>sip:" in called["body"] and "dial-status?leg=agent" in called["body"], called["body"]
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
    assert "<Sip>sip:" in done.stdout and "dial-status?leg=agent" in done.stdout
    # And an unknown agent hears the apology, still a 200 (the signature is over its URL)
    apology = run_module("local.call", "0" * 24, "--stack", str(stack_state))
    assert apology.returncode == 0, apology.stderr
    assert "<Say>" in apology.stdout


def test_make_call_plays_a_transfer_and_a_forward_while_retell_is_down(api_state: Path) -> None:
    # Given an agent of the running API's local user with a transfer number
    stack_state = api_state
    state = json.loads(stack_state.read_text())
    owner = {"Authorization": f"Bearer {local_token(LOCAL_USER)}"}
    body = {"name": "Front desk", "prompt": "Be brief.", "transferNumber": "+61293744000"}
    agent = httpx.post(f"{state['apiUrl']}/api/agents", json=body, headers=owner, timeout=60).json()

    # When make call plays a call the agent transfers, then one while Retell refuses it
    transferred = run_module("local.call", agent["id"], "--stack", str(stack_state), "--play", "--transfer")
    forwarded = run_module("local.call", agent["id"], "--stack", str(stack_state), "--play", "--retell-down")

    # Then each caller reached the person, and the output says how
    for done in (transferred, forwarded):
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip().endswith("reached: person"), done.stdout
    assert "[updated]" in transferred.stdout
    assert "[dial_sip]" not in forwarded.stdout
