"""A changed base URL is the operator's act: the sweep moves numbers and Retell agents onto another
base only once it answers GET /api/webhooks/health with this deployment's tag, never more than
RECONCILER_MAX_REPOINTS at once; `operate repoint --confirm` goes past that brake. And `operate
unaccounted --confirm` releases no more than the operator looked at (--max, --expect-count)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from bson import ObjectId

from local.stack import LocalStack
from tests.integration.answers import LogLines
from tests.integration.emf import emitted_metrics
from tests.integration.faults import run_reconciler
from tests.integration.test_reconciler_safety import NO_REMOVALS, configure, new_agent, removals
from voice_agents import runtime
from voice_agents.core.clock import now
from voice_agents.core.countries import NumberOrder
from voice_agents.core.tags import health_url
from voice_agents.data.deployment import write_marker
from voice_agents.repair import operate

AU_MOBILE = NumberOrder("AU", "mobile")  # the stack's default pair: the fake asks no bundle of it

pytestmark = pytest.mark.integration


class HealthServer:
    """A base URL on 127.0.0.1 that answers GET /api/webhooks/health as it is told, and counts asks."""

    def __init__(self) -> None:
        self.status = 200
        self.body = json.dumps({"status": "ok", "resourceTag": "va-local"})
        self.asked = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.asked += 1
                found = self.path == "/api/webhooks/health"
                payload = (server.body if found else "not found").encode()
                self.send_response(server.status if found else 404)
                self.send_header("Content-Type", "application/json" if found else "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._http.server_address[1]}"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    def answer(self, status: int, body: Any) -> None:
        self.status, self.body = status, body if isinstance(body, str) else json.dumps(body)

    def __enter__(self) -> HealthServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()


@pytest.fixture
def health() -> Iterator[HealthServer]:
    with HealthServer() as server:
        yield server


def closed_base() -> str:
    """A loopback base URL nothing listens on: every request is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def agents(count: int) -> list[dict[str, Any]]:
    made = [new_agent() for _ in range(count)]
    write_marker(runtime.store(), "va-local")  # so that the sweep runs
    return made


def where_calls_go(env: LocalStack, db: Any) -> dict[str, Any]:
    """Every number's URLs, every Retell agent's call-events URL and every record's URLs."""
    return {
        "numbers": {sid: (n["voice_url"], n["voice_fallback_url"]) for sid, n in env.twilio.owned.items()},
        "events": {i: a["webhook_url"] for i, a in env.retell.state()["agents"].items()},
        "records": sorted((str(r["_id"]), r["webhookUrl"], r.get("fallbackUrl")) for r in db.agents.find()),
    }


def moved_onto(env: LocalStack, made: list[dict[str, Any]], base: str) -> bool:
    events = env.retell.state()["agents"]
    return all(
        env.twilio.owned[agent["twilioPhoneNumberSid"]]["voice_url"]
        == f"{base}/api/webhooks/twilio/{agent['id']}"
        and events[agent["retellAgentId"]]["webhook_url"] == f"{base}/api/webhooks/retell"
        for agent in made
    )


def errors_logged(log_lines: LogLines, starting: str) -> list[dict[str, Any]]:
    return [e for e in log_lines.entries() if e["level"] == "ERROR" and e["message"].startswith(starting)]


# --- the new base must answer as this deployment -----------------------------------------------------


ANSWERS = {
    "nothing-listening": None,
    "not-found": (404, "no such route"),
    "a-web-page": (200, "<!doctype html><title>Dashboard</title>"),
    "unhealthy": (503, {"status": "misconfigured"}),
    "another-deployment": (200, {"status": "ok", "resourceTag": "va-prod"}),
}


