"""The sweep pages through Twilio and Retell: a sweep cut short by its run's time resumes on the next
run where it stopped and completes the pass; a stored cursor the provider refuses, or one that cannot
be read, lists again from the first page and removes nothing a record does not account for."""

from __future__ import annotations

import json
from typing import Any

import pytest
from bson import ObjectId

from local.invoke import LambdaContext, create_active_agent, http_event
from tests.integration.emf import emitted_metrics
from tests.integration.faults import run_reconciler
from voice_agents import runtime
from voice_agents.core.countries import NumberOrder
from voice_agents.data import sweep_cursors
from voice_agents.repair import listings as sweep
from voice_agents.repair import reconciler
from voice_agents.repair import sweep as sweeping

AU_MOBILE = NumberOrder("AU", "mobile")  # the stack's default pair: the fake asks no bundle of it

pytestmark = pytest.mark.integration

PAGE = 2  # resources per provider page in these tests
LISTINGS = ["twilio_number", "retell_agent", "retell_llm"]


def new_agent() -> dict[str, Any]:
    return create_active_agent(http_event("create_agent.json", headers={"idempotency-key": str(ObjectId())}))


def agents_with_one_failed(db: Any, active: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``active`` live agents, then one whose record says it failed while its resources still exist
    (created last: its number is on the last page of Twilio's listing, which is in purchase order)."""
    live = [new_agent() for _ in range(active)]
    failed = new_agent()
    db.agents.update_one({"_id": ObjectId(failed["id"])}, {"$set": {"status": "failed"}})
    return live, failed


def resources_of(agents: list[dict[str, Any]]) -> dict[str, list[str]]:
    return {
        "numbers": sorted(agent["twilioPhoneNumberSid"] for agent in agents),
        "retell_agents": sorted(agent["retellAgentId"] for agent in agents),
        "retell_llms": sorted(agent["retellLlmId"] for agent in agents),
    }


def live_resources(env: Any) -> dict[str, list[str]]:
    return {
        "numbers": sorted(env.twilio.owned),
        "retell_agents": sorted(env.retell.agents),
        "retell_llms": sorted(env.retell.llms),
    }


def test_a_sweep_cut_short_by_its_budget_resumes_where_it_stopped_and_completes(env, db, monkeypatch):
    # Given 6 live agents and a failed one whose resources remain, listed 2 a page (4 pages each),
    # and a Twilio that takes 0.8 s a page, in 6 s runs that list while 4 s are left: at most 3
    # pages of numbers fit in a run
    live, failed = agents_with_one_failed(db, active=6)
    monkeypatch.setattr(sweep, "PAGE_SIZE", PAGE)
    monkeypatch.setattr(reconciler, "TIME_RESERVE_MS", 500)
    monkeypatch.setattr(sweeping, "SWEEP_LISTING_RESERVE_MS", 4000)
    env.twilio.inject("list_numbers", delay_ms=800)
    listed_before = env.twilio.call_count("list_numbers")

    def short_run() -> dict[str, Any]:
        return run_reconciler(LambdaContext(timeout_ms=6000))

    # When the reconciler runs
    first = short_run()

    # Then the listing stopped before the last page of numbers: the failed agent's number is still there
    assert first["errors"] == [] and first["swept"] is True
    assert "twilio_number" in first["sweepResumes"]
    assert failed["twilioPhoneNumberSid"] in env.twilio.owned
    assert env.twilio.call_count("release_number") == 0

    # When it runs again, until the pass is complete
    runs = [first]
    while runs[-1]["sweepResumes"] and len(runs) < 6:
        runs.append(short_run())

    # Then the pass completed, each page of numbers was fetched once (resumed, never from the first
    # page again), and exactly the failed agent's resources were removed
    assert runs[-1]["sweepResumes"] == [] and len(runs) >= 2
    assert env.twilio.call_count("list_numbers") - listed_before == 4
    assert live_resources(env) == resources_of(live)
    assert env.twilio.call_count("release_number") == 1
    removed: dict[str, int] = {}
    for run in runs:
        for resource, number in run["removed"].items():
            removed[resource] = removed.get(resource, 0) + number
    assert removed == dict.fromkeys(LISTINGS, 1)

    # And the next run starts a new pass from the first page: the 6 numbers left, 3 pages
    env.twilio.clear_faults()
    assert run_reconciler()["sweepResumes"] == []
    assert env.twilio.call_count("list_numbers") - listed_before == 4 + 3


REFUSED = {
    "twilio_number": {"PageToken": "PA-expired-token", "Page": "4"},
    "retell_agent": {"pagination_key": "agent_from_an_old_pass"},
    "retell_llm": None,
}


@pytest.mark.parametrize(
    "stored",
    [
        pytest.param(REFUSED, id="refused-by-the-providers"),
        pytest.param({"twilio_number": "PA1234", "retell_agent": {"pagination_key": 7}}, id="unreadable"),
        pytest.param({"twilio_number": {}, "retell_llm": ["x"]}, id="empty-or-wrong-type"),
    ],
)
def test_a_stored_cursor_that_cannot_be_used_lists_from_the_first_page_and_removes_only_what_records_say(
    env, db, monkeypatch, capsys, stored
):
    # Given live agents, a failed one whose resources remain, and a number whose tag names no record
    live, failed = agents_with_one_failed(db, active=2)
    unaccounted = runtime.twilio().buy(
        "+61480000190", order=AU_MOBILE, voice_url="https://x.example/in", tag=f"va-local:{ObjectId()}"
    )
    monkeypatch.setattr(sweep, "PAGE_SIZE", PAGE)
    # and stored cursors from an earlier pass that Twilio and Retell no longer accept, or that
    # cannot be read
    db[sweep_cursors.COLLECTION].insert_one({"_id": sweep_cursors.STATE_ID, **stored})
    refused = stored is REFUSED
    if refused:  # Retell answers 400 to the old key (the Twilio fake refuses the token itself)
        env.retell.inject("list_agents", status=400, message="Invalid pagination_key", times=1)
    capsys.readouterr()

    # When the reconciler runs
    report = run_reconciler()

    # Then each listing went through from its first page: the failed agent's resources are removed,
    # the live agents' and the unaccounted number are kept, and the pass is complete
    assert report["errors"] == [] and report["sweepResumes"] == []
    assert report["sweepRestarted"] == (["twilio_number", "retell_agent"] if refused else [])
    assert report["removed"] == dict.fromkeys(LISTINGS, 1)
    assert live_resources(env) == {
        **resources_of(live),
        "numbers": sorted([*resources_of(live)["numbers"], unaccounted.sid]),
    }
    assert [item["id"] for item in report["unaccounted"]] == [unaccounted.sid]
    assert failed["twilioPhoneNumberSid"] not in env.twilio.owned
    metrics = emitted_metrics(capsys.readouterr().out)
    assert len(metrics.get("SweepCursorRefused", [])) == (2 if refused else 0)
    # And the next pass starts from the first pages
    assert db[sweep_cursors.COLLECTION].find_one(
        {"_id": sweep_cursors.STATE_ID}, {"_id": 0, "updatedAt": 0}
    ) == dict.fromkeys(LISTINGS)


def test_a_first_page_refused_fails_the_sweep_without_removing_or_looping(env, db, monkeypatch):
    # Given a failed agent whose resources remain, and Twilio refusing the listing itself
    live, failed = agents_with_one_failed(db, active=1)
    env.twilio.inject("list_numbers", status=400, code=20001, message="Invalid parameter")
    listed_before = env.twilio.call_count("list_numbers")

    # When the reconciler runs
    with pytest.raises(reconciler.ReconcileIncomplete) as raised:
        run_reconciler()

    # Then the sweep failed (the run alarms) after one request, and nothing was removed
    assert raised.value.report.errors == ["sweep"]
    assert env.twilio.call_count("list_numbers") - listed_before == 1
    assert live_resources(env) == resources_of([*live, failed])


def test_a_listing_failing_midway_keeps_the_stored_cursors(env, db, monkeypatch):
    # Given a pass stopped on page 2 of numbers, and Twilio failing every page from now on
    live, failed = agents_with_one_failed(db, active=3)
    monkeypatch.setattr(sweep, "PAGE_SIZE", PAGE)
    first_page, cursor = runtime.twilio().tagged_numbers_page("va-local:", None, page_size=PAGE)
    assert cursor is not None and len(first_page) == PAGE
    stored = {"twilio_number": cursor, "retell_agent": None, "retell_llm": None}
    db[sweep_cursors.COLLECTION].insert_one({"_id": sweep_cursors.STATE_ID, **stored})
    env.twilio.inject("list_numbers", status=503, code=20503, message="Service unavailable")

    # When the reconciler runs
    with pytest.raises(reconciler.ReconcileIncomplete):
        run_reconciler()

    # Then nothing was removed, and the stored cursor still points at page 2
    assert live_resources(env) == resources_of([*live, failed])
    assert (
        db[sweep_cursors.COLLECTION].find_one({"_id": sweep_cursors.STATE_ID}, {"_id": 0, "updatedAt": 0})
        == stored
    )


@pytest.mark.parametrize("listed_id", [None, "", 42], ids=["missing", "empty", "not-a-string"])
def test_a_listed_resource_without_a_usable_id_is_skipped(env, db, listed_id):
    # Given a failed agent whose Retell agent is listed without a usable id (a malformed page)
    live, failed = agents_with_one_failed(db, active=1)
    tag = f"va-local:{failed['id']}"
    malformed = {"agent_name": f"{tag} Failed", **({} if listed_id is None else {"agent_id": listed_id})}
    page = {"items": [malformed, {"agent_id": live[0]["retellAgentId"], "agent_name": "va-local:x Live"}]}
    env.retell.inject("list_agents", body=json.dumps({**page, "has_more": False}), times=1)

    # When the reconciler runs
    report = run_reconciler()

    # Then nothing is asked to delete a Retell agent by a made-up id; the rest is swept as usual
    assert report["errors"] == [] and report["sweepResumes"] == []
    assert env.retell.call_count("delete_agent") == 0
    assert report["removed"] == {"twilio_number": 1, "retell_llm": 1}
    assert failed["retellAgentId"] in env.retell.agents  # left for the next pass, which lists it
