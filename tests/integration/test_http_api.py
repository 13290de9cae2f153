"""The local HTTP API (local/http_api.py) over real HTTP: the routes of template.yaml, the JWT
authorizer's 401 before any handler runs, payload v2 events shaped like events/*.json, and the whole
create / read / call / delete flow against the local stack."""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from twilio.request_validator import RequestValidator

from local.api.routing import RouteTable
from local.api.server import LocalHttpApi
from local.api.tokens import local_token
from local.fakes.control import FakeControl
from local.invoke import ROOT, handler_module
from local.sample_events import load_event
from local.stack import TWILIO_AUTH_TOKEN
from voice_agents import runtime

pytestmark = pytest.mark.integration

OWNER = "user-1234-owner"
CREATE_BODY = json.loads(load_event("create_agent.json")["body"])
# The README's API table: eight API functions, twenty-two routes; only the provider callbacks and the
# health route go without a JWT.
DESIGNED_ROUTES = {
    ("POST", "/api/agents", "create_agent", "JwtAuthorizer"),
    ("GET", "/api/agents", "get_agents", "JwtAuthorizer"),
    ("GET", "/api/phone-number-options", "get_agents", "JwtAuthorizer"),
    ("GET", "/api/agents/{agentId}", "get_agents", "JwtAuthorizer"),
    ("DELETE", "/api/agents/{agentId}", "delete_agent", "JwtAuthorizer"),
    ("PATCH", "/api/agents/{agentId}", "update_agent", "JwtAuthorizer"),
    ("POST", "/api/webhooks/twilio/{agentId}", "twilio_webhook", None),
    ("GET", "/api/agents/{agentId}/calls", "get_agents", "JwtAuthorizer"),
    ("POST", "/api/webhooks/retell", "retell_webhook", None),
    ("POST", "/api/webhooks/twilio/{agentId}/dial-status", "twilio_webhook", None),
    ("POST", "/api/webhooks/twilio/{agentId}/recording", "twilio_webhook", None),
    ("POST", "/api/webhooks/twilio/{agentId}/fallback", "twilio_fallback", None),
    ("POST", "/api/tools/transfer", "retell_webhook", None),
    ("GET", "/api/agents/{agentId}/calls/{callSid}", "get_agents", "JwtAuthorizer"),
    ("GET", "/api/agents/{agentId}/calls/{callSid}/recording", "get_agents", "JwtAuthorizer"),
    ("GET", "/api/agents/{agentId}/calls/{callSid}/conversation-recording", "get_agents", "JwtAuthorizer"),
    ("GET", "/api/agents/{agentId}/calls/{callSid}", "get_agents", "JwtAuthorizer"),
    ("GET", "/api/agents/{agentId}/usage", "get_agents", "JwtAuthorizer"),
    ("GET", "/api/calls", "get_agents", "JwtAuthorizer"),
    ("GET", "/api/webhooks/health", "twilio_webhook", None),
    ("GET", "/api/notifications", "notifications", "JwtAuthorizer"),
    ("PUT", "/api/notifications", "notifications", "JwtAuthorizer"),
    ("POST", "/api/notifications/secret", "notifications", "JwtAuthorizer"),
    ("POST", "/api/notifications/test", "notifications", "JwtAuthorizer"),
}


def bearer(sub: str = OWNER) -> dict[str, str]:
    return {"Authorization": f"Bearer {local_token(sub)}"}


def create(client: httpx.Client, sub: str = OWNER) -> dict[str, Any]:
    response = client.post("/api/agents", json=CREATE_BODY, headers=bearer(sub))
    assert response.status_code == 201, response.text
    return dict(response.json())


def spy_on(monkeypatch: pytest.MonkeyPatch, function: str) -> list[dict[str, Any]]:
    """Record the events a function's handler receives; the real handler still answers."""
    module = handler_module(function)
    real: Callable[[dict[str, Any], Any], Any] = module.lambda_handler
    events: list[dict[str, Any]] = []

    def recording(event: dict[str, Any], context: Any) -> Any:
        events.append(event)
        return real(event, context)

    monkeypatch.setattr(module, "lambda_handler", recording)
    return events


