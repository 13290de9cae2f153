"""Finding calls on the local stack: GET /api/agents/{agentId}/calls and GET /api/calls filtered by
status, days in the owner's time zone, caller and a post-call answer, alone and together, paged by
cursor, refused with a 400 naming the filter, owner-scoped, and answered as CSV on request."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from bson import ObjectId

from local.invoke import http_event, invoke, json_body
from tests.integration import test_call_history as history_tests
from tests.integration.test_call_history import analyzed, send
from tests.integration.test_call_insights import ANSWERS, whole
from tests.integration.test_post_call_fields import FIELDS
from tests.integration.test_twilio_webhook import CALL_SID, dialled_sip, signed_event
from voice_agents.core.statuses import CallStatus
from voice_agents.data.calls import PROGRESS, CallCost, CallFacts, CallStore
from voice_agents.flows.history import export

pytestmark = pytest.mark.integration

OWNER = history_tests.OWNER
CALLER = "+61412345678"
OTHER_CALLER = "+61298765432"
SYDNEY = ZoneInfo("Australia/Sydney")
# Calls are kept this long from these fixed moments, so the test holds whatever today is.
KEPT = timedelta(days=3650)


def create_agent(
    owner: str = OWNER, fields: list[dict[str, Any]] | None = None, key: str = "a"
) -> dict[str, Any]:
    body = json.loads(http_event("create_agent.json")["body"])
    if fields is not None:
        body["postCallFields"] = fields
    event = http_event("create_agent.json", body=body, owner=owner, headers={"idempotency-key": key})
    response = invoke("create_agent", event)
    assert response["statusCode"] == 201, response["body"]
    return dict(json_body(response))


@pytest.fixture
def agent(env) -> dict[str, Any]:
    return create_agent(fields=FIELDS, key="first")


_sids = iter(range(1, 10**6))


def seed(
    db: Any,
    agent: dict[str, Any],
    at: datetime,
    *,
    caller: str = CALLER,
    status: CallStatus = CallStatus.ENDED,
    answers: dict[str, Any] | None = None,
    owner: str = OWNER,
    summary: str | None = None,
) -> str:
    """A call of ``agent`` that came in at ``at``, as the webhook and Retell's events leave it."""
    sid = f"CA{next(_sids):032x}"
    calls = CallStore(db.calls)
    calls.remember(
        sid,
        retell_call_id=f"call_{sid}",
        agent_id=ObjectId(agent["id"]),
        owner_id=owner,
        from_number=caller,
        to_number=agent["phoneNumber"],
        moment=at,
        retention=KEPT,
    )
    facts = CallFacts(
        post_call_answers=answers, summary=summary, duration_ms=72_500, cost=CallCost(total_cents=14)
    )
    calls.apply_event(f"call_{sid}", call_sid=sid, progress=PROGRESS[status], facts=facts, moment=at)
    return sid


def calls(agent_id: str | None = None, owner: str = OWNER, **query: str) -> dict[str, Any]:
    """The answer of the agent's calls route (or, without an agent, of GET /api/calls)."""
    if agent_id is None:
        return invoke("get_agents", http_event("list_all_calls.json", owner=owner, query=query))
    return invoke("get_agents", http_event("list_calls.json", agent_id=agent_id, owner=owner, query=query))


def sids(agent_id: str | None = None, **query: str) -> list[str]:
    response = calls(agent_id, **query)
    assert response["statusCode"] == 200, response["body"]
    return [item["callSid"] for item in json_body(response)["items"]]


def refused(response: dict[str, Any]) -> str:
    """The parameter a 400 names."""
    assert response["statusCode"] == 400, response["body"]
    body = json.loads(response["body"])
    assert body["error"] == "validation_error"
    return str(body["fields"][0]["field"]).removeprefix("query.")


def sydney(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SYDNEY).astimezone(UTC)


# --- each filter alone ------------------------------------------------------------------------------


def test_status_finds_only_the_calls_of_that_status(env, db, agent):
    ended = seed(db, agent, sydney("2026-11-20T10:00"))
    live = seed(db, agent, sydney("2026-11-20T11:00"), status=CallStatus.ONGOING)
    missed = seed(db, agent, sydney("2026-11-20T12:00"), status=CallStatus.NOT_CONNECTED)

    assert sids(agent["id"], status="ended") == [ended]
    assert sids(agent["id"], status="ongoing") == [live]
    assert sids(agent["id"], status="not_connected") == [missed]
    assert sids(agent["id"]) == [missed, live, ended]


