"""The fake Retell and Twilio servers: spec-true bodies, state, auth, the twilio SDK, and faults.

Every success body is validated against the response schema the stored spec declares for that path,
method and status (read out of the spec files here, not copied). Error bodies are validated against
Retell's `components/responses` schemas; the Twilio spec declares no error bodies, so they are checked
against Twilio's documented error shape {code, message, more_info, status} (TWILIO_ERROR_SCHEMA).

Not in the stored Retell spec (Aug 2026):
    POST /v2/list-agents   newer than the spec (SDK 5.60+/6.x); its envelope is checked against
                           `PaginatedResponseBase` plus `items`, and each item against `AgentResponse`.
The older GET /list-agents is in the spec and is validated as the spec describes it (a bare array).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx
import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.rest import Client as TwilioClient

from local.fakes import FakeControl, FakeRetell, FakeTwilio
from tests.integration.spec_schemas import OpenApiSpec, retell_spec, twilio_spec

pytestmark = pytest.mark.integration

RETELL_KEY = "key_test"
ACCOUNT_SID = "AC" + "1234567890abcdef" * 2
AUTH_TOKEN = "token_test"
ACCOUNT = f"/2010-04-01/Accounts/{ACCOUNT_SID}"
BUNDLE_SID = "BU" + "b" * 32
ADDRESS_SID = "AD" + "d" * 32

# Spec paths (templates, as the spec files key them).
TW_MOBILE = "/2010-04-01/Accounts/{AccountSid}/AvailablePhoneNumbers/{CountryCode}/Mobile.json"
TW_LOCAL = "/2010-04-01/Accounts/{AccountSid}/AvailablePhoneNumbers/{CountryCode}/Local.json"
TW_TOLL_FREE = "/2010-04-01/Accounts/{AccountSid}/AvailablePhoneNumbers/{CountryCode}/TollFree.json"
TW_NUMBERS = "/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json"
TW_NUMBER = "/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers/{Sid}.json"
TW_NUMBER_SCHEMA = "api.v2010.account.incoming_phone_number"

TWILIO_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["code", "message", "more_info", "status"],
    "additionalProperties": False,
    "properties": {
        "code": {"type": "integer"},
        "message": {"type": "string", "minLength": 1},
        "more_info": {"type": "string", "pattern": r"^https://www\.twilio\.com/docs/errors/\d+$"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
    },
}

LLM_REQUEST = {
    "start_speaker": "agent",
    "begin_message": "Thanks for calling Northstar Heating. How can I help?",
    "general_prompt": "You are the after-hours receptionist for Northstar Heating.",
    "general_tools": [{"type": "end_call", "name": "end_call", "description": "End the call when done."}],
    "default_dynamic_variables": {"voice_agents_tag": "agent-42"},
}


# -- fixtures ------------------------------------------------------------------------------------------


class RedirectingHttpClient(TwilioHttpClient):
    """Sends the SDK's requests to the fake: keeps path and query, swaps scheme and host."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._target = urlsplit(base_url)

    def request(
        self,
        method: str,
        url: str,
        params: Any = None,
        data: Any = None,
        headers: Any = None,
        auth: Any = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        original = urlsplit(url)
        redirected = urlunsplit(
            (self._target.scheme, self._target.netloc, original.path, original.query, original.fragment)
        )
        return super().request(method, redirected, params, data, headers, auth, timeout, allow_redirects)


@pytest.fixture(scope="module")
def retell() -> Iterator[FakeRetell]:
    fake = FakeRetell(api_key=RETELL_KEY).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def fresh_fakes(retell: FakeRetell, twilio: FakeTwilio) -> None:
    retell.reset()
    twilio.reset()


@pytest.fixture
def retell_http(retell: FakeRetell) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=retell.base_url, headers={"Authorization": f"Bearer {RETELL_KEY}"}, timeout=5
    ) as client:
        yield client


@pytest.fixture
def twilio_http(twilio: FakeTwilio) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=twilio.base_url + ACCOUNT, auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5
    ) as client:
        yield client


@pytest.fixture
def twilio_sdk(twilio: FakeTwilio) -> TwilioClient:
    # environment={} keeps TWILIO_REGION/TWILIO_EDGE of the shell from rewriting the host.
    return TwilioClient(
        ACCOUNT_SID, AUTH_TOKEN, http_client=RedirectingHttpClient(twilio.base_url, timeout=5), environment={}
    )


@pytest.fixture(scope="module")
def rspec() -> OpenApiSpec:
    return retell_spec()


@pytest.fixture(scope="module")
def tspec() -> OpenApiSpec:
    return twilio_spec()


# -- helpers -------------------------------------------------------------------------------------------


def body_of(response: httpx.Response, status: int) -> Any:
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url}: {response.text}"
    )
    return response.json()


def assert_retell_error(
    rspec: OpenApiSpec, response: httpx.Response, status: int, path: str | None = None, method: str = ""
) -> dict[str, Any]:
    """The error body matches the spec's declared error response for that path (or the shared one)."""
    body = body_of(response, status)
    schema = rspec.response_schema(path, method, status) if path else rspec.named_response_schema("NotFound")
    rspec.assert_valid(body, schema)
    # The spec's error schemas require nothing, so pin the shape down too.
    assert set(body) == {"status", "message"}
    assert body["status"] == "error"
    assert body["message"]
    return dict(body)


def assert_twilio_error(
    tspec: OpenApiSpec, response: httpx.Response, status: int, code: int
) -> dict[str, Any]:
    body = body_of(response, status)
    tspec.assert_valid(body, TWILIO_ERROR_SCHEMA)
    assert (body["status"], body["code"]) == (status, code)
    assert body["more_info"].endswith(f"/{code}")
    return dict(body)


def create_llm(client: httpx.Client, **overrides: Any) -> dict[str, Any]:
    return dict(body_of(client.post("/create-retell-llm", json={**LLM_REQUEST, **overrides}), 201))


def create_agent(client: httpx.Client, llm_id: str, **overrides: Any) -> dict[str, Any]:
    request = {
        "response_engine": {"type": "retell-llm", "llm_id": llm_id},
        "voice_id": "retell-Cimo",
        "agent_name": "voice-agents:agent-42",
        **overrides,
    }
    return dict(body_of(client.post("/create-agent", json=request), 201))


def first_available(client: httpx.Client, count: int = 1) -> list[str]:
    page = body_of(client.get("/AvailablePhoneNumbers/AU/Mobile.json", params={"PageSize": count}), 200)
    return [each["phone_number"] for each in page["available_phone_numbers"]]


def buy(client: httpx.Client, phone_number: str, **form: str) -> httpx.Response:
    return client.post("/IncomingPhoneNumbers.json", data={"PhoneNumber": phone_number, **form})


# -- Retell: endpoints against the spec ----------------------------------------------------------------


