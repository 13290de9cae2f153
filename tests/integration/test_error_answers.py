"""Error answers under real faults carry a fixed sentence and the request id; the cause (hosts,
ports, provider URLs with the account SID, a secret's ARN, driver texts) goes to the log only."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from local.invoke import http_event, invoke
from local.stack import TWILIO_ACCOUNT_SID
from tests.integration.answers import LogLines, assert_plain_error
from voice_agents import runtime

pytestmark = pytest.mark.integration

REGION = "ap-southeast-2"
AGENT_ID = "65f000000000000000000001"
# What a provider's error text can hold: its own URL with our account SID, an internal host.
LEAKY_MESSAGE = (
    f"Internal error at https://api.twilio.com/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/"
    "IncomingPhoneNumbers.json (upstream 10.0.3.7:8443, PN" + "f" * 32 + ")"
)


def request(function: str, request_id: str) -> dict[str, Any]:
    events = {
        "create_agent": http_event("create_agent.json", headers={"idempotency-key": f"key-{request_id}"}),
        "create_agent_without_key": http_event("create_agent.json", headers={}),
        "list_agents": http_event("get_agents.json"),
        "get_agent": http_event("get_agent.json", agent_id=AGENT_ID),
        "delete_agent": http_event("delete_agent.json", agent_id=AGENT_ID),
    }
    event = events[function]
    event["requestContext"]["requestId"] = request_id
    return event


HANDLER = {
    "create_agent": "create_agent",
    "create_agent_without_key": "create_agent",
    "list_agents": "get_agents",
    "get_agent": "get_agents",
    "delete_agent": "delete_agent",
}


def answer(function: str, request_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    event = request(function, request_id)
    return invoke(HANDLER[function], event), event


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def assert_cause_logged(log_lines: LogLines, request_id: str, *fragments: str) -> None:
    text = json.dumps(log_lines.of_request(request_id))
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} is not in the log lines of {request_id}: {text[:2000]}"


# --- the database --------------------------------------------------------------------------------


@pytest.mark.parametrize("function", sorted(HANDLER))
def test_database_unreachable(env, monkeypatch, log_lines, function):
    port = closed_port()
    monkeypatch.setenv("MONGODB_URI", f"mongodb://127.0.0.1:{port}/")
    runtime.reset()

    response, event = answer(function, f"db-down-{function}")

    body = assert_plain_error(response, event, 503)
    assert body["error"] == "database_unavailable"
    assert_cause_logged(log_lines, f"db-down-{function}", f"127.0.0.1:{port}")


@pytest.mark.parametrize("function", ["create_agent", "create_agent_without_key", "list_agents"])
def test_database_host_unresolvable(env, monkeypatch, log_lines, function):
    monkeypatch.setenv("MONGODB_URI", "mongodb+srv://cluster0.unresolvable.invalid/")
    runtime.reset()

    response, event = answer(function, f"srv-{function}")

    assert assert_plain_error(response, event, 503)["error"] == "database_unavailable"
    assert_cause_logged(log_lines, f"srv-{function}", "cluster0.unresolvable.invalid")


# --- the providers -------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["RETELL", "TWILIO"])
def test_provider_connection_refused(env, monkeypatch, log_lines, provider):
    port = closed_port()
    monkeypatch.setenv(f"{provider}_BASE_URL", f"http://127.0.0.1:{port}")
    runtime.reset()

    response, event = answer("create_agent", f"refused-{provider}")

    body = assert_plain_error(response, event, 502)
    assert body["error"] == "provisioning_failed"
    assert body["step"] in ("create_llm", "search_numbers")
    assert_cause_logged(log_lines, f"refused-{provider}", "Connection refused")


@pytest.mark.parametrize(
    ("operation", "step"), [("create_llm", "create_llm"), ("search_numbers", "search_numbers"),
                            ("buy_number", "buy_number"), ("create_agent", "create_agent")],
)  # fmt: skip
def test_provider_5xx_with_a_leaky_message(env, log_lines, operation, step):
    fake = env.retell if operation in env.retell.operations else env.twilio
    fake.inject(operation, status=500, code=20500, message=LEAKY_MESSAGE)

    response, event = answer("create_agent", f"5xx-{operation}")

    body = assert_plain_error(response, event, 502)
    assert (body["error"], body["step"]) == ("provisioning_failed", step)
    assert body["rolledBack"] is True
    assert_cause_logged(log_lines, f"5xx-{operation}", "10.0.3.7:8443")


def test_provider_rejecting_the_credentials(env, monkeypatch, log_lines):
    monkeypatch.setenv("RETELL_API_KEY", "key_rotated_away")
    runtime.reset()

    response, event = answer("create_agent", "retell-401")

    body = assert_plain_error(response, event, 500)
    assert (body["error"], body["setting"]) == ("configuration_error", "RETELL_API_KEY")
    assert "RETELL_API_KEY" in body["message"]


def test_provider_regulatory_error_with_a_leaky_message(env, log_lines):
    env.twilio.inject("buy_number", status=400, code=21649, message=LEAKY_MESSAGE)

    response, event = answer("create_agent", "twilio-21649")

    body = assert_plain_error(response, event, 500)
    assert (body["error"], body["setting"], body["step"]) == (
        "configuration_error",
        "TWILIO_BUNDLE_SID",
        "buy_number",
    )
    assert_cause_logged(log_lines, "twilio-21649", "10.0.3.7:8443")


# --- configuration from the secret ----------------------------------------------------------------


@pytest.fixture
def secrets(env, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto's Secrets Manager; RETELL_API_KEY left to the secret, so the secret is read."""
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("RETELL_API_KEY")
    parameters.clear_caches()
    runtime.reset()
    with mock_aws():
        yield boto3.client("secretsmanager", region_name=REGION)
    parameters.clear_caches()
    runtime.reset()


def missing_secret(client: Any) -> str:
    return f"arn:aws:secretsmanager:{REGION}:123456789012:secret:voice-agents/absent-AbCdEf"


def secret_not_json(client: Any) -> str:
    return str(client.create_secret(Name="voice-agents/not-json", SecretString="RETELL_API_KEY=k")["ARN"])


def secret_without_the_value(client: Any) -> str:
    return str(client.create_secret(Name="voice-agents/partial", SecretString="{}")["ARN"])


SECRET_CASES = [
    (make_secret, function)
    for make_secret in (missing_secret, secret_not_json)
    for function in ("create_agent", "list_agents", "delete_agent")
] + [(secret_without_the_value, "create_agent"), (secret_without_the_value, "delete_agent")]


@pytest.mark.parametrize(("make_secret", "function"), SECRET_CASES)
def test_configuration_errors_from_the_secret(secrets, monkeypatch, log_lines, make_secret, function):
    arn = make_secret(secrets)
    monkeypatch.setenv("SECRETS_ARN", arn)
    request_id = f"secret-{make_secret.__name__}-{function}"

    response, event = answer(function, request_id)

    body = assert_plain_error(response, event, 500)
    assert body["error"] == "configuration_error"
    assert body["setting"] in ("SECRETS_ARN", "RETELL_API_KEY")
    assert_cause_logged(log_lines, request_id, "configuration error")


# --- a client's mistake --------------------------------------------------------------------------


@pytest.mark.parametrize("function", ["get_agent", "delete_agent"])
def test_a_clients_mistake_logs_no_stack_trace(env, caplog, function):
    with caplog.at_level(logging.DEBUG):
        response, event = answer(function, f"missing-{function}")

    assert assert_plain_error(response, event, 404)["error"] == "not_found"
    assert [record.getMessage() for record in caplog.records if record.exc_info] == []
