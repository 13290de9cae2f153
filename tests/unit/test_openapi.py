"""The OpenAPI document, openapi/openapi.json: current, valid, and saying what the API really does.

It is generated from the resolvers by scripts/generate_openapi.py (`make openapi`); the first test
fails when a route or model changed and the document was not regenerated. No network and no npm
here: the TypeScript types are checked by `make openapi-check`.
"""

from __future__ import annotations

import copy
import difflib
import importlib.util
import json
import re
import sys
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, cast, get_args

import jsonschema
import openapi_spec_validator
import pytest

from local.invoke import LambdaContext, handler_module, http_event
from local.sample_events import load_event
from voice_agents import runtime
from voice_agents.core.errors import (
    AgentDeleted,
    AgentNotActive,
    AgentNotFound,
    BillingError,
    ConfigurationError,
    CreationPaused,
    DeadlineExceeded,
    IdempotencyKeyReused,
    InvalidRequest,
    PreconditionFailed,
    ProvisioningFailed,
    PurchaseLimitReached,
    QuotaExceeded,
    RequestInProgress,
    StoreError,
    UpdateFailed,
    UpstreamError,
)
from voice_agents.flows.agents import create, reads
from voice_agents.http.requests import IDEMPOTENCY_KEY_MAX_LENGTH
from voice_agents.http.resolver import build_resolver
from voice_agents.models.agents import Language

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "openapi" / "openapi.json"
GENERATOR = ROOT / "scripts" / "generate_openapi.py"
SCHEMA_REF = "#/components/schemas/"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}

# (method, path) -> the statuses it documents, and the schema of each.
AGENT, PAGE, OUTCOME, ERROR, GATEWAY = "Agent", "AgentPage", "DeleteOutcome", "Error", "GatewayError"
CALLS = "CallPage"
SETTINGS, TEST_DELIVERY = "NotificationSettings", "TestDelivery"
CALL = "/api/agents/{agentId}/calls/{callSid}"
CONVERSATION_RECORDING = "/api/agents/{agentId}/calls/{callSid}/conversation-recording"
# Every operation: no valid token, a token without the scope, the caller past its rate limit, a
# misconfiguration, the database down.
COMMON_ERRORS = {401: GATEWAY, 403: GATEWAY, 429: ERROR, 500: ERROR, 503: ERROR}
# The one answer that is not JSON: a voicemail's audio.
RECORDING = "/api/agents/{agentId}/calls/{callSid}/recording"
MEDIA_TYPES = {
    ("get", RECORDING, "200"): {"audio/mpeg"},
    # The calls routes answer CSV when asked (Accept: text/csv or format=csv).
    ("get", "/api/agents/{agentId}/calls", "200"): {"application/json", "text/csv"},
    ("get", "/api/calls", "200"): {"application/json", "text/csv"},
}
RESPONSES = {
    ("post", "/api/agents"): {
        201: AGENT,
        400: ERROR,
        409: ERROR,
        410: ERROR,
        415: ERROR,
        422: ERROR,
        502: ERROR,
        504: ERROR,
        **COMMON_ERRORS,
    },
    ("get", "/api/agents"): {200: PAGE, 400: ERROR, **COMMON_ERRORS},
    ("get", "/api/phone-number-options"): {200: "PhoneNumberOptions", **COMMON_ERRORS},
    ("get", "/api/agents/{agentId}"): {200: AGENT, 404: ERROR, **COMMON_ERRORS},
    ("get", "/api/agents/{agentId}/calls"): {200: CALLS, 400: ERROR, 404: ERROR, **COMMON_ERRORS},
    ("get", "/api/calls"): {200: CALLS, 400: ERROR, **COMMON_ERRORS},
    ("get", "/api/agents/{agentId}/usage"): {200: "Usage", 400: ERROR, 404: ERROR, **COMMON_ERRORS},
    ("get", CALL): {200: "CallDetail", 404: ERROR, **COMMON_ERRORS},
    ("get", RECORDING): {200: "audio/mpeg", 404: ERROR, **COMMON_ERRORS},
    ("get", CONVERSATION_RECORDING): {200: "RecordingLink", 404: ERROR, **COMMON_ERRORS},
    ("patch", "/api/agents/{agentId}"): {
        200: AGENT,
        400: ERROR,
        404: ERROR,
        409: ERROR,
        412: ERROR,
        415: ERROR,
        422: ERROR,
        502: ERROR,
        504: ERROR,
        **COMMON_ERRORS,
    },
    ("delete", "/api/agents/{agentId}"): {
        200: OUTCOME,
        202: OUTCOME,
        404: ERROR,
        409: ERROR,
        **COMMON_ERRORS,
    },
    ("get", "/api/notifications"): {200: SETTINGS, **COMMON_ERRORS},
    ("put", "/api/notifications"): {200: SETTINGS, 400: ERROR, 415: ERROR, **COMMON_ERRORS},
    ("post", "/api/notifications/secret"): {200: SETTINGS, 409: ERROR, **COMMON_ERRORS},
    ("post", "/api/notifications/test"): {200: TEST_DELIVERY, 409: ERROR, **COMMON_ERRORS},
}