@pytest.mark.parametrize("answer", list(ANSWERS.values()), ids=list(ANSWERS))
def test_a_base_url_that_does_not_answer_as_this_deployment_gets_nothing_moved(
    env, db, monkeypatch, capsys, log_lines, health, answer
):
    # Given two active agents, and WEBHOOK_BASE_URL changed to a base that is not this deployment's
    agents(2)
    before = where_calls_go(env, db)
    if answer is None:
        base = closed_base()
    else:
        health.answer(*answer)
        base = health.base_url
    configure(monkeypatch, WEBHOOK_BASE_URL=base)
    capsys.readouterr()

    # When the reconciler runs
    report = run_reconciler()

    # Then no number, Retell agent or record moved; the run says why, logs it and counts it
    assert where_calls_go(env, db) == before
    assert report["webhooksRepaired"] == 0 and report["eventsWebhooksRepaired"] == 0
    assert report["unverifiedBase"] == base and report["repointsBlocked"] == 0
    assert report["errors"] == []  # the run itself is fine: the alarm is the metric's
    assert emitted_metrics(capsys.readouterr().out)["WebhookBaseUnverified"] == [1]
    [logged] = errors_logged(log_lines, "the base URL the sweep would move 4 numbers and Retell agents")
    assert logged["base_url"] == base
    # Nor does the operator's command move anything onto it, and it says why
    capsys.readouterr()
    assert operate.main(["repoint", "--confirm"]) == operate.REFUSED
    assert f"Refused: {health_url(base)}" in capsys.readouterr().err
    assert where_calls_go(env, db) == before


def test_a_base_url_answering_as_this_deployment_gets_everything_moved(env, db, monkeypatch, capsys, health):
    # Given two active agents, and WEBHOOK_BASE_URL changed to a base answering with this tag
    made = agents(2)
    configure(monkeypatch, WEBHOOK_BASE_URL=health.base_url)
    capsys.readouterr()

    # When the reconciler runs
    report = run_reconciler()

    # Then the base was asked once, and every number and Retell agent moved onto it
    assert health.asked == 1
    assert report["webhooksRepaired"] == 2 and report["eventsWebhooksRepaired"] == 2
    assert moved_onto(env, made, health.base_url)
    assert report["unverifiedBase"] is None and report["repointsBlocked"] == 0
    assert not {"WebhookBaseUnverified", "MassRepointBlocked"} & set(emitted_metrics(capsys.readouterr().out))


def test_a_repair_that_keeps_its_base_url_asks_no_health_route(env, db, monkeypatch, health):
    # Given an agent created on a base, whose number's fallback URL drifted (an update's re-point
    # lost), and a base that would not answer as this deployment any more
    configure(monkeypatch, WEBHOOK_BASE_URL=health.base_url)
    [agent] = agents(1)
    sid = agent["twilioPhoneNumberSid"]
    expected = env.twilio.owned[sid]["voice_fallback_url"]
    with env.twilio._lock:
        env.twilio._owned[sid]["voice_fallback_url"] = None
    health.answer(503, {"status": "misconfigured"})

    # When the reconciler runs
    report = run_reconciler()

    # Then the fallback URL is repaired on the base the number already uses, without asking
    assert report["webhooksRepaired"] == 1 and env.twilio.owned[sid]["voice_fallback_url"] == expected
    assert health.asked == 0 and report["unverifiedBase"] is None


# --- the brake -----------------------------------------------------------------------------------------


