"""What calls cost, on the local stack: the reconciler reads Twilio's price of each ended call and of
its <Dial> legs (the fake Twilio prices them per the spec, some time after the end), and
GET /api/agents/{agentId}/usage adds up per local day the calls, their minutes, Retell's cost,
Twilio's and the number's rental, in whole cents rounded once, for the agent's owner only."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from bson import ObjectId

from local.invoke import http_event, invoke, json_body
from local.stack import (
    LOCAL_ADDRESSES,
    LOCAL_BUNDLES,
    TWILIO_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN,
    local_regulations,
)
from tests.integration.faults import run_reconciler
from tests.integration.spec_schemas import twilio_spec
from tests.integration.test_call_path import bearer, create, place, retell_call_id
from tests.integration.test_call_search import OWNER, create_agent, refused, seed, sydney
from tests.integration.test_twilio_webhook import CALL_SID, dialled_sip, signed_event
from voice_agents.core.clock import now
from voice_agents.data.calls import TWILIO_PRICE_GIVE_UP_AFTER, TWILIO_PRICE_RETRY, TwilioCost

pytestmark = pytest.mark.integration

TW_CALL = "/2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json"
TW_CALLS = "/2010-04-01/Accounts/{AccountSid}/Calls.json"


def due_now(db: Any, call_sid: str) -> None:
    """Time has passed: the call's price is due (the first read waits minutes after the call)."""
    db.calls.update_one({"_id": call_sid}, {"$set": {"twilioPriceDueAt": now() - timedelta(seconds=1)}})


def twilio_http(env: Any) -> httpx.Client:
    return httpx.Client(
        base_url=f"{env.twilio.base_url}/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}",
        auth=(TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN),
        timeout=10,
    )


def played_call(client: httpx.Client, env: Any) -> tuple[dict[str, Any], str]:
    """An agent and a call of it that reached the agent and ended."""
    agent = create(client)
    sid = place(env, agent)
    env.retell.end_call(retell_call_id(env), 300).join()
    assert env.twilio.wait_for_call(sid)["finished"]
    return agent, sid


# --- Twilio's price, read after the call -------------------------------------------------------------


def test_the_reconciler_reads_the_price_of_the_call_and_its_legs(client, env, db):
    agent, sid = played_call(client, env)
    due_now(db, sid)

    report = run_reconciler()

    assert (report["pricesRead"], report["pricesDeferred"], report["errors"]) == (1, 0, [])
    # The fake answered the spec's call and legs, priced per started minute
    spec = twilio_spec()
    with twilio_http(env) as twilio:
        call = twilio.get(f"/Calls/{sid}.json").json()
        legs = twilio.get("/Calls.json", params={"ParentCallSid": sid}).json()
    spec.assert_valid(call, spec.response_schema(TW_CALL, "get", 200))
    spec.assert_valid(legs, spec.response_schema(TW_CALLS, "get", 200))
    [sip_leg] = legs["calls"]
    assert (sip_leg["parent_call_sid"], sip_leg["direction"]) == (sid, "outbound-dial")
    expected = sum(
        (-Decimal(each["price"]) * 1_000_000 for each in (call, sip_leg) if each["price_unit"] == "USD"),
        Decimal(0),
    )
    assert Decimal(call["price"]) == -Decimal("0.0085") * math.ceil(int(call["duration"]) / 60)
    # The record keeps the exact sum, the API shows it in whole cents
    assert db.calls.find_one({"_id": sid})["twilioCost"] == {
        "currency": "USD",
        "micros": int(expected),
        "seconds": int(call["duration"]),
        "legs": 1,
    }
    assert "twilioPriceDueAt" not in db.calls.find_one({"_id": sid})
    [listed] = client.get(f"/api/agents/{agent['id']}/calls", headers=bearer()).json()["items"]
    assert listed["twilioCost"] == {
        "currency": "USD",
        "cents": int((expected / 10_000).quantize(Decimal(1), rounding="ROUND_HALF_UP")),
        "durationSeconds": int(call["duration"]),
    }
    # And a second run reads nothing more
    assert run_reconciler()["pricesRead"] == 0