def test_retell_llm_lifecycle_matches_spec(
    retell: FakeRetell, retell_http: httpx.Client, rspec: OpenApiSpec
) -> None:
    # Given an LLM created with a tag in its dynamic variables
    created = create_llm(retell_http)
    rspec.assert_valid(created, rspec.response_schema("/create-retell-llm", "post", 201))
    assert created["llm_id"].startswith("llm_")
    assert len(created["llm_id"]) == len("llm_") + 28
    assert (created["version"], created["is_published"], created["model"]) == (0, False, "gpt-4.1")
    assert all(created[key] == value for key, value in LLM_REQUEST.items())
    assert abs(created["last_modification_timestamp"] - time.time() * 1000) < 60_000

    # When it is read back and listed
    llm_id = created["llm_id"]
    fetched = body_of(retell_http.get(f"/get-retell-llm/{llm_id}"), 200)
    rspec.assert_valid(fetched, rspec.response_schema("/get-retell-llm/{llm_id}", "get", 200))
    listed = body_of(retell_http.get("/v2/list-retell-llms"), 200)
    rspec.assert_valid(listed, rspec.response_schema("/v2/list-retell-llms", "get", 200))

    # Then both show it, and it lives in the fake's state
    assert fetched == created
    assert listed == {"items": [created], "has_more": False}
    assert retell.llms == {llm_id: created}

    # When it is deleted: 204, nothing left, and the id is now unknown (422)
    deleted = retell_http.delete(f"/delete-retell-llm/{llm_id}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert rspec.declares_empty_response("/delete-retell-llm/{llm_id}", "delete", 204)
    assert retell.llms == {}
    gone = assert_retell_error(
        rspec, retell_http.get(f"/get-retell-llm/{llm_id}"), 422, "/get-retell-llm/{llm_id}", "get"
    )
    assert gone["message"] == "Cannot find requested asset under given api key."
    assert_retell_error(
        rspec,
        retell_http.delete(f"/delete-retell-llm/{llm_id}"),
        422,
        "/delete-retell-llm/{llm_id}",
        "delete",
    )


def test_retell_agent_lifecycle_matches_spec(
    retell: FakeRetell, retell_http: httpx.Client, rspec: OpenApiSpec
) -> None:
    # Given an LLM and an agent on it
    llm_id = create_llm(retell_http)["llm_id"]
    agent = create_agent(retell_http, llm_id, webhook_url="https://api.example.com/retell/webhook")
    rspec.assert_valid(agent, rspec.response_schema("/create-agent", "post", 201))
    assert agent["agent_id"].startswith("agent_")
    assert (agent["version"], agent["is_published"], agent["language"]) == (0, False, "en-US")
    assert agent["response_engine"] == {"type": "retell-llm", "llm_id": llm_id, "version": 0}
    assert agent["agent_name"] == "voice-agents:agent-42"
    agent_id = agent["agent_id"]

    # Then get, the spec's GET /list-agents and the newer POST /v2/list-agents all serve it
    fetched = body_of(retell_http.get(f"/get-agent/{agent_id}"), 200)
    rspec.assert_valid(fetched, rspec.response_schema("/get-agent/{agent_id}", "get", 200))
    legacy = body_of(retell_http.get("/list-agents"), 200)
    rspec.assert_valid(legacy, rspec.response_schema("/list-agents", "get", 200))
    page = body_of(retell_http.post("/v2/list-agents", json={"limit": 10}), 200)
    rspec.assert_valid(page, rspec.component_schema("PaginatedResponseBase"))
    assert set(page) == {"items", "has_more"}
    for item in page["items"]:
        rspec.assert_valid(item, rspec.component_schema("AgentResponse"))
    assert fetched == agent
    assert legacy == [agent]
    assert page["items"] == [agent]
    assert body_of(retell_http.post("/v2/list-agents"), 200)["items"] == [agent]  # the body is optional
    assert retell.agents == {agent_id: agent}

    # When it is deleted: 204 and then unknown
    deleted = retell_http.delete(f"/delete-agent/{agent_id}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert retell.agents == {}
    assert_retell_error(rspec, retell_http.get(f"/get-agent/{agent_id}"), 422, "/get-agent/{agent_id}", "get")
    assert_retell_error(
        rspec, retell_http.delete(f"/delete-agent/{agent_id}"), 422, "/delete-agent/{agent_id}", "delete"
    )


def test_retell_lists_paginate_with_pagination_key(retell_http: httpx.Client, rspec: OpenApiSpec) -> None:
    # Given five LLMs and five agents
    llm_ids = [create_llm(retell_http)["llm_id"] for _ in range(5)]
    agent_ids = [create_agent(retell_http, llm_ids[0])["agent_id"] for _ in range(5)]

    def walk_llms(sort_order: str) -> list[str]:
        seen: list[str] = []
        params: dict[str, Any] = {"limit": 2, "sort_order": sort_order}
        while True:
            page = body_of(retell_http.get("/v2/list-retell-llms", params=params), 200)
            rspec.assert_valid(page, rspec.response_schema("/v2/list-retell-llms", "get", 200))
            seen += [item["llm_id"] for item in page["items"]]
            if not page["has_more"]:
                assert "pagination_key" not in page
                return seen
            params["pagination_key"] = page["pagination_key"]

    # Then walking the pages yields each exactly once, newest first by default (the spec's default)
    assert walk_llms("descending") == llm_ids[::-1]
    assert walk_llms("ascending") == llm_ids
    assert [
        item["llm_id"] for item in body_of(retell_http.get("/v2/list-retell-llms"), 200)["items"]
    ] == llm_ids[::-1]

    # And the agents page the same way through POST /v2/list-agents
    first = body_of(retell_http.post("/v2/list-agents", json={"limit": 3, "sort_order": "ascending"}), 200)
    assert first["has_more"] is True
    rest = body_of(
        retell_http.post(
            "/v2/list-agents",
            json={"limit": 3, "sort_order": "ascending", "pagination_key": first["pagination_key"]},
        ),
        200,
    )
    assert [item["agent_id"] for item in first["items"] + rest["items"]] == agent_ids
    assert rest["has_more"] is False


def test_retell_agent_versions_match_spec(
    retell: FakeRetell, retell_http: httpx.Client, rspec: OpenApiSpec
) -> None:
    # Given an agent on an LLM, version 0 published
    llm_id = create_llm(retell_http)["llm_id"]
    agent_id = create_agent(retell_http, llm_id)["agent_id"]
    published = retell_http.post(f"/publish-agent-version/{agent_id}", json={"version": 0})
    assert (published.status_code, published.content) == (200, b"")

    # When a draft is made from it, and changed
    draft = body_of(retell_http.post(f"/create-agent-version/{agent_id}", json={"base_version": 0}), 201)
    # The spec's answer is oneOf an AgentResponse or a ChatAgentResponse; a voice agent's body can
    # match both (their shared fields), so it is checked against AgentResponse alone.
    rspec.assert_valid(draft, rspec.response_schema("/get-agent/{agent_id}", "get", 200))
    llm = body_of(
        retell_http.patch(
            f"/update-retell-llm/{llm_id}", params={"version": 1}, json={"general_prompt": "New."}
        ),
        200,
    )
    rspec.assert_valid(llm, rspec.response_schema("/update-retell-llm/{llm_id}", "patch", 200))
    changed = body_of(
        retell_http.patch(
            f"/update-agent/{agent_id}", params={"version": 1}, json={"voice_id": "11labs-Emily"}
        ),
        200,
    )
    rspec.assert_valid(changed, rspec.response_schema("/update-agent/{agent_id}", "patch", 200))

    # Then the draft is the next version of both, and version 0 is untouched
    assert (draft["version"], draft["is_published"]) == (1, False)
    assert draft["response_engine"] == {"type": "retell-llm", "llm_id": llm_id, "version": 1}
    assert (llm["version"], llm["general_prompt"]) == (1, "New.")
    assert retell.llm_versions[llm_id][0]["general_prompt"] == LLM_REQUEST["general_prompt"]
    old = body_of(retell_http.get(f"/get-agent/{agent_id}", params={"version": 0}), 200)
    assert (old["voice_id"], old["is_published"]) == ("retell-Cimo", True)
    latest = body_of(retell_http.get(f"/get-agent/{agent_id}"), 200)
    assert (latest["version"], latest["voice_id"]) == (1, "11labs-Emily")
    listed = body_of(retell_http.get(f"/get-agent-versions/{agent_id}"), 200)
    assert [each["version"] for each in listed] == [0, 1]
    # A published version cannot change (400 here: Retell's documents name no status), nor be deleted
    for response in (
        retell_http.patch(f"/update-agent/{agent_id}", params={"version": 0}, json={"voice_id": "x"}),
        retell_http.patch(
            f"/update-retell-llm/{llm_id}", params={"version": 0}, json={"general_prompt": "x"}
        ),
        retell_http.post(f"/publish-agent-version/{agent_id}", json={"version": 0}),
        retell_http.delete(f"/delete-agent-version/{agent_id}", params={"version": 0}),
    ):
        assert_retell_error(rspec, response, 400)
    # An unknown version is a 404, an unknown agent a 422
    assert_retell_error(rspec, retell_http.get(f"/get-agent/{agent_id}", params={"version": 7}), 404)
    assert_retell_error(
        rspec, retell_http.post("/create-agent-version/agent_unknown", json={"base_version": 0}), 422
    )
    # A call runs the version it names, else the latest
    calls = [
        body_of(retell_http.post("/v2/register-phone-call", json={"agent_id": agent_id, **extra}), 201)
        for extra in ({"agent_version": 0}, {})
    ]
    assert [call["agent_version"] for call in calls] == [0, 1]

    # When the draft is deleted, the latest is version 0 again, for the agent and the LLM
    deleted = retell_http.delete(f"/delete-agent-version/{agent_id}", params={"version": 1})
    assert deleted.status_code == 204
    assert retell.agents[agent_id]["version"] == 0 and retell.llms[llm_id]["version"] == 0
    assert set(retell.llm_versions[llm_id]) == {0}
    assert_retell_error(
        rspec, retell_http.delete(f"/delete-agent-version/{agent_id}", params={"version": 1}), 404
    )


def test_retell_register_call_and_get_call_match_spec(
    retell: FakeRetell, retell_http: httpx.Client, rspec: OpenApiSpec
) -> None:
    # Given an agent
    agent = create_agent(retell_http, create_llm(retell_http)["llm_id"])

    # When a phone call is registered for it, as our Twilio webhook does
    request = {
        "agent_id": agent["agent_id"],
        "from_number": "+61412345678",
        "to_number": "+61480000000",
        "direction": "inbound",
        "metadata": {"twilio_call_sid": "CA" + "5" * 32, "tenant_id": "t_42"},
        "retell_llm_dynamic_variables": {"customer_name": "John Doe"},
    }
    call = body_of(retell_http.post("/v2/register-phone-call", json=request), 201)

    # Then the call is registered, echoes what we sent, and reads back through get-call
    rspec.assert_valid(call, rspec.response_schema("/v2/register-phone-call", "post", 201))
    assert call["call_type"] == "phone_call"
    assert call["call_status"] == "registered"
    assert (call["agent_id"], call["agent_version"]) == (agent["agent_id"], 0)
    assert all(call[key] == value for key, value in request.items())
    fetched = body_of(retell_http.get(f"/v2/get-call/{call['call_id']}"), 200)
    rspec.assert_valid(fetched, rspec.response_schema("/v2/get-call/{call_id}", "get", 200))
    assert fetched == call
    assert retell.calls_registered == {call["call_id"]: call}
    assert_retell_error(
        rspec, retell_http.get("/v2/get-call/call_unknown"), 422, "/v2/get-call/{call_id}", "get"
    )


@pytest.mark.parametrize(
    ("path", "build_payload", "status"),
    [
        ("/create-retell-llm", lambda llm_id: {"general_prompt": "no start speaker"}, 400),
        ("/create-retell-llm", lambda llm_id: {"start_speaker": "robot"}, 400),
        (
            "/create-retell-llm",
            lambda llm_id: {"start_speaker": "agent", "default_dynamic_variables": {"n": 1}},
            400,
        ),
        ("/create-agent", lambda llm_id: {"voice_id": "retell-Cimo"}, 400),
        ("/create-agent", lambda llm_id: {"response_engine": {"type": "retell-llm", "llm_id": llm_id}}, 400),
        (
            "/create-agent",
            lambda llm_id: {
                "voice_id": "retell-Cimo",
                "response_engine": {"type": "retell-llm", "llm_id": "llm_x"},
            },
            422,
        ),
        ("/v2/register-phone-call", lambda llm_id: {"from_number": "+61412345678"}, 400),
        ("/v2/register-phone-call", lambda llm_id: {"agent_id": "agent_unknown"}, 422),
    ],
)
def test_retell_rejects_bad_requests_without_acting(
    retell: FakeRetell,
    retell_http: httpx.Client,
    rspec: OpenApiSpec,
    path: str,
    build_payload: Callable[[str], dict[str, Any]],
    status: int,
) -> None:
    # Given an existing LLM
    llm_id = create_llm(retell_http)["llm_id"]

    # When the bad request is sent, Then it is refused with the spec's error body and nothing new exists
    assert_retell_error(rspec, retell_http.post(path, json=build_payload(llm_id)), status, path, "post")
    assert list(retell.llms) == [llm_id]
    assert retell.agents == {}
    assert retell.calls_registered == {}


def test_retell_auth_and_unknown_routes(retell: FakeRetell, rspec: OpenApiSpec) -> None:
    # Given requests with a wrong key, no key, and a route Retell does not have
    wrong_key = httpx.post(
        f"{retell.base_url}/create-retell-llm",
        json=LLM_REQUEST,
        headers={"Authorization": "Bearer key_wrong"},
    )
    no_key = httpx.get(f"{retell.base_url}/v2/list-retell-llms")
    unknown = httpx.get(
        f"{retell.base_url}/get-everything", headers={"Authorization": f"Bearer {RETELL_KEY}"}
    )

    # Then: 401 with Retell's body (and nothing created), 404 in Retell's error shape
    expected = {"status": "error", "message": "API key is missing or invalid."}
    assert assert_retell_error(rspec, wrong_key, 401, "/create-retell-llm", "post") == expected
    assert assert_retell_error(rspec, no_key, 401, "/v2/list-retell-llms", "get") == expected
    assert_retell_error(rspec, unknown, 404)
    assert retell.llms == {}
    # Refused requests still count as received
    assert retell.call_count("create_llm") == 1
    assert retell.call_count("list_llms") == 1


# -- Twilio: endpoints against the spec -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("number_type", "spec_path", "country", "prefix"),
    [
        ("Mobile", TW_MOBILE, "AU", "+614"),
        ("Local", TW_LOCAL, "AU", "+612"),
        ("TollFree", TW_TOLL_FREE, "AU", "+611800"),
        ("Local", TW_LOCAL, "US", "+1415"),
    ],
)
def test_twilio_search_matches_spec(
    twilio_http: httpx.Client, tspec: OpenApiSpec, number_type: str, spec_path: str, country: str, prefix: str
) -> None:
    page = body_of(
        twilio_http.get(
            f"/AvailablePhoneNumbers/{country}/{number_type}.json",
            params={"VoiceEnabled": "true", "PageSize": 5},
        ),
        200,
    )
    tspec.assert_valid(page, tspec.response_schema(spec_path, "get", 200))
    numbers = page["available_phone_numbers"]
    assert len(numbers) == 5
    assert all(each["phone_number"].startswith(prefix) and each["iso_country"] == country for each in numbers)
    assert all(set(each["capabilities"]) == {"voice", "sms", "mms", "fax"} for each in numbers)
    assert all(each["capabilities"]["voice"] and each["beta"] is False for each in numbers)
    assert page["uri"].startswith(f"{ACCOUNT}/AvailablePhoneNumbers/{country}/{number_type}.json")
    assert page["next_page_uri"] is None


def test_twilio_au_mobile_inventory_and_filters(twilio_http: httpx.Client) -> None:
    def search(**params: Any) -> list[dict[str, Any]]:
        page = body_of(twilio_http.get("/AvailablePhoneNumbers/AU/Mobile.json", params=params), 200)
        return list(page["available_phone_numbers"])

    everything = search(PageSize=1000)
    assert len(everything) == 200
    assert all(each["address_requirements"] == "any" for each in everything)
    assert search(PageSize=3) == everything[:3]  # deterministic
    assert len(search()) == 50  # Twilio's default page size
    assert [each["phone_number"] for each in search(Contains="+6148000001%")] == [
        f"+614800000{n}" for n in range(10, 20)
    ]
    assert search(Contains="0000199$")[0]["phone_number"] == "+61480000199"
    assert search(ExcludeAllAddressRequired="true") == []
    assert search(FaxEnabled="true") == []
    # A country or type Twilio does not sell there: Twilio's 404 (tests/integration/test_countries.py)
    assert body_of(twilio_http.get("/AvailablePhoneNumbers/ZZ/Mobile.json"), 404)["code"] == 20404


def test_twilio_number_lifecycle_matches_spec(
    twilio: FakeTwilio, twilio_http: httpx.Client, tspec: OpenApiSpec
) -> None:
    # Given the first AU mobile number on offer
    phone_number = first_available(twilio_http)[0]

    # When it is bought with the webhook already set
    bought = body_of(
        buy(
            twilio_http,
            phone_number,
            VoiceUrl="https://api.example.com/api/webhooks/twilio/agent-42",
            VoiceMethod="POST",
            FriendlyName="voice-agents:agent-42",
            BundleSid=BUNDLE_SID,
            AddressSid=ADDRESS_SID,
        ),
        201,
    )

    # Then the resource carries every property of the schema and what we sent
    tspec.assert_valid(bought, tspec.response_schema(TW_NUMBERS, "post", 201))
    assert set(bought) == tspec.property_names(TW_NUMBER_SCHEMA)
    sid = bought["sid"]
    assert bought["account_sid"] == ACCOUNT_SID
    assert bought["phone_number"] == phone_number
    assert bought["voice_url"] == "https://api.example.com/api/webhooks/twilio/agent-42"
    assert (bought["bundle_sid"], bought["address_sid"]) == (BUNDLE_SID, ADDRESS_SID)
    assert (bought["status"], bought["origin"], bought["type"]) == ("in-use", "twilio", "mobile")
    assert bought["uri"] == f"{ACCOUNT}/IncomingPhoneNumbers/{sid}.json"
    assert bought["date_created"].endswith("+0000")
    assert twilio.owned == {sid: bought}
    assert phone_number not in first_available(twilio_http, 1000)  # owned numbers are not offered

    # And fetch, update and list serve it
    fetched = body_of(twilio_http.get(f"/IncomingPhoneNumbers/{sid}.json"), 200)
    tspec.assert_valid(fetched, tspec.response_schema(TW_NUMBER, "get", 200))
    assert fetched == bought
    updated = body_of(
        twilio_http.post(f"/IncomingPhoneNumbers/{sid}.json", data={"VoiceUrl": "https://new.example.com/v"}),
        200,
    )
    tspec.assert_valid(updated, tspec.response_schema(TW_NUMBER, "post", 200))
    assert updated == {
        **bought,
        "voice_url": "https://new.example.com/v",
        "date_updated": updated["date_updated"],
    }
    for params in (
        {"FriendlyName": "voice-agents:agent-42"},
        {"PhoneNumber": phone_number},
        {"PhoneNumber": "48000*000"},
    ):
        listed = body_of(twilio_http.get("/IncomingPhoneNumbers.json", params=params), 200)
        tspec.assert_valid(listed, tspec.response_schema(TW_NUMBERS, "get", 200))
        assert listed["incoming_phone_numbers"] == [updated], params
    assert (
        body_of(twilio_http.get("/IncomingPhoneNumbers.json", params={"FriendlyName": "voice-agents"}), 200)[
            "incoming_phone_numbers"
        ]
        == []
    )  # FriendlyName matches exactly

    # When it is released: 204, gone, offered again; a second release is 404 / 20404
    released = twilio_http.delete(f"/IncomingPhoneNumbers/{sid}.json")
    assert released.status_code == 204
    assert released.content == b""
    assert twilio.owned == {}
    assert phone_number in first_available(twilio_http, 1000)
    for response in (
        twilio_http.get(f"/IncomingPhoneNumbers/{sid}.json"),
        twilio_http.delete(f"/IncomingPhoneNumbers/{sid}.json"),
    ):
        body = assert_twilio_error(tspec, response, 404, 20404)
        assert (
            body["message"]
            == f"The requested resource {ACCOUNT}/IncomingPhoneNumbers/{sid}.json was not found"
        )


AVAILABLE = "the first number on offer"


@pytest.mark.parametrize(
    ("config", "form", "code"),
    [
        ({}, {"VoiceUrl": "https://api.example.com/v"}, 21421),  # no PhoneNumber
        ({}, {"PhoneNumber": "0480000000"}, 21421),  # not E.164
        ({}, {"PhoneNumber": "+61499999999"}, 21422),  # not in the inventory
        ({"require_bundle": True}, {"PhoneNumber": AVAILABLE, "AddressSid": ADDRESS_SID}, 21649),
        ({"require_address": True}, {"PhoneNumber": AVAILABLE, "BundleSid": BUNDLE_SID}, 21631),
        ({}, {"PhoneNumber": AVAILABLE, "FriendlyName": "x" * 65}, 20002),
        ({}, {"PhoneNumber": AVAILABLE, "BundleSid": "BU-not-a-sid"}, 20001),
        ({}, {"PhoneNumber": AVAILABLE, "VoiceMethod": "PUT"}, 20001),
    ],
)
def test_twilio_buy_errors(
    twilio: FakeTwilio,
    twilio_http: httpx.Client,
    tspec: OpenApiSpec,
    config: dict[str, bool],
    form: dict[str, str],
    code: int,
) -> None:
    # Given the account rules of the case
    twilio.configure(**config)
    if form.get("PhoneNumber") == AVAILABLE:
        form = {**form, "PhoneNumber": first_available(twilio_http)[0]}

    # When buying, Then Twilio's 400 with the code, and nothing is owned
    assert_twilio_error(tspec, twilio_http.post("/IncomingPhoneNumbers.json", data=form), 400, code)
    assert twilio.owned == {}


def test_twilio_buy_with_bundle_and_address_when_required(
    twilio: FakeTwilio, twilio_http: httpx.Client
) -> None:
    twilio.configure(require_bundle=True, require_address=True)
    phone_number = first_available(twilio_http)[0]
    body_of(buy(twilio_http, phone_number, BundleSid=BUNDLE_SID, AddressSid=ADDRESS_SID), 201)
    # The same number again is taken
    assert (
        body_of(buy(twilio_http, phone_number, BundleSid=BUNDLE_SID, AddressSid=ADDRESS_SID), 400)["code"]
        == 21422
    )


def test_twilio_concurrent_purchases_of_one_number_sell_it_once(
    twilio: FakeTwilio, twilio_http: httpx.Client
) -> None:
    phone_number = first_available(twilio_http)[0]
    with ThreadPoolExecutor(max_workers=12) as pool:
        responses = list(pool.map(lambda _: buy(twilio_http, phone_number), range(12)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [400] * 11
    assert {response.json()["code"] for response in responses if response.status_code == 400} == {21422}
    assert [each["phone_number"] for each in twilio.owned.values()] == [phone_number]


def test_twilio_auth_and_account(twilio: FakeTwilio, tspec: OpenApiSpec) -> None:
    url = f"{twilio.base_url}{ACCOUNT}/IncomingPhoneNumbers.json"
    expected_401 = {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }
    assert assert_twilio_error(tspec, httpx.get(url, auth=(ACCOUNT_SID, "wrong")), 401, 20003) == expected_401
    assert assert_twilio_error(tspec, httpx.get(url), 401, 20003) == expected_401
    assert assert_twilio_error(tspec, httpx.post(url, data={"PhoneNumber": "+61480000000"}), 401, 20003)
    assert twilio.owned == {}
    other_account = url.replace(ACCOUNT_SID, "AC" + "f" * 32)
    assert_twilio_error(tspec, httpx.get(other_account, auth=(ACCOUNT_SID, AUTH_TOKEN)), 404, 20404)
    assert_twilio_error(tspec, httpx.get(f"{twilio.base_url}/2010-04-01/Nothing.json"), 404, 20404)


# -- Twilio: the SDK against the fake -------------------------------------------------------------------


def test_twilio_sdk_round_trip(twilio: FakeTwilio, twilio_sdk: TwilioClient) -> None:
    # Search
    candidates = twilio_sdk.available_phone_numbers("AU").mobile.list(voice_enabled=True, limit=5)
    assert len(candidates) == 5
    assert all(each.phone_number.startswith("+614") for each in candidates)

    # Buy
    bought = twilio_sdk.incoming_phone_numbers.create(
        phone_number=candidates[0].phone_number,
        voice_url="https://api.example.com/api/webhooks/twilio/agent-42",
        voice_method="POST",
        friendly_name="voice-agents:agent-42",
        bundle_sid=BUNDLE_SID,
        address_sid=ADDRESS_SID,
    )
    assert bought.sid.startswith("PN")
    assert bought.sid in twilio.owned
    assert (bought.bundle_sid, bought.address_sid) == (BUNDLE_SID, ADDRESS_SID)

    # List by tag, update the webhook
    listed = twilio_sdk.incoming_phone_numbers.list(friendly_name="voice-agents:agent-42")
    assert [each.sid for each in listed] == [bought.sid]
    updated = twilio_sdk.incoming_phone_numbers(bought.sid).update(voice_url="https://new.example.com/voice")
    assert updated.voice_url == "https://new.example.com/voice"
    assert twilio.owned[bought.sid]["voice_url"] == "https://new.example.com/voice"

    # Release, twice: the second is TwilioRestException 20404
    assert twilio_sdk.incoming_phone_numbers(bought.sid).delete() is True
    with pytest.raises(TwilioRestException) as second_release:
        twilio_sdk.incoming_phone_numbers(bought.sid).delete()
    assert (second_release.value.status, second_release.value.code) == (404, 20404)

    # Buying a taken number is TwilioRestException 21422
    twilio_sdk.incoming_phone_numbers.create(phone_number=candidates[1].phone_number)
    with pytest.raises(TwilioRestException) as taken:
        twilio_sdk.incoming_phone_numbers.create(phone_number=candidates[1].phone_number)
    assert (taken.value.status, taken.value.code) == (400, 21422)

    # A failing list is a plain TwilioException (the SDK's page loader does not parse the body)
    twilio.inject("list_numbers", status=500, times=1)
    with pytest.raises(TwilioException) as failed_list:
        twilio_sdk.incoming_phone_numbers.list()
    assert type(failed_list.value) is TwilioException
    assert failed_list.value.args[1].status_code == 500


def test_twilio_sdk_follows_next_page_uri(
    twilio: FakeTwilio, twilio_sdk: TwilioClient, twilio_http: httpx.Client
) -> None:
    # Given seven numbers with one tag and one without
    numbers = first_available(twilio_http, 8)
    for phone_number in numbers[:7]:
        body_of(buy(twilio_http, phone_number, FriendlyName="voice-agents:sweep"), 201)
    body_of(buy(twilio_http, numbers[7], FriendlyName="other"), 201)

    # When the SDK lists them three per page
    listed = twilio_sdk.incoming_phone_numbers.list(friendly_name="voice-agents:sweep", page_size=3)

    # Then it walked three pages and got all seven, in purchase order
    assert [each.phone_number for each in listed] == numbers[:7]
    assert twilio.call_count("list_numbers") == 3
    assert len(list(twilio_sdk.incoming_phone_numbers.stream(page_size=5))) == 8


@pytest.mark.parametrize("token", ["PAexpired", "PN" + "0" * 32, "PAPN" + "g" * 32, "PAPN" + "0" * 31])
def test_twilio_refuses_a_page_token_it_did_not_issue(
    twilio_http: httpx.Client, tspec: OpenApiSpec, token: str
) -> None:
    # Given three numbers listed two a page: the next page's token resumes after the second
    for phone_number in first_available(twilio_http, 3):
        body_of(buy(twilio_http, phone_number), 201)
    first = body_of(twilio_http.get("/IncomingPhoneNumbers.json", params={"PageSize": 2}), 200)
    issued = dict(parse_qsl(urlsplit(first["next_page_uri"]).query))["PageToken"]
    resumed = twilio_http.get("/IncomingPhoneNumbers.json", params={"PageSize": 2, "PageToken": issued})
    assert len(body_of(resumed, 200)["incoming_phone_numbers"]) == 1

    # When a token the fake never issued comes back (expired, from another listing, malformed)
    refused = twilio_http.get("/IncomingPhoneNumbers.json", params={"PageSize": 2, "PageToken": token})

    # Then it is refused as an invalid parameter, as an expired token would be
    assert assert_twilio_error(tspec, refused, 400, 20001)["message"].startswith("PageToken")


# -- faults -------------------------------------------------------------------------------------------


def test_error_fault_answers_without_acting(
    retell: FakeRetell,
    twilio: FakeTwilio,
    retell_http: httpx.Client,
    twilio_http: httpx.Client,
    rspec: OpenApiSpec,
    tspec: OpenApiSpec,
) -> None:
    # Given one-shot errors on Retell's create_llm (Python API) and Twilio's buy_number (HTTP control)
    retell.inject("create_llm", status=500, times=1)
    phone_number = first_available(twilio_http)[0]
    with FakeControl(twilio.base_url) as control:
        control.fail("buy_number", 429, code=20429, message="Too Many Requests", times=1)

    # When each is called twice
    first_llm = retell_http.post("/create-retell-llm", json=LLM_REQUEST)
    first_buy = buy(twilio_http, phone_number)

    # Then the first answers the provider's error and nothing was created ...
    assert assert_retell_error(rspec, first_llm, 500, "/create-retell-llm", "post")["message"] == (
        "An unexpected server error occurred."
    )
    assert assert_twilio_error(tspec, first_buy, 429, 20429)["message"] == "Too Many Requests"
    assert retell.llms == {}
    assert twilio.owned == {}

    # ... and the second acts normally; both requests were counted
    create_llm(retell_http)
    body_of(buy(twilio_http, phone_number), 201)
    assert retell.call_count("create_llm") == 2
    assert twilio.call_count("buy_number") == 2


def test_rate_limit_answers_20429_above_the_rate_without_acting(
    twilio: FakeTwilio, twilio_http: httpx.Client, tspec: OpenApiSpec
) -> None:
    # Given a limit of 2 requests at once, refilled at 1 a second, and 3 purchases back to back
    numbers = first_available(twilio_http, 3)
    twilio.limit_rate(per_second=1, burst=2)
    answers = [buy(twilio_http, number) for number in numbers]

    # Then the burst goes through, the third is Twilio's 20429 (valid against the spec), nothing bought
    assert [answer.status_code for answer in answers] == [201, 201, 429]
    assert assert_twilio_error(tspec, answers[2], 429, 20429)
    assert sorted(each["phone_number"] for each in twilio.owned.values()) == sorted(numbers[:2])
    assert twilio.rate_limited() == 1

    # ... once the bucket refills the same purchase goes through; a reset lifts the limit
    time.sleep(1.1)
    body_of(buy(twilio_http, numbers[2]), 201)
    twilio.reset()
    assert twilio.rate_limited() == 0
    assert all(first_available(twilio_http) for _ in range(5))
    with pytest.raises(ValueError):
        twilio.limit_rate(per_second=0, burst=1)


def test_latency_fault_adds_delay_and_does_not_serialize(
    retell: FakeRetell, retell_http: httpx.Client
) -> None:
    llm_id = create_llm(retell_http)["llm_id"]

    def timed_get() -> float:
        started = time.perf_counter()
        body_of(retell_http.get(f"/get-retell-llm/{llm_id}"), 200)
        return time.perf_counter() - started

    baseline = min(timed_get() for _ in range(5))
    delay_s = 0.5  # eight of them one after another (4 s) stand far above the bound (2 s)
    retell.inject("get_llm", delay_ms=delay_s * 1000)
    delayed = [timed_get() for _ in range(3)]
    print(
        f"\nlatency fault: baseline {baseline * 1000:.1f} ms, "
        f"with a {delay_s * 1000:.0f} ms delay {[round(each * 1000, 1) for each in delayed]} ms"
    )
    assert all(each >= delay_s for each in delayed)

    # Eight delayed requests at once finish in about one delay, not eight
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: timed_get(), range(8)))
    wall = time.perf_counter() - started
    print(f"latency fault: 8 concurrent delayed requests took {wall * 1000:.1f} ms")
    assert delay_s <= wall < 4 * delay_s


def test_drop_fault_acts_then_loses_the_response(
    retell: FakeRetell, twilio: FakeTwilio, retell_http: httpx.Client, twilio_sdk: TwilioClient
) -> None:
    llm_id = create_llm(retell_http)["llm_id"]
    retell.inject("create_agent", drop=True, hold_ms=1000, times=1)
    with FakeControl(twilio.base_url) as control:
        control.drop("buy_number", hold_ms=1000, times=1)
    short_read = httpx.Timeout(5.0, read=0.5)

    # When the client gives up before the fake closes the connection
    with pytest.raises(httpx.ReadTimeout):
        retell_http.post(
            "/create-agent",
            json={
                "voice_id": "retell-Cimo",
                "agent_name": "tag-7",
                "response_engine": {"type": "retell-llm", "llm_id": llm_id},
            },
            timeout=short_read,
        )
    with pytest.raises(httpx.ReadTimeout), httpx.Client(auth=(ACCOUNT_SID, AUTH_TOKEN)) as client:
        client.post(
            f"{twilio.base_url}{ACCOUNT}/IncomingPhoneNumbers.json",
            data={"PhoneNumber": "+61480000007", "FriendlyName": "voice-agents:lost"},
            timeout=short_read,
        )

    # Then the resources exist anyway, and the list endpoints find them by their tags
    assert [agent["agent_name"] for agent in retell.agents.values()] == ["tag-7"]
    assert [each["phone_number"] for each in twilio.owned.values()] == ["+61480000007"]
    swept = twilio_sdk.incoming_phone_numbers.list(friendly_name="voice-agents:lost")
    assert [each.phone_number for each in swept] == ["+61480000007"]


def test_drop_fault_closes_without_any_response(retell: FakeRetell, retell_http: httpx.Client) -> None:
    # A client that waits longer than the hold sees the connection close with nothing written
    retell.inject("list_llms", drop=True, hold_ms=100, times=1)
    started = time.perf_counter()
    with pytest.raises(httpx.RemoteProtocolError):
        retell_http.get("/v2/list-retell-llms")
    assert time.perf_counter() - started >= 0.1
    body_of(retell_http.get("/v2/list-retell-llms"), 200)


def test_body_fault_acts_then_answers_an_unreadable_success(
    retell: FakeRetell, twilio: FakeTwilio, retell_http: httpx.Client
) -> None:
    # Given a proxy's page in place of one create's answer, and a JSON body without the id for another
    retell.inject("create_llm", body="<html><body>502 Bad Gateway</body></html>", times=1)
    with FakeControl(retell.base_url) as control:
        control.inject("create_llm", body='{"status": "ok"}', times=1)

    html = retell_http.post("/create-retell-llm", json=LLM_REQUEST)
    no_id = retell_http.post("/create-retell-llm", json=LLM_REQUEST)

    # Then both answer the success status with that body, and both LLMs exist anyway
    assert (html.status_code, html.headers["content-type"]) == (201, "text/html")
    assert html.text.startswith("<html>")
    assert (no_id.status_code, no_id.json()) == (201, {"status": "ok"})
    assert len(retell.llms) == 2
    assert body_of(retell_http.post("/create-retell-llm", json=LLM_REQUEST), 201)["llm_id"] in retell.llms


def test_raw_body_fault_answers_what_no_spec_allows_without_acting(
    retell: FakeRetell, retell_http: httpx.Client
) -> None:
    # Given a proxy's HTML page (200) and then a JSON body without the call id, over HTTP control
    llm_id = create_llm(retell_http)["llm_id"]
    agent = retell_http.post(
        "/create-agent",
        json={"voice_id": "retell-Cimo", "response_engine": {"type": "retell-llm", "llm_id": llm_id}},
    ).json()
    with FakeControl(retell.base_url) as control:
        control.inject("register_call", body="<html>upstream gateway</html>", status=200, times=1)
        control.inject("register_call", body='{"call_status": "registered"}', status=200, times=1)
    call = {"agent_id": agent["agent_id"], "from_number": "+61298765432", "to_number": "+61480000001"}

    # When three calls are registered
    answers = [retell_http.post("/v2/register-phone-call", json=call) for _ in range(3)]

    # Then the first two carry the raw bodies with 200, nothing registered; the third acts normally
    assert [each.status_code for each in answers] == [200, 200, 201]
    assert answers[0].headers["content-type"] == "text/html"
    assert answers[0].text == "<html>upstream gateway</html>"
    assert answers[1].json() == {"call_status": "registered"}
    assert list(retell.calls_registered) == [answers[2].json()["call_id"]]
    with pytest.raises(ValueError, match="either answers"):
        retell.inject("register_call", body="x", drop=True)
    with pytest.raises(ValueError, match="2xx to 5xx"):
        retell.inject("register_call", body="x", status=101)


def test_faults_apply_in_order_and_expire(retell: FakeRetell, retell_http: httpx.Client) -> None:
    # Given two queued faults for one operation, then a permanent one for another
    retell.inject("create_llm", status=503, times=2)
    retell.inject("create_llm", status=500, message="boom", times=1)
    retell.inject("list_llms", status=502)

    # Then they apply first-in first-out and expire after their times
    statuses = [retell_http.post("/create-retell-llm", json=LLM_REQUEST) for _ in range(4)]
    assert [each.status_code for each in statuses] == [503, 503, 500, 201]
    assert statuses[2].json() == {"status": "error", "message": "boom"}
    assert "create_llm" not in retell.faults()

    # And a fault without times stays until cleared
    assert [retell_http.get("/v2/list-retell-llms").status_code for _ in range(3)] == [502] * 3
    retell.clear_faults()
    assert retell_http.get("/v2/list-retell-llms").status_code == 200
    assert retell.call_count("list_llms") == 4


def test_control_surface_over_http(retell: FakeRetell, twilio: FakeTwilio, retell_http: httpx.Client) -> None:
    with FakeControl(retell.base_url) as retell_control, FakeControl(twilio.base_url) as twilio_control:
        # Faults set over HTTP show up, apply, and clear
        stored = retell_control.inject("get_agent", status=500, delay_ms=20, times=3)
        assert stored == {
            "operation": "get_agent",
            "status": 500,
            "code": None,
            "message": None,
            "delay_ms": 20,
            "drop": False,
            "hold_ms": 3000,
            "times": 3,
            "body": None,
        }
        retell_control.delay("get_llm", 10)
        assert set(retell_control.faults()) == {"get_agent", "get_llm"}
        assert retell_http.get("/get-agent/agent_x").status_code == 500
        assert retell_control.faults()["get_agent"][0]["times"] == 2
        retell_control.clear_faults()
        assert retell_control.faults() == {}

        # State and counters
        llm = create_llm(retell_http)
        assert retell_control.state() == {
            "llms": {llm["llm_id"]: llm},
            "agents": {},
            "agent_versions": {},
            "llm_versions": {llm["llm_id"]: {"0": llm}},
            "calls_registered": {},
            "event_deliveries": [],
        }
        calls = retell_control.calls()
        assert calls["create_llm"] == 1
        assert calls["get_agent"] == 1
        assert calls["delete_agent"] == 0
        assert set(calls) == retell.operations

        # Twilio configuration
        assert twilio_control.configure(require_bundle=True) == {
            "require_bundle": True,
            "require_address": False,
            "regulations": False,
        }
        assert twilio_control.state()["config"] == {
            "require_bundle": True,
            "require_address": False,
            "regulations": False,
        }

        # Bad faults are refused with 400
        for bad in (
            {"operation": "no_such_operation", "status": 500},
            {"operation": "create_llm"},  # does nothing
            {"operation": "create_llm", "status": 500, "drop": True},
            {"operation": "create_llm", "status": "500"},
            {"operation": "create_llm", "status": 200},
            {"operation": "create_llm", "status": 500, "times": 0},
            {"operation": "create_llm", "status": 500, "colour": "red"},
            {"operation": "create_llm", "status": 101, "body": "<html>"},
            {"operation": "create_llm", "drop": True, "body": "{}"},
            {"operation": "create_llm", "body": 7},
        ):
            response = httpx.post(f"{retell.base_url}/__control/faults", json=bad)
            assert response.status_code == 400, bad
        with pytest.raises(httpx.HTTPStatusError):
            retell_control.fail("no_such_operation", 500)
        assert retell_control.faults() == {}

        # Reset over HTTP clears state, faults, counters and configuration
        retell_control.fail("create_llm", 500)
        retell_control.reset()
        twilio_control.reset()
        empty: dict[str, Any] = {
            "llms": {},
            "agents": {},
            "agent_versions": {},
            "llm_versions": {},
            "calls_registered": {},
            "event_deliveries": [],
        }
        assert retell_control.state() == empty
        assert retell_control.faults() == {}
        assert set(retell_control.calls().values()) == {0}
        assert twilio_control.state() == {
            "owned": {},
            "config": {"require_bundle": False, "require_address": False, "regulations": False},
        }


def test_python_reset_and_fault_validation(
    retell: FakeRetell, twilio: FakeTwilio, retell_http: httpx.Client, twilio_http: httpx.Client
) -> None:
    create_llm(retell_http)
    body_of(buy(twilio_http, first_available(twilio_http)[0]), 201)
    retell.inject("get_llm", delay_ms=5)
    twilio.configure(require_bundle=True)

    retell.reset()
    twilio.reset()

    assert retell.llms == {}
    assert retell.faults() == {}
    assert retell.call_count("create_llm") == 0
    assert twilio.owned == {}
    assert twilio.call_count("buy_number") == 0
    assert twilio.state()["config"] == {
        "require_bundle": False,
        "require_address": False,
        "regulations": False,
    }
    with pytest.raises(ValueError, match="unknown operation"):
        retell.inject("create_number", status=500)
    with pytest.raises(ValueError, match="unknown operation"):
        twilio.call_count("create_llm")
    with pytest.raises(ValueError, match="does nothing"):
        twilio.inject("buy_number")


def test_spec_validation_catches_broken_bodies(rspec: OpenApiSpec, tspec: OpenApiSpec) -> None:
    """The validation above can fail: broken bodies are rejected, including nulls where none are allowed."""
    llm_schema = rspec.response_schema("/create-retell-llm", "post", 201)
    assert (
        rspec.errors({"llm_id": "llm_1", "last_modification_timestamp": 1, "begin_message": None}, llm_schema)
        == []
    )
    assert rspec.errors({"last_modification_timestamp": 1}, llm_schema)  # no llm_id
    assert rspec.errors({"llm_id": "llm_1", "last_modification_timestamp": 1, "version": None}, llm_schema)
    assert rspec.errors(
        {"llm_id": "llm_1", "last_modification_timestamp": 1, "start_speaker": "robot"}, llm_schema
    )
    call_schema = rspec.response_schema("/v2/register-phone-call", "post", 201)
    assert rspec.errors({"call_type": "web_call", "call_id": "c"}, call_schema)
    assert rspec.errors({"status": "failed", "message": "x"}, rspec.named_response_schema("NotFound"))

    number_schema = tspec.response_schema(TW_NUMBERS, "post", 201)
    assert tspec.errors({"sid": None, "voice_url": None}, number_schema) == []  # nullable
    assert tspec.errors({"sid": "PN123"}, number_schema)  # pattern
    assert tspec.errors({"address_requirements": None}, number_schema)  # an enum $ref, not nullable
    assert tspec.errors(
        {"code": "20404", "message": "x", "more_info": "https://www.twilio.com/docs/errors/1", "status": 404},
        TWILIO_ERROR_SCHEMA,
    )


def test_many_threads_share_one_fake_safely(retell: FakeRetell, retell_http: httpx.Client) -> None:
    # Concurrent creates and lists never lose or duplicate an LLM
    barrier = threading.Barrier(10)

    def create_after_barrier(_: int) -> str:
        barrier.wait()
        return str(create_llm(retell_http)["llm_id"])

    with ThreadPoolExecutor(max_workers=10) as pool:
        llm_ids = list(pool.map(create_after_barrier, range(10)))
    assert len(set(llm_ids)) == 10
    assert set(retell.llms) == set(llm_ids)
    assert retell.call_count("create_llm") == 10


# A client in another process: it sets a fault through the control surface, then races to buy.
_OTHER_PROCESS_BUYER = """
import sys, httpx
from local.fakes import FakeControl
base_url, account_sid, auth_token, phone_number, worker = sys.argv[1:6]
if worker == "0":
    FakeControl(base_url).delay("buy_number", 50, times=1)
response = httpx.post(
    f"{base_url}/2010-04-01/Accounts/{account_sid}/IncomingPhoneNumbers.json",
    data={"PhoneNumber": phone_number, "FriendlyName": f"worker-{worker}"},
    auth=(account_sid, auth_token),
    timeout=10,
)
print(response.status_code, response.json().get("code"))
"""


def test_processes_share_one_fake(twilio: FakeTwilio, twilio_http: httpx.Client) -> None:
    # Given four processes racing for one number
    phone_number = first_available(twilio_http)[0]
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _OTHER_PROCESS_BUYER,
                twilio.base_url,
                ACCOUNT_SID,
                AUTH_TOKEN,
                phone_number,
                str(n),
            ],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        for n in range(4)
    ]
    outputs = sorted(worker.communicate(timeout=30)[0].strip() for worker in workers)

    # Then exactly one bought it, the others were told it is taken, and the state lives in this process
    assert outputs == ["201 None", "400 21422", "400 21422", "400 21422"]
    assert [each["phone_number"] for each in twilio.owned.values()] == [phone_number]
    assert twilio.call_count("buy_number") == 4