def twilio_params(agent: dict[str, Any]) -> dict[str, str]:
    return {"CallSid": "CA" + "7" * 32, "AccountSid": "AC" + "0" * 32, "From": "+61298765432",
            "To": agent["phoneNumber"], "CallStatus": "ringing", "Direction": "inbound",
            "ApiVersion": "2010-04-01", "FromCity": "", "ToZip": ""}  # fmt: skip


# ---------------------------------------------------------------- routes


def test_routes_are_read_from_the_template(server):
    served = {(r.method, r.path, r.function, r.authorizer) for r in server.routes}

    assert served == DESIGNED_ROUTES
    timeouts = {r.logical_id: r.timeout_seconds for r in server.routes}
    assert timeouts == {
        "CreateAgentFunction": 28,
        "GetAgentsFunction": 10,
        "DeleteAgentFunction": 28,
        "UpdateAgentFunction": 28,
        "TwilioWebhookFunction": 10,
        "TwilioFallbackFunction": 5,
        "RetellWebhookFunction": 8,
        "NotificationsFunction": 15,
    }


def test_a_route_moved_in_the_template_is_served_where_it_moved(tmp_path: Path):
    # Given a template whose create route moved
    text = (ROOT / "template.yaml").read_text()
    assert text.count("Path: /api/agents\n") == 2
    moved = tmp_path / "template.yaml"
    moved.write_text(text.replace("Method: POST\n            Path: /api/agents\n", "Method: POST\n"
                                  "            Path: /api/v2/agents\n"))  # fmt: skip

    # When its route table is read
    table = RouteTable.from_template(moved)

    # Then the new path is routed and the old one is not
    matched = table.match("POST", "/api/v2/agents")
    assert matched is not None
    assert matched[0].function == "create_agent"
    assert table.match("POST", "/api/agents") is None


def test_the_scopes_a_route_requires_are_read_from_the_template(tmp_path: Path):
    # Given the template's API scope, and a copy whose authorizer requires another one
    text = (ROOT / "template.yaml").read_text()
    declared = "AuthorizationScopes: [voice-agents/agents]\n"
    assert text.count(declared) == 1
    renamed = tmp_path / "template.yaml"
    renamed.write_text(text.replace(declared, "AuthorizationScopes: [voice-agents/admin]\n"))

    # When their route tables are read
    table, other = RouteTable.from_template(), RouteTable.from_template(renamed)

    # Then every route behind the JWT authorizer requires the declared scope, and the webhooks none
    for route in table.routes:
        assert route.authorization_scopes == (("voice-agents/agents",) if route.authorizer else ())
    assert other.scopes == ("voice-agents/admin",)


def test_it_refuses_to_listen_beyond_loopback():
    # Tokens are not verified locally: on another interface anyone could act as any user.
    with pytest.raises(ValueError, match="loopback"):
        LocalHttpApi(host="0.0.0.0")


def test_an_unknown_route_is_404_without_calling_a_handler(client, monkeypatch):
    calls = spy_on(monkeypatch, "get_agents")

    # Methods http.server knows no handler for (TRACE, CONNECT, made-up ones) too: API Gateway routes
    # them like any other, so they are a 404, not a 501.
    for method, path in [("GET", "/api/nothing"), ("PUT", "/api/agents"), ("GET", "/api/agents/a/b"),
                         ("TRACE", "/api/agents"), ("PROPFIND", "/api/agents"), ("QUERY", "/")]:  # fmt: skip
        response = client.request(method, path, headers=bearer())
        assert response.status_code == 404, (method, path)
        assert response.json() == {"message": "Not Found"}
    assert calls == []


def test_the_health_route_names_the_deployment_without_a_token_or_the_database(client, env, monkeypatch):
    # Given a deployment whose database cannot be reached
    monkeypatch.setenv("MONGODB_URI", "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=200")
    monkeypatch.setenv("RESOURCE_TAG", "va-health")
    runtime.reset()

    # When its health route is asked, without a token or a signature
    response = client.get("/api/webhooks/health")

    # Then it answers which deployment it is, and nothing a cache may keep for another
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "resourceTag": "va-health"}
    assert response.headers["cache-control"] == "no-store"