def test_a_price_twilio_has_not_set_yet_is_asked_again_later(client, env, db):
    env.twilio.configure_voice(price_delay_ms=3_600_000)
    _, sid = played_call(client, env)
    due_now(db, sid)

    report = run_reconciler()

    assert (report["pricesRead"], report["pricesDeferred"]) == (0, 1)
    record = db.calls.find_one({"_id": sid})
    assert "twilioCost" not in record
    assert record["twilioPriceDueAt"] > now() + TWILIO_PRICE_RETRY - timedelta(minutes=1)


def test_a_call_twilio_does_not_know_and_a_call_too_old_are_left_unpriced(env, db):
    agent = json_body(invoke("create_agent", http_event("create_agent.json")))
    for sid in (CALL_SID, "CA" + "3" * 32):
        dialled_sip(invoke("twilio_webhook", signed_event(agent, call_sid=sid)))
        due_now(db, sid)
    old = now() - TWILIO_PRICE_GIVE_UP_AFTER - timedelta(minutes=1)
    db.calls.update_one({"_id": "CA" + "3" * 32}, {"$set": {"createdAt": old}})

    report = run_reconciler()

    # The first is unknown to Twilio (the fake never played it); the second is past waiting for
    assert (report["pricesGivenUp"], report["pricesRead"]) == (2, 0)
    assert all("twilioPriceDueAt" not in each for each in db.calls.find({"twilioCost": {"$exists": False}}))


def test_a_call_not_due_yet_is_not_read(client, env, db):
    _, sid = played_call(client, env)

    report = run_reconciler()

    assert (report["pricesRead"], report["pricesDeferred"], report["pricesGivenUp"]) == (0, 0, 0)
    assert db.calls.find_one({"_id": sid})["twilioPriceDueAt"] > now()


# --- usage --------------------------------------------------------------------------------------------


def usage(agent_id: str, owner: str = OWNER, **query: str) -> dict[str, Any]:
    return invoke("get_agents", http_event("get_usage.json", agent_id=agent_id, owner=owner, query=query))


def priced(db: Any, sid: str, cost: TwilioCost) -> None:
    db.calls.update_one(
        {"_id": sid},
        {
            "$set": {
                "twilioCost": {"currency": cost.currency, "micros": cost.micros, "seconds": cost.seconds}
            },
            "$unset": {"twilioPriceDueAt": ""},
        },
    )


def holding_since(db: Any, agent: dict[str, Any], moment: datetime) -> None:
    """The agent's number was bought at ``moment`` (its record's creation)."""
    db.agents.update_one({"_id": ObjectId(agent["id"])}, {"$set": {"createdAt": moment}})