def test_caller_finds_the_callers_calls_written_as_people_write_numbers(env, db, agent):
    mine = seed(db, agent, sydney("2026-11-20T10:00"))
    seed(db, agent, sydney("2026-11-20T11:00"), caller=OTHER_CALLER)

    assert sids(agent["id"], caller="+61 412 345 678") == [mine]
    # A "+" sent unencoded arrives as a space
    assert sids(agent["id"], caller=" 61412345678") == [mine]
    assert sids(agent["id"], caller="+61412000000") == []


def test_a_field_answer_is_matched_as_the_fields_type(env, db, agent):
    booked = seed(
        db, agent, sydney("2026-11-20T10:00"), answers={"appointment_booked": True, "party_size": 2}
    )
    other = seed(
        db, agent, sydney("2026-11-20T11:00"), answers={"appointment_booked": False, "reason": "billing"}
    )
    named = seed(
        db, agent, sydney("2026-11-20T12:00"), answers={"caller_name": "Sam O'Neil", "party_size": 2.5}
    )

    assert sids(agent["id"], field="appointment_booked:true") == [booked]
    assert sids(agent["id"], field="appointment_booked:FALSE") == [other]
    assert sids(agent["id"], field="party_size:2.0") == [booked]  # 2 and 2.0 are one number
    assert sids(agent["id"], field="party_size:2.50") == [named]
    assert sids(agent["id"], field="reason:billing") == [other]
    assert sids(agent["id"], field="caller_name:Sam O'Neil") == [named]
    assert sids(agent["id"], field="caller_name:sam o'neil") == []  # text matches exactly


def test_an_answer_from_retells_event_is_found(env, db, agent):
    # Given a call the webhook registered and Retell analysed, answering the agent's fields
    dialled_sip(invoke("twilio_webhook", signed_event(agent)))
    [registered] = env.retell.calls_registered.values()
    assert send(whole(analyzed(registered["call_id"])))["statusCode"] == 204

    # Then each answer finds it, and another answer does not
    assert ANSWERS["reason"] == "booking"
    assert sids(agent["id"], field="reason:booking") == [CALL_SID]
    assert sids(agent["id"], field="party_size:2") == [CALL_SID]
    assert sids(agent["id"], field="reason:other") == []


# --- days in the owner's time zone -----------------------------------------------------------------


def test_from_and_to_are_whole_days_in_the_time_zone_asked_for(env, db, agent):
    late = seed(db, agent, sydney("2026-11-24T23:59:59"))
    midnight = seed(db, agent, sydney("2026-11-25T00:00:00"))
    last = seed(db, agent, sydney("2026-11-25T23:59:59"))
    seed(db, agent, sydney("2026-11-26T00:00:00"))

    assert sids(
        agent["id"], **{"from": "2026-11-25", "to": "2026-11-25", "timezone": "Australia/Sydney"}
    ) == [
        last,
        midnight,
    ]
    assert sids(agent["id"], to="2026-11-24", timezone="Australia/Sydney") == [late]
    # The same days in UTC (the default) are 11 hours later: Sydney's 24th late evening is UTC's 24th
    assert sids(agent["id"], **{"from": "2026-11-24", "to": "2026-11-24"}) == [midnight, late]


def test_a_day_across_daylight_saving_is_25_hours_long(env, db, agent):
    # Sydney leaves daylight saving at 03:00 on 5 April 2026 (clocks go back to 02:00)
    first = seed(db, agent, sydney("2026-04-05T00:30"))
    repeated = seed(db, agent, datetime(2026, 4, 5, 2, 30, tzinfo=SYDNEY, fold=1).astimezone(UTC))
    last = seed(db, agent, sydney("2026-04-05T23:30"))
    seed(db, agent, sydney("2026-04-06T00:00"))
    seed(db, agent, sydney("2026-04-04T23:59:59"))

    day = {"from": "2026-04-05", "to": "2026-04-05", "timezone": "Australia/Sydney"}
    assert sids(agent["id"], **day) == [last, repeated, first]


# --- together, and paged ----------------------------------------------------------------------------