def test_the_health_route_of_a_deployment_whose_settings_are_broken_is_503(client, monkeypatch):
    monkeypatch.setenv("RETELL_TIMEOUT_SECONDS", "soon")
    runtime.reset()

    response = client.get("/api/webhooks/health")

    assert response.status_code == 503 and response.json() == {"status": "misconfigured"}


def test_the_dashboard_reads_the_phone_number_options_and_creates_in_one(client, env):
    # Given the options the local stack offers, read with the dashboard's token
    assert client.get("/api/phone-number-options").status_code == 401
    options = client.get("/api/phone-number-options", headers=bearer()).json()["options"]
    assert options[0] == {"country": "AU", "numberType": "mobile", "default": True}
    gb_mobile = {"country": "GB", "numberType": "mobile"}
    assert {**gb_mobile, "default": False} in options

    # When one is chosen, Then the agent holds a number of that pair
    response = client.post("/api/agents", json={**CREATE_BODY, **gb_mobile}, headers=bearer())
    assert response.status_code == 201, response.text
    assert {name: response.json()[name] for name in gb_mobile} == gb_mobile
    assert response.json()["phoneNumber"].startswith("+447")


# ---------------------------------------------------------------- auth


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": f"Bearer {local_token(OWNER, exp=int(time.time()) - 60)}"},
    ],
    ids=["no token", "not a JWT", "expired"],
)
def test_without_a_usable_token_the_answer_is_401_and_no_handler_runs(client, env, monkeypatch, headers):
    calls = spy_on(monkeypatch, "create_agent")

    response = client.post("/api/agents", json=CREATE_BODY, headers=headers)

    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}
    assert calls == []
    assert env.twilio.owned == {}
    assert env.retell.agents == {}
    assert client.get("/api/agents", headers=bearer()).json()["items"] == []


@pytest.mark.parametrize(
    "token",
    [
        # What Cognito's ID token is: its audience is the app client, and it has no scope claim
        local_token(OWNER, token_use="id", scope=None, aud="the-app-client"),
        # An access token without the API's scope (what an SRP sign-in is given)
        local_token(OWNER, scope="aws.cognito.signin.user.admin"),
        local_token(OWNER, scope="openid email"),
        local_token(OWNER, scope=""),
    ],
    ids=["ID token", "SRP access token", "openid email only", "empty scope"],
)
def test_a_token_without_the_api_scope_is_403_and_no_handler_runs(client, env, monkeypatch, token):
    creates, lists = spy_on(monkeypatch, "create_agent"), spy_on(monkeypatch, "get_agents")

    created = client.post("/api/agents", json=CREATE_BODY, headers={"Authorization": f"Bearer {token}"})
    listed = client.get("/api/agents", headers={"Authorization": f"Bearer {token}"})

    for refused in (created, listed):
        assert refused.status_code == 403
        assert refused.json() == {"message": "Forbidden"}
    assert creates == lists == []
    assert env.twilio.owned == {}


def test_an_access_token_with_the_api_scope_reaches_the_handler_with_its_scopes(client, monkeypatch):
    events = spy_on(monkeypatch, "get_agents")
    # Cognito's code flow grants what the client asked for: the OIDC scopes and the API's, as a
    # space-separated `scope` claim (and as a list: the `scp` form other issuers use)
    for scoped in (
        local_token(OWNER, scope="openid email voice-agents/agents"),
        local_token(OWNER, scope=None, scp=["voice-agents/agents"]),
    ):
        response = client.get("/api/agents", headers={"Authorization": f"Bearer {scoped}"})
        assert response.status_code == 200, response.text

    assert [event["requestContext"]["authorizer"]["jwt"]["scopes"] for event in events] == [
        ["openid", "email", "voice-agents/agents"],
        ["voice-agents/agents"],
    ]


# ---------------------------------------------------------------- the flow


def test_create_list_get_and_another_owner(client, server):
    agent = create(client)

    assert agent["status"] == "active"
    assert agent["webhookUrl"] == f"{server.base_url}/api/webhooks/twilio/{agent['id']}"
    listed = client.get("/api/agents", headers=bearer())
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["items"]] == [agent["id"]]
    fetched = client.get(f"/api/agents/{agent['id']}", headers=bearer())
    assert fetched.status_code == 200
    assert fetched.json() == agent
    assert client.get(f"/api/agents/{agent['id']}", headers=bearer("someone-else")).status_code == 404
    assert client.get("/api/agents", headers=bearer("someone-else")).json()["items"] == []


