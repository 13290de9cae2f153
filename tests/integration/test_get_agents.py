"""GET /api/agents and GET /api/agents/{agentId}: the owner's agents, newest first, paginated."""

from __future__ import annotations

import json

import pytest
from bson import ObjectId

from local.invoke import create_active_agent, http_event, invoke, json_body

pytestmark = pytest.mark.integration


def list_agents(query: dict[str, str], owner: str | None = None) -> dict:
    return invoke("get_agents", http_event("get_agents.json", query=query, owner=owner))


def test_pages_through_the_owners_agents_newest_first(env, db):
    # Given three agents of one owner and one of another
    created = [
        create_active_agent(http_event("create_agent.json", headers={"idempotency-key": f"key-{n}"}))
        for n in range(3)
    ]
    create_active_agent(http_event("create_agent.json", owner="someone-else"))

    # When the owner lists two at a time
    first = json_body(list_agents({"limit": "2"}))
    second = json_body(list_agents({"limit": "2", "cursor": first["nextCursor"]}))

    # Then the pages hold exactly the owner's agents, newest first, and the last page ends the list
    ids = [agent["id"] for agent in first["items"] + second["items"]]
    assert ids == [agent["id"] for agent in reversed(created)]
    assert len(first["items"]) == 2 and first["nextCursor"]
    assert second["nextCursor"] is None


def test_another_owners_agent_is_not_found(env, db):
    agent = create_active_agent()

    response = invoke("get_agents", http_event("get_agent.json", agent_id=agent["id"], owner="someone-else"))

    assert response["statusCode"] == 404
    assert json_body(response)["error"] == "not_found"


@pytest.mark.parametrize(
    ("query", "field"), [({"cursor": "not-a-cursor"}, "cursor"), ({"limit": "0"}, "limit")]
)
def test_a_bad_page_request_names_the_parameter(env, db, query, field):
    response = list_agents(query)

    assert response["statusCode"] == 400
    assert field in json_body(response)["message"]


def test_a_record_of_an_older_shape_never_breaks_the_owners_list(env, db):
    # Given an active agent, and beside it records of older shapes: fields missing, of other
    # types, and an unknown status
    agent = create_active_agent()
    owner = db.agents.find_one({"_id": ObjectId(agent["id"])})["ownerId"]
    old_shapes = [
        {"ownerId": owner, "status": "active"},
        {"ownerId": owner, "status": "failed", "name": 7, "prompt": ["x"], "failure": "journal"},
        {"ownerId": owner, "status": "retired", "name": "Old", "createdAt": "last year"},
    ]
    db.agents.insert_many(old_shapes)

    # When the owner lists their agents and reads each one
    response = invoke("get_agents", http_event("get_agents.json"))
    page = json.loads(response["body"])
    reads = [
        invoke("get_agents", http_event("get_agent.json", agent_id=item["id"])) for item in page["items"]
    ]

    # Then every record shows, the unknown status as failed, and nothing answers 500
    assert response["statusCode"] == 200
    assert len(page["items"]) == 4
    assert [read["statusCode"] for read in reads] == [200] * 4
    assert [json.loads(read["body"]) for read in reads] == page["items"]
    assert sorted((item["status"], str(item["failedStep"])) for item in page["items"]) == [
        ("active", "None"), ("active", "None"), ("failed", "None"), ("failed", "unknown_status"),
    ]  # fmt: skip