def test_filters_combine_and_page_by_cursor(env, db, agent):
    # Given calls that pass every filter, and calls that each miss exactly one
    start = sydney("2026-11-10T09:00")
    matching = [
        seed(db, agent, start + timedelta(hours=hour), answers={"appointment_booked": True})
        for hour in range(5)
    ]
    seed(db, agent, start, caller=OTHER_CALLER, answers={"appointment_booked": True})
    seed(db, agent, start, status=CallStatus.ONGOING, answers={"appointment_booked": True})
    seed(db, agent, start, answers={"appointment_booked": False})
    seed(db, agent, start + timedelta(days=2), answers={"appointment_booked": True})

    # When the owner reads them two at a time with every filter
    query = {
        "status": "ended",
        "caller": CALLER,
        "field": "appointment_booked:true",
        "from": "2026-11-10",
        "to": "2026-11-10",
        "timezone": "Australia/Sydney",
    }
    pages, cursor = [], None
    while True:
        page = json_body(calls(agent["id"], limit="2", **query, **({"cursor": cursor} if cursor else {})))
        pages.append([item["callSid"] for item in page["items"]])
        cursor = page["nextCursor"]
        if cursor is None:
            break

    # Then only the matching calls come, newest first, each once
    assert pages == [matching[4:2:-1], matching[2:0:-1], matching[:1]]


# --- refused ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"status": "finished"}, "status"),
        ({"from": "2026-13-01"}, "from"),
        ({"from": "25/11/2026"}, "from"),
        ({"to": "2026-02-30"}, "to"),
        ({"from": "1999-12-31"}, "from"),
        ({"from": "2026-11-26", "to": "2026-11-25"}, "from"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "localtime"}, "timezone"),
        ({"caller": "not a number"}, "caller"),
        ({"caller": "0412345678"}, "caller"),
        ({"field": "appointment_booked"}, "field"),
        ({"field": "Booked:true"}, "field"),
        ({"field": "not_asked:x"}, "field"),
        ({"field": "appointment_booked:maybe"}, "field"),
        ({"field": "party_size:two"}, "field"),
        ({"field": "party_size:1e999999999"}, "field"),
        ({"field": "reason:holiday"}, "field"),
        ({"format": "xml"}, "format"),
        ({"cursor": "zz"}, "cursor"),
    ],
)
def test_a_filter_that_cannot_be_read_is_a_400_naming_it(env, agent, query, parameter):
    assert refused(calls(agent["id"], **query)) == parameter
    assert refused(calls(None, **query)) == parameter


# --- every agent's calls, and whose they are ---------------------------------------------------------


def test_the_owners_list_merges_every_agents_calls_and_no_one_elses(env, db, agent):
    second = create_agent(
        fields=[{"name": "party_size", "type": "string", "description": "Who came."}], key="b"
    )
    stranger = create_agent(owner="someone-else", key="c")
    first_call = seed(db, agent, sydney("2026-11-20T10:00"), answers={"party_size": 2})
    second_call = seed(db, second, sydney("2026-11-20T11:00"), answers={"party_size": "2"})
    seed(db, stranger, sydney("2026-11-20T12:00"), owner="someone-else")

    assert sids() == [second_call, first_call]
    # A name that is a number for one agent and text for another matches both as written
    assert sids(field="party_size:2") == [second_call, first_call]
    # The stranger sees only theirs, and nobody reads another's agent
    assert [item["agentId"] for item in json_body(calls(owner="someone-else"))["items"]] == [stranger["id"]]
    assert calls(agent["id"], owner="someone-else")["statusCode"] == 404
    # A filter on a field only the other owner's agents ask is refused, not answered empty
    assert refused(calls(owner="someone-else", field="party_size:2")) == "field"


def test_a_deleted_agents_calls_leave_the_owners_list_as_they_leave_its_own(env, db, agent):
    second = create_agent(key="b")
    kept = seed(db, agent, sydney("2026-11-20T10:00"))
    seed(db, second, sydney("2026-11-20T11:00"))

    deleted = invoke("delete_agent", http_event("delete_agent.json", agent_id=second["id"]))
    assert deleted["statusCode"] == 200, deleted["body"]

    assert sids() == [kept]
    assert calls(second["id"])["statusCode"] == 404


def test_an_owner_without_agents_has_no_calls(env):
    assert sids() == []


# --- CSV ----------------------------------------------------------------------------------------------


def rows(response: dict[str, Any]) -> list[dict[str, str]]:
    assert response["statusCode"] == 200, response["body"]
    assert response["headers"]["Content-Type"] == "text/csv; charset=utf-8"
    assert response["headers"]["Content-Disposition"] == 'attachment; filename="calls.csv"'
    assert "\r\n" in response["body"]
    return list(csv.DictReader(io.StringIO(response["body"], newline="")))


def csv_calls(agent_id: str | None = None, **query: str) -> dict[str, Any]:
    return calls(agent_id, format="csv", **query)