@cache
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_openapi", GENERATOR)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


@cache
def _committed() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DOCUMENT.read_text())
    return document


def committed() -> dict[str, Any]:
    return copy.deepcopy(_committed())


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield method, path, operation


def schema(name: str) -> dict[str, Any]:
    found: dict[str, Any] = committed()["components"]["schemas"][name]
    return found


def inlined(node: Any, components: dict[str, Any]) -> Any:
    """A component schema with its references to other components replaced by their contents."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(SCHEMA_REF):
            return inlined(components[ref.removeprefix(SCHEMA_REF)], components)
        return {key: inlined(value, components) for key, value in node.items()}
    if isinstance(node, list):
        return [inlined(value, components) for value in node]
    return node


def strict(node: Any) -> Any:
    """Every object schema closed, so a body with an undocumented key fails validation."""
    if isinstance(node, dict):
        closed = {key: strict(value) for key, value in node.items()}
        if closed.get("type") == "object" and "properties" in closed:
            closed.setdefault("additionalProperties", False)
        return closed
    if isinstance(node, list):
        return [strict(value) for value in node]
    return node


def error_schema() -> dict[str, Any]:
    components = committed()["components"]["schemas"]
    return dict(strict(inlined(components["Error"], components)))


# ------------------------------------------------------------------ the committed file is current


def test_committed_document_is_what_the_resolvers_generate():
    generated = generator().render(generator().build_document())
    committed_text = DOCUMENT.read_text()
    if committed_text != generated:
        diff = difflib.unified_diff(
            committed_text.splitlines(), generated.splitlines(), "committed", "generated", lineterm=""
        )
        pytest.fail(
            "openapi/openapi.json is out of date: run `make openapi` and commit openapi.json and types.ts\n"
            + "\n".join(list(diff)[:40])
        )


def test_document_is_stable_json_with_a_trailing_newline():
    text = DOCUMENT.read_text()
    assert text.endswith("}\n")
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


def test_check_mode_fails_on_a_stale_file_and_passes_on_a_current_one(tmp_path, capsys):
    expected = generator().render(generator().build_document())
    stale = tmp_path / "openapi.json"
    stale.write_text(expected.replace('"Create an agent"', '"Make an agent"'))
    assert generator().check(stale, expected) == 1
    assert "out of date (2 lines differ)" in capsys.readouterr().err
    stale.write_text(expected)
    assert generator().check(stale, expected) == 0
    assert generator().check(tmp_path / "missing.json", expected) == 1


def test_info_carries_the_title_and_the_project_version():
    with (ROOT / "pyproject.toml").open("rb") as file:
        version = tomllib.load(file)["project"]["version"]
    info = committed()["info"]
    assert info["title"] == "Voice agents API"
    assert info["version"] == version


# ------------------------------------------------------------------ a valid OpenAPI 3 document


def test_openapi_spec_validator_accepts_it():
    openapi_spec_validator.validate(committed())


def test_it_is_openapi_3_with_paths_and_components():
    document = committed()
    assert re.fullmatch(r"3\.\d+\.\d+", document["openapi"])
    assert set(document) <= {
        "openapi",
        "info",
        "servers",
        "paths",
        "webhooks",
        "components",
        "tags",
        "security",
    }
    assert all(path.startswith("/") for path in document["paths"])


def test_every_reference_resolves():
    document = committed()
    refs: list[str] = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(document)
    assert refs
    for ref in refs:
        assert ref.startswith("#/"), ref
        target: Any = document
        for token in ref[2:].split("/"):
            key = token.replace("~1", "/").replace("~0", "~")
            assert isinstance(target, dict)
            assert key in target, f"{ref} does not resolve"
            target = target[key]


def test_every_component_schema_is_used_and_is_valid_json_schema():
    document = committed()
    text = (
        json.dumps(document["paths"]) + json.dumps(document["webhooks"]) + json.dumps(document["components"])
    )
    for name, component in document["components"]["schemas"].items():
        assert f'"{SCHEMA_REF}{name}"' in text, f"{name} is not used"
        jsonschema.Draft202012Validator.check_schema(component)


def test_every_operation_has_responses_and_the_jwt_security():
    document = committed()
    schemes = document["components"]["securitySchemes"]
    assert schemes == {
        "JwtAuthorizer": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": schemes["JwtAuthorizer"]["description"],
        }
    }
    for method, path, operation in operations(document):
        route = f"{method.upper()} {path}"
        assert operation["security"] == [{"JwtAuthorizer": []}], route
        assert operation["summary"], route
        responses = operation["responses"]
        assert any(status.startswith("2") for status in responses), route
        for status, response in responses.items():
            assert re.fullmatch(r"[1-5]\d\d", status), (route, status)
            assert response["description"], (route, status)
            assert set(response["content"]) == MEDIA_TYPES.get(
                (method, path, status), {"application/json"}
            ), (
                route,
                status,
            )


def test_operation_ids_are_unique_and_readable():
    ids = [operation["operationId"] for _, _, operation in operations(committed())]
    assert sorted(ids) == [
        "createAgent",
        "deleteAgent",
        "getAgent",
        "getCall",
        "getCallRecording",
        "getConversationRecordingLink",
        "getNotifications",
        "getUsage",
        "listAgents",
        "listAllCalls",
        "listCalls",
        "listPhoneNumberOptions",
        "putNotifications",
        "rotateNotificationSecret",
        "testNotifications",
        "updateAgent",
    ]


def test_path_parameters_match_the_path_templates():
    for method, path, operation in operations(committed()):
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        assert declared == set(re.findall(r"{(\w+)}", path)), f"{method.upper()} {path}"
        assert all(p["required"] for p in operation.get("parameters", []) if p["in"] == "path")


# ------------------------------------------------------------------ what the API does


def test_routes_are_exactly_the_frontend_api():
    routes = {(method, path) for method, path, _ in operations(committed())}
    assert routes == {
        ("post", "/api/agents"),
        ("get", "/api/agents"),
        ("get", "/api/phone-number-options"),
        ("get", "/api/agents/{agentId}"),
        ("patch", "/api/agents/{agentId}"),
        ("delete", "/api/agents/{agentId}"),
        ("get", "/api/agents/{agentId}/calls"),
        ("get", "/api/calls"),
        ("get", "/api/agents/{agentId}/usage"),
        ("get", CALL),
        ("get", RECORDING),
        ("get", CONVERSATION_RECORDING),
        ("get", "/api/notifications"),
        ("put", "/api/notifications"),
        ("post", "/api/notifications/secret"),
        ("post", "/api/notifications/test"),
    }


def test_each_operation_documents_its_success_and_error_statuses():
    for method, path, operation in operations(committed()):
        documented = {
            int(status): response["content"]["application/json"]["schema"]["$ref"].removeprefix(SCHEMA_REF)
            if "application/json" in response["content"]
            else next(iter(response["content"]))
            for status, response in operation["responses"].items()
        }
        assert documented == RESPONSES[(method, path)], f"{method.upper()} {path}"


def test_powertools_422_validation_body_is_not_documented():
    # Request validation errors are answered 400 with an Error body by voice_agents.http.resolver.
    text = DOCUMENT.read_text()
    assert "HTTPValidationError" not in text
    assert "ValidationError" not in text


def test_create_agent_takes_an_optional_idempotency_key_header():
    operation = committed()["paths"]["/api/agents"]["post"]
    assert operation["requestBody"]["required"] is True
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": f"{SCHEMA_REF}CreateAgentRequest"
    }
    headers = [p for p in operation["parameters"] if p["in"] == "header"]
    assert len(headers) == 1
    assert headers[0]["name"] == "Idempotency-Key"
    assert headers[0]["required"] is False
    assert headers[0]["schema"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH,
        "pattern": "^[ -~]+$",
    }


def test_list_agents_query_parameters_have_their_limits():
    parameters = {p["name"]: p for p in committed()["paths"]["/api/agents"]["get"]["parameters"]}
    assert set(parameters) == {"limit", "cursor"}
    assert all(p["in"] == "query" and p["required"] is False for p in parameters.values())
    limit, cursor = parameters["limit"]["schema"], parameters["cursor"]["schema"]
    assert (limit["type"], limit["minimum"], limit["maximum"], limit["default"]) == ("integer", 1, 100, 20)
    # A query string is present or absent, never null.
    # The id of the page's last agent: exactly the strings the API accepts as a cursor.
    assert (cursor["type"], cursor["pattern"]) == ("string", "^[0-9a-fA-F]{24}$")
    assert "anyOf" not in cursor


def test_create_agent_request_forbids_unknown_fields_and_has_the_field_limits():
    request = schema("CreateAgentRequest")
    assert request["additionalProperties"] is False
    assert request["required"] == ["name", "prompt"]
    properties = request["properties"]
    assert set(properties) == {
        "name",
        "description",
        "prompt",
        "beginMessage",
        "voiceId",
        "language",
        # where calls go besides the agent (tests/integration/test_call_path.py)
        "transferNumber",
        "fallback",
        "answerMode",
        "ringSeconds",
        "businessHours",
        # the owner's questions about each call (tests/integration/test_post_call_fields.py)
        "postCallFields",
        # where the number comes from (tests/integration/test_countries.py)
        "country",
        "numberType",
    }
    assert properties["postCallFields"]["maxItems"] == 10
    field = schema("PostCallField")
    assert field["required"] == ["name", "type", "description"]
    assert field["properties"]["type"]["enum"] == ["string", "enum", "boolean", "number"]
    assert field["properties"]["name"]["pattern"] == "^[a-z][a-z0-9_]{0,39}$"
    assert (properties["name"]["minLength"], properties["name"]["maxLength"]) == (1, 100)
    assert (properties["prompt"]["minLength"], properties["prompt"]["maxLength"]) == (1, 20_000)
    for optional, max_length in (("description", 1000), ("beginMessage", 1000)):
        text, null = properties[optional]["anyOf"]
        assert (text["type"], text["maxLength"], null) == ("string", max_length, {"type": "null"})
        # The characters it may hold (tests/unit/test_declared_constraints.py checks it against the code).
        assert "pattern" in text
    voice = properties["voiceId"]
    assert (voice["minLength"], voice["maxLength"], voice["pattern"]) == (1, 100, r"^[A-Za-z0-9._-]+$")
    assert voice["default"] == "11labs-Adrian"
    assert properties["language"]["enum"] == list(get_args(Language))
    assert properties["language"]["default"] == "en-AU"

    validator = jsonschema.Draft202012Validator(request)
    body = {"name": "Reception", "prompt": "You answer the phone."}
    assert validator.is_valid(body)
    assert not validator.is_valid({**body, "nmae": "typo"})
    assert not validator.is_valid({**body, "name": "x" * 101})
    assert not validator.is_valid({**body, "voiceId": "no spaces"})
    assert not validator.is_valid({**body, "language": "xx-XX"})
    assert not validator.is_valid({"name": "Reception"})
    assert validator.is_valid({**body, "country": "GB", "numberType": "local"})
    assert not validator.is_valid({**body, "country": "gb"})
    assert not validator.is_valid({**body, "numberType": "national"})
    assert not validator.is_valid({**body, "country": None})


def test_response_schemas_name_every_field_the_frontend_reads():
    agent = schema("Agent")
    assert set(agent["properties"]) >= {
        "id",
        "name",
        "status",
        "phoneNumber",
        "twilioPhoneNumberSid",
        "webhookUrl",
        "createdAt",
        "updatedAt",
    }
    assert agent["properties"]["createdAt"]["format"] == "date-time"
    assert schema("AgentPage")["properties"]["items"]["items"] == {"$ref": f"{SCHEMA_REF}Agent"}
    outcome = schema("DeleteOutcome")
    assert outcome["properties"]["status"]["enum"] == ["deleted", "deleting"]
    assert outcome["properties"]["pending"]["items"] == {"type": "string"}


def test_error_schema_has_the_documented_details():
    error = schema("Error")
    assert error["required"] == ["error", "message", "requestId"]
    assert set(error["properties"]) == {
        "error",
        "message",
        "requestId",
        "limit",
        "retryAt",
        "fields",
        "step",
        "agentId",
        "setting",
        "rolledBack",
        "cleanupPending",
        "provider",
        "pending",
        "etag",
        "status",
    }
    assert schema("FieldError")["required"] == ["field", "message"]


# ------------------------------------------------------------------ the document matches the handlers

AGENT_ID = "65f000000000000000000001"
ERROR_CASES = [
    (InvalidRequest("cursor", "cursor is not one this API returned"), 400),
    (AgentNotFound(f"agent {AGENT_ID} not found"), 404),
    (RequestInProgress("a request with this Idempotency-Key is still in progress"), 409),
    (IdempotencyKeyReused("this Idempotency-Key was already used with a different request body"), 422),
    (AgentDeleted(f"the agent {AGENT_ID} this Idempotency-Key created has since been deleted"), 410),
    (QuotaExceeded(25), 429),
    (PurchaseLimitReached(10, datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)), 429),
    (CreationPaused("creating agents is paused by the operator"), 503),
    (ConfigurationError("Twilio 21649: a bundle is required", setting="TWILIO_BUNDLE_SID"), 500),
    (RuntimeError("a bug"), 500),
    (
        ProvisioningFailed(
            AGENT_ID,
            "buy_number",
            ConfigurationError("Twilio 21631: an address is required", setting="TWILIO_ADDRESS_SID"),
        ),
        500,
    ),
    (
        ProvisioningFailed(
            AGENT_ID, "create_llm", UpstreamError("retell", "create llm", "boom"), cleanup_pending=["llm"]
        ),
        502,
    ),
    (ProvisioningFailed(AGENT_ID, "buy_number", BillingError("twilio", "buy number", "no funds")), 502),
    (UpstreamError("twilio", "release number", "boom"), 502),
    (ProvisioningFailed(AGENT_ID, "save_agent", StoreError("down")), 503),
    (StoreError("down"), 503),
    (ProvisioningFailed(AGENT_ID, "buy_number", DeadlineExceeded("buy_number", 900)), 504),
    (PreconditionFailed('"3"'), 412),
    (AgentNotActive("deleting"), 409),
    (UpdateFailed(AGENT_ID, "update_llm", UpstreamError("retell", "update llm", "boom")), 502),
    (UpdateFailed(AGENT_ID, "publish", DeadlineExceeded("publish", 900), pending=True), 504),
    (UpdateFailed(AGENT_ID, "commit", StoreError("down"), pending=True), 503),
]


def probe_event() -> dict[str, Any]:
    event = load_event("get_agents.json", rawPath="/probe", rawQueryString="", queryStringParameters=None)
    event["requestContext"]["http"]["path"] = "/probe"
    event["routeKey"] = event["requestContext"]["routeKey"] = "GET /probe"
    return event


def case_id(case: object) -> str:
    if isinstance(case, ProvisioningFailed):
        return f"ProvisioningFailed({type(case.cause).__name__})"
    return type(case).__name__ if isinstance(case, BaseException) else str(case)


@pytest.mark.parametrize(("exc", "status"), ERROR_CASES, ids=case_id)
def test_every_error_body_matches_the_error_schema_and_a_documented_status(exc, status):
    app = build_resolver(runtime.process())

    @app.get("/probe")
    def probe() -> None:
        raise exc

    response = app.resolve(probe_event(), cast(Any, LambdaContext()))
    assert response["statusCode"] == status
    body = json.loads(response["body"])
    jsonschema.validate(body, error_schema())
    assert f"`{body['error']}`" in schema("Error")["properties"]["error"]["description"]
    assert any(
        str(status) in operation["responses"]
        and operation["responses"][str(status)]["content"]["application/json"]["schema"]["$ref"]
        == f"{SCHEMA_REF}Error"
        for _, _, operation in operations(committed())
    )


def test_request_validation_errors_are_the_documented_400(monkeypatch):
    def unreachable(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the request should have been rejected before reaching the domain")

    monkeypatch.setattr(create, "create_agent", unreachable)
    monkeypatch.setattr(reads, "list_agents", unreachable)
    cases = [
        ("create_agent", http_event("create_agent.json", body={"name": "x", "prompt": "p", "nmae": 1})),
        ("create_agent", http_event("create_agent.json", body={"name": "x" * 101, "prompt": "p"})),
        ("create_agent", http_event("create_agent.json", headers={"idempotency-key": "k" * 256})),
        ("get_agents", http_event("get_agents.json", query={"limit": "0"})),
    ]
    for function, event in cases:
        response = handler_module(function).app.resolve(event, LambdaContext())
        assert response["statusCode"] == 400, response["body"]
        body = json.loads(response["body"])
        jsonschema.validate(body, error_schema())
        assert body["error"] == "validation_error"
        assert body["fields"]


def test_refused_bodies_are_documented_error_bodies(monkeypatch):
    def unreachable(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the request should have been refused before reaching the domain")

    monkeypatch.setattr(create, "create_agent", unreachable)
    documented = committed()["paths"]["/api/agents"]["post"]["responses"]
    not_json = http_event("create_agent.json", body='{"name": ')
    form = http_event("create_agent.json", headers={"content-type": "application/x-www-form-urlencoded"})
    for event, status, error in ((not_json, 400, "validation_error"), (form, 415, "unsupported_media_type")):
        response = handler_module("create_agent").app.resolve(event, LambdaContext())
        assert response["statusCode"] == status, response["body"]
        body = json.loads(response["body"])
        jsonschema.validate(body, error_schema())
        assert body["error"] == error
        assert f"`{error}`" in documented[str(status)]["description"]


def test_the_webhook_an_owner_receives_is_documented_with_its_signature_headers():
    webhook = committed()["webhooks"]["callAnalyzed"]["post"]
    headers = {parameter["name"] for parameter in webhook["parameters"] if parameter["in"] == "header"}
    body = webhook["requestBody"]["content"]["application/json"]["schema"]

    assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert body == {"$ref": f"{SCHEMA_REF}CallAnalyzedEvent"}
    event = schema("CallAnalyzedEvent")
    assert set(event["required"]) == {"type", "timestamp", "data"}
    assert {"agentName", "customAnalysisData", "callSid", "summary", "from"} <= set(
        schema("AnalysedCallData")["properties"]
    )