def test_a_signed_twilio_call_is_connected_and_a_forged_one_refused(client, env):
    agent = create(client)
    params = twilio_params(agent)
    signature = RequestValidator(TWILIO_AUTH_TOKEN).compute_signature(agent["webhookUrl"], params)
    path = urllib.parse.urlsplit(agent["webhookUrl"]).path

    answered = client.post(path, data=params, headers={"X-Twilio-Signature": signature})

    assert answered.status_code == 200, answered.text
    assert answered.headers["content-type"].startswith("text/xml")
    assert "<Sip>" in answered.text
    assert len(env.retell.calls_registered) == 1
    forged = client.post(path, data=params, headers={"X-Twilio-Signature": "Zm9yZ2Vk"})
    assert forged.status_code == 403


def test_a_call_from_ring_to_hang_up_shows_ended_with_its_duration(client, env):
    # Given an agent whose Retell agent sends its call events to this API
    agent = create(client)
    [retell_agent] = env.retell.agents.values()
    assert retell_agent["webhook_url"] == f"{client.base_url}/api/webhooks/retell"
    # And a caller it took: Twilio's signed webhook registered the call with Retell
    params = twilio_params(agent)
    signature = RequestValidator(TWILIO_AUTH_TOKEN).compute_signature(agent["webhookUrl"], params)
    path = urllib.parse.urlsplit(agent["webhookUrl"]).path
    assert client.post(path, data=params, headers={"X-Twilio-Signature": signature}).status_code == 200
    [call_id] = env.retell.calls_registered

    # When the caller hangs up after 300 ms: Retell sends call_started, call_ended, call_analyzed
    with FakeControl(env.retell.base_url) as retell:
        retell.end_call(call_id, 300)
    calls_path = f"/api/agents/{agent['id']}/calls"
    deadline = time.monotonic() + 15
    while True:
        [call] = client.get(calls_path, headers=bearer()).json()["items"]
        # Retell records a delivery once it has the answer, which comes after the record's write.
        answered = len(env.retell.event_deliveries) == 3
        if (call["summary"] is not None and answered) or time.monotonic() > deadline:
            break
        time.sleep(0.1)

    # Then each signed event was accepted once, and the history shows the call ended, with its duration
    delivered = [(each["event"], each["status"]) for each in env.retell.event_deliveries]
    assert delivered == [("call_started", 204), ("call_ended", 204), ("call_analyzed", 204)]
    assert (call["callSid"], call["retellCallId"], call["status"]) == (params["CallSid"], call_id, "ended")
    assert call["durationMs"] >= 300
    assert call["disconnectionReason"] == "user_hangup"
    assert call["sentiment"] == "Positive"
    # And another owner cannot read it
    assert client.get(calls_path, headers=bearer("someone-else")).status_code == 404


def test_delete_releases_the_agent(client, env):
    agent = create(client)

    response = client.delete(f"/api/agents/{agent['id']}", headers=bearer())

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "deleted"
    assert env.twilio.owned == {}


def test_an_update_from_the_dashboard_reads_and_sends_the_etag(client, env):
    origin = "http://localhost:5173"
    agent = create(client)
    preflight = client.options(
        f"/api/agents/{agent['id']}",
        headers={"Origin": origin, "Access-Control-Request-Method": "PATCH"},
    )
    assert "PATCH" in preflight.headers["access-control-allow-methods"]
    assert "if-match" in preflight.headers["access-control-allow-headers"]
    read = client.get(f"/api/agents/{agent['id']}", headers={**bearer(), "Origin": origin})
    exposed = read.headers["access-control-expose-headers"].split(",")
    assert {"ETag", "X-Next-Cursor"} <= set(exposed)  # a browser may read them

    response = client.patch(
        f"/api/agents/{agent['id']}",
        json={"name": "Renamed"},
        headers={**bearer(), "Origin": origin, "If-Match": read.headers["etag"]},
    )

    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Renamed" and response.headers["etag"] != read.headers["etag"]
    stale = client.patch(
        f"/api/agents/{agent['id']}",
        json={"name": "Again"},
        headers={**bearer(), "If-Match": read.headers["etag"]},
    )
    assert stale.status_code == 412