def test_csv_has_a_column_per_post_call_field_and_local_times(env, db, agent):
    sid = seed(
        db,
        agent,
        sydney("2026-11-20T10:00"),
        answers={"appointment_booked": True, "party_size": 2.0, "reason": "booking"},
        summary='Booked a table, for two.\nThen said "thanks".',
    )

    [row] = rows(csv_calls(agent["id"], timezone="Australia/Sydney"))

    assert list(row) == [*export.COLUMNS, *(f"answer.{field['name']}" for field in FIELDS)]
    assert row["callSid"] == sid and row["agentId"] == agent["id"]
    assert row["registeredAt"] == "2026-11-20T10:00:00+11:00"
    assert (row["status"], row["durationSeconds"], row["retellCostCents"], row["retellCurrency"]) == (
        "ended",
        "72.5",
        "14",
        "USD",
    )
    assert row["summary"] == 'Booked a table, for two.\nThen said "thanks".'
    assert (row["answer.appointment_booked"], row["answer.party_size"], row["answer.reason"]) == (
        "true",
        "2",
        "booking",
    )
    assert row["answer.caller_name"] == "" and row["twilioCostCents"] == ""


def test_csv_cells_a_spreadsheet_would_run_start_with_a_quote(env, db, agent):
    seed(
        db,
        agent,
        sydney("2026-11-20T10:00"),
        answers={"caller_name": '=HYPERLINK("http://x","y")', "party_size": -1},
        summary="@SUM(A1:A2)",
    )

    [row] = rows(csv_calls(agent["id"]))

    assert row["answer.caller_name"] == '\'=HYPERLINK("http://x","y")'
    assert row["answer.party_size"] == "'-1"
    assert row["summary"] == "'@SUM(A1:A2)"
    assert row["from"] == "'" + CALLER


def test_csv_across_agents_has_the_union_of_their_fields(env, db, agent):
    other_fields = [{"name": "complaint", "type": "boolean", "description": "Whether they complained."}]
    second = create_agent(fields=[*other_fields, FIELDS[0]], key="b")
    seed(db, agent, sydney("2026-11-20T10:00"), answers={"caller_name": "Sam"})
    seed(db, second, sydney("2026-11-20T11:00"), answers={"complaint": True})

    response = invoke(
        "get_agents",
        http_event("list_all_calls.json", query={}, headers={"accept": "text/csv"}),
    )
    second_row, first_row = rows(response)

    answer_columns = [name for name in second_row if name.startswith("answer.")]
    assert answer_columns == [
        "answer.complaint",
        "answer.appointment_booked",
        "answer.reason",
        "answer.party_size",
        "answer.caller_name",
    ]
    assert (second_row["answer.complaint"], first_row["answer.caller_name"]) == ("true", "Sam")


@pytest.mark.parametrize(
    ("accept", "is_csv"),
    [
        ("text/csv", True),
        ("text/csv, */*;q=0.5", True),
        ("text/*", True),
        ("application/json", False),
        ("*/*", False),
        ("application/json, text/csv", False),
        ("text/csv;q=0.2, application/json", False),
    ],
)
def test_accept_chooses_csv_or_json(env, agent, accept, is_csv):
    event = http_event("list_calls.json", agent_id=agent["id"], query={}, headers={"accept": accept})
    response = invoke("get_agents", event)
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"].startswith("text/csv" if is_csv else "application/json")
    # format wins over Accept
    event["queryStringParameters"] = {"format": "json"}
    assert invoke("get_agents", event)["headers"]["Content-Type"] == "application/json"


def test_csv_past_its_cap_names_the_cursor_of_the_rest(env, db, agent, monkeypatch):
    monkeypatch.setattr(export, "MAX_ROWS", 2)
    start = sydney("2026-11-20T10:00")
    made = [seed(db, agent, start + timedelta(minutes=minute)) for minute in range(5)]

    parts, cursor = [], None
    while True:
        response = csv_calls(agent["id"], **({"cursor": cursor} if cursor else {}))
        parts.append([row["callSid"] for row in rows(response)])
        cursor = response["headers"].get("X-Next-Cursor")
        if cursor is None:
            break

    assert parts == [made[4:2:-1], made[2:0:-1], made[:1]]


def test_csv_is_cut_before_lambdas_answer_limit(env, db, agent, monkeypatch):
    # Non-ASCII text counts as Lambda sends it (escaped): 300 characters of it weigh 1,800 bytes
    monkeypatch.setattr(export, "MAX_BYTES", 3_000)
    start = sydney("2026-11-20T10:00")
    made = [seed(db, agent, start + timedelta(minutes=minute), summary="é" * 300) for minute in range(3)]

    first = csv_calls(agent["id"])
    assert [row["callSid"] for row in rows(first)] == [made[2]]
    second = csv_calls(agent["id"], cursor=first["headers"]["X-Next-Cursor"])
    assert [row["callSid"] for row in rows(second)] == [made[1]]