def by_date(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {day.pop("date"): day for day in answer["days"]}


def test_usage_rents_the_number_at_its_country_and_types_price(env, db, monkeypatch):
    # Given AU mobile numbers priced in TWILIO_REGULATIONS (3,000 cents: 100 a day of a 30-day
    # month), over the single TWILIO_NUMBER_MONTHLY_CENTS
    monkeypatch.setenv("TWILIO_NUMBER_MONTHLY_CENTS", "3100")
    au_mobile = {"bundleSid": LOCAL_BUNDLES[("AU", "mobile")], "addressSid": LOCAL_ADDRESSES["AU"]}
    regulations = local_regulations() | {"AU/mobile": {**au_mobile, "monthlyCents": 3000}}
    monkeypatch.setenv("TWILIO_REGULATIONS", json.dumps(regulations))
    agent = create_agent(key="usage")
    holding_since(db, agent, sydney("2026-11-02T09:00"))

    response = usage(
        agent["id"], **{"from": "2026-11-02", "to": "2026-11-02", "timezone": "Australia/Sydney"}
    )

    assert response["statusCode"] == 200, response["body"]
    assert json_body(response)["days"][0]["numberCents"] == 100


def test_usage_adds_up_calls_minutes_and_costs_per_day_in_whole_cents(env, db, monkeypatch):
    # A 30-day month at 3,100 cents: 103 1/3 cents a day
    monkeypatch.setenv("TWILIO_NUMBER_MONTHLY_CENTS", "3100")
    agent = create_agent(key="usage")
    holding_since(db, agent, sydney("2026-11-02T09:00"))
    # Three calls on the 3rd, each 12,500 millionths of a dollar at Twilio (1.25 cents): 3.75 cents,
    # 4 when rounded once (3 if each call were rounded)
    for minute in range(3):
        sid = seed(db, agent, sydney("2026-11-03T10:00") + timedelta(minutes=minute))
        priced(db, sid, TwilioCost(currency="USD", micros=12_500, seconds=61))
    # One on the 4th that Twilio has not priced yet (Retell's 72.5 s count, rounded up to 73)
    seed(db, agent, sydney("2026-11-04T23:59"))

    response = usage(
        agent["id"], **{"from": "2026-11-01", "to": "2026-11-04", "timezone": "Australia/Sydney"}
    )

    assert response["statusCode"] == 200, response["body"]
    answer = json_body(response)
    assert (answer["from"], answer["to"], answer["currency"], answer["timezone"]) == (
        "2026-11-01",
        "2026-11-04",
        "USD",
        "Australia/Sydney",
    )
    days = by_date(answer)
    nothing = {"calls": 0, "seconds": 0, "minutes": 0, "retellCents": 0, "twilioCents": 0, "unpricedCalls": 0}
    assert days["2026-11-01"] == {**nothing, "numberCents": 0, "totalCents": 0}  # before the number
    assert days["2026-11-02"] == {**nothing, "numberCents": 103, "totalCents": 103}
    assert days["2026-11-03"] == {
        "calls": 3,
        "seconds": 183,
        "minutes": 6,  # each call's started minutes: 2 + 2 + 2
        "retellCents": 42,  # 14 each, as Retell reported
        "twilioCents": 4,
        "numberCents": 103,
        "totalCents": 42 + 4 + 103,  # 42 + 3.75 + 103.33 = 149.08
        "unpricedCalls": 0,
    }
    assert days["2026-11-04"] == {
        "calls": 1,
        "seconds": 73,
        "minutes": 2,
        "retellCents": 14,
        "twilioCents": 0,
        "numberCents": 103,
        "totalCents": 117,  # 14 + 103.33
        "unpricedCalls": 1,
    }
    # The range's total is rounded once from the exact sums: 3 days of rental are 310 cents
    assert answer["total"] == {
        "calls": 4,
        "seconds": 256,
        "minutes": 8,
        "retellCents": 56,
        "twilioCents": 4,
        "numberCents": 310,
        "totalCents": 370,  # 56 + 3.75 + 310
        "unpricedCalls": 1,
    }


def test_usage_days_are_the_owners_local_days(env, db):
    agent = create_agent(key="usage")
    # 09:30 in Sydney on the 20th is 22:30 UTC on the 19th
    seed(db, agent, sydney("2026-11-20T09:30"))
    query = {"from": "2026-11-19", "to": "2026-11-20"}

    in_sydney = by_date(json_body(usage(agent["id"], **query, timezone="Australia/Sydney")))
    in_utc = by_date(json_body(usage(agent["id"], **query)))

    assert (in_sydney["2026-11-19"]["calls"], in_sydney["2026-11-20"]["calls"]) == (0, 1)
    assert (in_utc["2026-11-19"]["calls"], in_utc["2026-11-20"]["calls"]) == (1, 0)


def test_usage_covers_the_last_30_days_by_default(env):
    agent = create_agent(key="usage")

    before = datetime.now(UTC).date()
    answer = json_body(usage(agent["id"]))
    today = before if answer["to"] == str(before) else datetime.now(UTC).date()  # across midnight UTC

    assert (answer["from"], answer["to"]) == (str(today - timedelta(days=29)), str(today))
    assert [day["date"] for day in answer["days"]][-1] == str(today) and len(answer["days"]) == 30
    # The number bought today costs today's share only
    assert [day["numberCents"] > 0 for day in answer["days"]] == [False] * 29 + [True]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"from": "2026-11-05", "to": "2026-11-04"}, "from"),
        ({"from": "2026-01-01", "to": "2026-11-04"}, "from"),
        ({"from": "2026-11-31"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"timezone": "Sydney"}, "timezone"),
    ],
)
def test_usage_refuses_what_it_cannot_read(env, query, parameter):
    agent = create_agent(key="usage")
    assert refused(usage(agent["id"], **query)) == parameter


def test_usage_is_the_owners_only(env, db):
    agent = create_agent(key="usage")
    seed(db, agent, sydney("2026-11-20T09:30"))

    assert usage(agent["id"], owner="someone-else")["statusCode"] == 404
    assert usage(str(ObjectId()))["statusCode"] == 404
    assert invoke("delete_agent", http_event("delete_agent.json", agent_id=agent["id"]))["statusCode"] == 200
    assert usage(agent["id"])["statusCode"] == 404