# -- Retell: call events ----------------------------------------------------------------------------------


class _EventReceiver:
    """A webhook on loopback that records each POST (headers and raw body) and answers the statuses
    queued in ``answers`` (204 once they run out)."""

    def __init__(self, answers: list[int]) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        received: list[tuple[dict[str, str], bytes]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(answers.pop(0) if answers else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/api/webhooks/retell"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[_EventReceiver]:
    events = _EventReceiver(answers=[500])  # the first delivery fails: Retell sends it again
    yield events
    events.close()


def test_retell_ends_a_call_and_posts_signed_spec_true_events(
    retell: FakeRetell, retell_http: httpx.Client, rspec: OpenApiSpec, receiver: _EventReceiver
) -> None:
    import json

    from voice_agents.flows.calls.retell_signature import SIGNATURE_FORMAT, signature_digest

    # Given a call registered for an agent whose webhook_url is our receiver, and which asks a question
    question = {
        "type": "enum",
        "name": "reason",
        "description": "Why they called.",
        "choices": ["book", "ask"],
    }
    agent = create_agent(
        retell_http,
        create_llm(retell_http)["llm_id"],
        webhook_url=receiver.url,
        post_call_analysis_data=[question],
    )
    request = {"agent_id": agent["agent_id"], "from_number": "+61412345678", "metadata": {"k": "v"}}
    call_id = body_of(retell_http.post("/v2/register-phone-call", json=request), 201)["call_id"]

    # When it is ended through the control surface after 100 ms
    with FakeControl(retell.base_url) as control:
        control.end_call(call_id, 100)
    deadline = time.monotonic() + 10
    while len(receiver.received) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)

    # Then call_started (sent twice: the first answer was a 500), call_ended and call_analyzed came,
    # each signed with the API key over its raw body, each call object valid against the spec
    events = [json.loads(body) for _, body in receiver.received]
    assert [event["event"] for event in events] == [
        "call_started",
        "call_started",
        "call_ended",
        "call_analyzed",
    ]
    for headers, body in receiver.received:
        signed = SIGNATURE_FORMAT.fullmatch(headers["x-retell-signature"])
        assert signed is not None
        assert signature_digest(body, signed.group(1), RETELL_KEY) == signed.group(2)
    for event in events:
        rspec.assert_valid(event["call"], rspec.response_schema("/v2/get-call/{call_id}", "get", 200))
    started, _, ended, analyzed = (event["call"] for event in events)
    assert (started["call_status"], ended["call_status"]) == ("ongoing", "ended")
    assert ended["duration_ms"] >= 100 and ended["metadata"] == {"k": "v"}
    assert "call_analysis" not in ended and analyzed["call_analysis"]["user_sentiment"] == "Positive"
    statuses = [(each["event"], each["status"]) for each in retell.event_deliveries]
    assert statuses[:2] == [("call_started", 500), ("call_started", 204)]
    # The ended call carries the whole call: the transcript with its words timed, the cost, the
    # recording's link, and with the analysis an answer to the agent's question
    for whole in (ended, analyzed):
        assert whole["transcript"].startswith("Agent: ")
        assert [turn["role"] for turn in whole["transcript_object"]] == ["agent", "user", "agent", "user"]
        words = [word for turn in whole["transcript_object"] for word in turn["words"]]
        assert words[0]["start"] == 0 and words[-1]["end"] <= whole["duration_ms"] / 1000 + 0.01
        cost = whole["call_cost"]
        assert cost["combined_cost"] == pytest.approx(sum(each["cost"] for each in cost["product_costs"]))
    assert analyzed["call_analysis"]["custom_analysis_data"] == {"reason": "book"}
    # The recording is served at its link with no API key, as a storage URL is
    recording = httpx.get(ended["recording_url"])
    assert recording.status_code == 200 and recording.headers["content-type"] == "audio/wav"
    assert recording.content[:4] == b"RIFF"


def test_retell_agents_take_post_call_analysis_data_as_the_spec_has_it(
    retell_http: httpx.Client, rspec: OpenApiSpec
) -> None:
    llm_id = create_llm(retell_http)["llm_id"]
    items = [
        {"type": "string", "name": "caller_name", "description": "The caller's name.", "examples": ["Sam"]},
        {
            "type": "enum",
            "name": "reason",
            "description": "Why.",
            "choices": ["book", "ask"],
            "required": True,
        },
        {"type": "boolean", "name": "booked", "description": "Booked?"},
        {"type": "number", "name": "party", "description": "How many."},
        {"type": "system-presets", "name": "call_summary", "description": "Summarise in one line."},
    ]
    agent = create_agent(retell_http, llm_id, post_call_analysis_data=items)
    rspec.assert_valid(agent, rspec.response_schema("/create-agent", "post", 201))
    assert agent["post_call_analysis_data"] == items

    # An update changes them on a draft; the spec's shape is checked on both
    updated = body_of(
        retell_http.patch(f"/update-agent/{agent['agent_id']}", json={"post_call_analysis_data": items[:1]}),
        200,
    )
    assert updated["post_call_analysis_data"] == items[:1]
    for refused in (
        {"type": "enum", "name": "reason", "description": "Why."},  # an enum needs choices
        {"type": "enum", "name": "reason", "description": "Why.", "choices": []},
        {"type": "date", "name": "when", "description": "When."},
        {"type": "string", "name": "", "description": "Nameless."},
        {"type": "string", "name": "x"},  # no description
        {"type": "system-presets", "name": "not_a_preset"},
        "caller_name",
    ):
        response = retell_http.post(
            "/create-agent",
            json={
                "response_engine": {"type": "retell-llm", "llm_id": llm_id},
                "voice_id": "retell-Cimo",
                "post_call_analysis_data": [refused],
            },
        )
        assert_retell_error(rspec, response, 400, "/create-agent", "post")
        response = retell_http.patch(
            f"/update-agent/{agent['agent_id']}", json={"post_call_analysis_data": [refused]}
        )
        assert response.status_code == 400, refused


def test_retell_a_call_it_could_not_take_ends_not_connected(
    retell: FakeRetell, retell_http: httpx.Client, receiver: _EventReceiver
) -> None:
    import json

    agent = create_agent(retell_http, create_llm(retell_http)["llm_id"], webhook_url=receiver.url)
    call_id = body_of(retell_http.post("/v2/register-phone-call", json={"agent_id": agent["agent_id"]}), 201)[
        "call_id"
    ]

    retell.end_call(call_id, 0, connected=False).join(timeout=10)

    # Only call_ended, sent twice (the receiver's first answer is a 500), with the status not_connected
    events = [json.loads(body) for _, body in receiver.received]
    assert [(e["event"], e["call"]["call_status"]) for e in events] == [("call_ended", "not_connected")] * 2


def test_retell_control_refuses_to_end_an_unknown_call(retell: FakeRetell) -> None:
    with FakeControl(retell.base_url) as control, pytest.raises(httpx.HTTPStatusError) as refused:
        control.end_call("call_unknown", 10)
    assert refused.value.response.status_code == 400