def test_more_moves_than_the_brake_allows_move_none_until_the_operator_confirms(
    env, db, monkeypatch, capsys, log_lines, server
):
    # Given three active agents (six moves: a number and a Retell agent each), a brake of five, and
    # WEBHOOK_BASE_URL changed to a base answering as this deployment (the local API's)
    made = agents(3)
    configure(monkeypatch, RECONCILER_MAX_REPOINTS="5", WEBHOOK_BASE_URL=server.base_url)
    before = where_calls_go(env, db)
    capsys.readouterr()

    # When the reconciler runs
    report = run_reconciler()

    # Then the brake holds: nothing moved, the count answered, alarmed, and what it would have done logged
    assert where_calls_go(env, db) == before
    assert report["repointsBlocked"] == 6 and report["unverifiedBase"] is None
    assert report["webhooksRepaired"] == 0 and report["eventsWebhooksRepaired"] == 0
    assert emitted_metrics(capsys.readouterr().out)["MassRepointBlocked"] == [1]
    [logged] = errors_logged(log_lines, "mass-re-point brake: the sweep planned to move 6")
    assert {(m["resource"], m["id"]) for m in logged["would_move"]} == {
        *(("twilio_number", agent["twilioPhoneNumberSid"]) for agent in made),
        *(("retell_agent", agent["retellAgentId"]) for agent in made),
    }
    assert all(m["to"] == server.base_url for m in logged["would_move"])

    # When the operator looks (a dry run)
    assert operate.main(["repoint"]) == 0

    # Then every move is listed, and nothing moved
    listed = capsys.readouterr().out
    assert "6 move(s) onto another base URL" in listed and "Dry run" in listed
    assert f"{server.base_url} answers its health route as this deployment" in listed
    assert all(agent["twilioPhoneNumberSid"] in listed and agent["retellAgentId"] in listed for agent in made)
    assert where_calls_go(env, db) == before

    # When the operator confirms
    assert operate.main(["repoint", "--confirm"]) == 0

    # Then everything moved, past the brake, and removed nothing; the next run has nothing to do
    assert "re-pointed 3 number(s), 3 Retell agent(s)" in capsys.readouterr().out
    assert moved_onto(env, made, server.base_url)
    assert removals(env) == NO_REMOVALS
    assert db.agents.count_documents({"webhookUrl": {"$regex": f"^{server.base_url}/"}}) == 3
    after = run_reconciler()
    assert after["repointsBlocked"] == 0 and after["webhooksRepaired"] == after["eventsWebhooksRepaired"] == 0


def test_moves_within_the_brake_go_ahead(env, db, monkeypatch, server):
    made = agents(2)
    configure(monkeypatch, RECONCILER_MAX_REPOINTS="4", WEBHOOK_BASE_URL=server.base_url)

    report = run_reconciler()

    assert report["repointsBlocked"] == 0 and report["webhooksRepaired"] == 2
    assert moved_onto(env, made, server.base_url)


def test_operate_repoint_refuses_a_database_not_marked_as_ours(env, db, monkeypatch, server, capsys):
    agents(1)
    db.deployment.delete_many({})
    configure(monkeypatch, WEBHOOK_BASE_URL=server.base_url)
    before = where_calls_go(env, db)

    assert operate.main(["repoint", "--confirm"]) == operate.REFUSED

    assert "not marked" in capsys.readouterr().err and where_calls_go(env, db) == before


# --- unaccounted: no more than the operator looked at ---------------------------------------------------


def unaccounted_numbers(count: int) -> list[str]:
    """Numbers tagged with agent ids no record names, bought by creates three days ago."""
    twilio = runtime.twilio()
    return [
        twilio.buy(
            f"+6148000019{i}",
            order=AU_MOBILE,
            voice_url="https://old.example/x",
            tag=f"va-local:{ObjectId.from_datetime(now() - timedelta(days=3, minutes=i))}",
        ).sid
        for i in range(count)
    ]


@pytest.mark.parametrize(
    "bound", [["--max", "2"], ["--expect-count", "2"], ["--expect-count", "4"]], ids=" ".join
)
def test_unaccounted_refuses_to_release_other_than_the_operator_expects(env, db, capsys, bound):
    # Given three unaccounted numbers, all old enough to release
    agents(1)
    numbers = unaccounted_numbers(3)

    # When the operator confirms with a bound they do not meet
    result = operate.main(["unaccounted", "--older-than", "1d", *bound, "--confirm"])

    # Then nothing is released, and the command says why
    assert result == operate.REFUSED
    assert "Refused: 3 marked" in capsys.readouterr().err
    assert set(numbers) <= set(env.twilio.owned) and removals(env) == NO_REMOVALS


@pytest.mark.parametrize("bound", [["--max", "3"], ["--expect-count", "3"]], ids=" ".join)
def test_unaccounted_releases_when_the_count_is_what_the_operator_expects(env, db, bound):
    [live] = agents(1)
    numbers = unaccounted_numbers(3)

    assert operate.main(["unaccounted", "--older-than", "1d", *bound, "--confirm"]) == 0

    assert not set(numbers) & set(env.twilio.owned)
    assert live["twilioPhoneNumberSid"] in env.twilio.owned