# ---------------------------------------------------------------- events and answers


def structure(event: dict[str, Any]) -> dict[str, Any]:
    """The keys of an event, nested, without headers (every request has its own) and stage variables
    (the deployed stage's; none locally)."""
    leaves = {"headers", "multiValueHeaders", "claims", "stageVariables", "queryStringParameters"}
    leaves |= {"multiValueQueryStringParameters"}
    return {
        key: structure(value) if isinstance(value, dict) and key not in leaves else None
        for key, value in event.items()
    }


def test_an_authorized_event_is_shaped_like_the_sample(client, server, monkeypatch):
    events = spy_on(monkeypatch, "get_agents")

    response = client.get("/api/agents?limit=20", headers={**bearer(), "Accept": "application/json"})

    assert response.status_code == 200
    [event] = events
    assert structure(event) == structure(load_event("get_agents.json"))
    host = urllib.parse.urlsplit(server.base_url).netloc
    assert event["routeKey"] == event["requestContext"]["routeKey"] == "GET /api/agents"
    assert (event["rawPath"], event["rawQueryString"]) == ("/api/agents", "limit=20")
    assert event["queryStringParameters"] == {"limit": "20"}
    assert event["requestContext"]["domainName"] == event["headers"]["host"] == host
    assert event["requestContext"]["stage"] == "$default"
    assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.1"
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    assert claims["sub"] == OWNER
    assert all(isinstance(value, str) for value in claims.values())  # API Gateway stringifies claims
    assert all(name == name.lower() for name in event["headers"])
    assert event["isBase64Encoded"] is False
    assert "body" not in event
    assert response.headers["apigw-requestid"] == event["requestContext"]["requestId"]


def test_a_webhook_post_arrives_as_a_rest_api_event_like_the_sample(client, monkeypatch):
    events = spy_on(monkeypatch, "twilio_webhook")

    client.post(
        "/api/webhooks/twilio/6740a1b2c3d4e5f6a7b8c9d0?leg=agent",
        data={"CallSid": "CA1", "Blank": ""},
        headers={"X-Twilio-Signature": "c2ln"},
    )

    # A REST API event (payload 1.0), as the webhook API sends: the route as declared, the path as
    # requested, the query decoded, the sender's header names, a form body as text
    [event] = events
    sample = load_event("twilio_webhook.json")
    assert structure(event) == structure(sample)
    assert "authorizer" not in event["requestContext"]
    assert (event["resource"], event["path"]) == (
        "/api/webhooks/twilio/{agentId}",
        "/api/webhooks/twilio/6740a1b2c3d4e5f6a7b8c9d0",
    )
    assert event["requestContext"]["path"] == event["path"]  # served without a stage, as sam local does
    assert event["pathParameters"] == {"agentId": "6740a1b2c3d4e5f6a7b8c9d0"}
    assert event["multiValueQueryStringParameters"] == {"leg": ["agent"]}
    assert event["headers"]["X-Twilio-Signature"] == "c2ln"
    assert event["isBase64Encoded"] is False
    assert event["body"] == "CallSid=CA1&Blank="


def test_a_handler_that_raises_is_a_502(client, monkeypatch, capfd):
    def broken(event: dict[str, Any], context: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(handler_module("get_agents"), "lambda_handler", broken)

    response = client.get("/api/agents", headers=bearer())

    assert response.status_code == 502
    assert response.json() == {"message": "Internal Server Error"}
    assert "RuntimeError: boom" in capfd.readouterr().err


def test_cors_preflight_from_the_dashboard_origin(client):
    origin = "http://localhost:5173"  # the template's CorsAllowedOrigin default

    response = client.options(
        "/api/agents", headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
    )

    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == origin
    assert "authorization" in response.headers["access-control-allow-headers"]
    simple = client.get("/api/agents", headers={**bearer(), "Origin": origin})
    assert simple.headers["access-control-allow-origin"] == origin
