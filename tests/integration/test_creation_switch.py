"""The kill switch (CREATION_PAUSED_PARAMETER, an SSM parameter in moto): "true" refuses every create
with 503 before anything is bought, the spending alarm's function turns it on, the operator turns it
back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.invoke import http_event, invoke, json_body
from tests.aws import REGION
from tests.integration.emf import emitted_metrics
from voice_agents import runtime
from voice_agents.flows.agents.spending import REFUSED_WHILE_PAUSED
from voice_agents.repair import operate

pytestmark = pytest.mark.integration

PARAMETER = "/voice-agents-test/creation-paused"
ALARM_ARN = f"arn:aws:cloudwatch:{REGION}:123456789012:alarm:voice-agents-test-AgentsCreatedAlarm"


@pytest.fixture
def ssm(env, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto's SSM with fake credentials, and the functions told the switch's name."""
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SSM", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("CREATION_PAUSED_PARAMETER", PARAMETER)
    runtime.reset()
    with mock_aws():
        yield boto3.client("ssm", region_name=REGION)
    runtime.reset()


def switch_to(ssm: Any, value: str) -> None:
    ssm.put_parameter(Name=PARAMETER, Value=value, Type="String", Overwrite=True)


def switch_value(ssm: Any) -> str:
    return str(ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"])


def create(key: str) -> dict[str, Any]:
    return invoke("create_agent", http_event("create_agent.json", headers={"idempotency-key": key}))


def alarm_state_change(state: str) -> dict[str, Any]:
    """EventBridge's event for the spending alarm's change of state, as the rule delivers it."""
    return {
        "version": "0",
        "id": "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92",
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": "123456789012",
        "region": REGION,
        "resources": [ALARM_ARN],
        "detail": {
            "alarmName": "voice-agents-test-AgentsCreatedAlarm",
            "state": {"value": state, "reason": "Threshold Crossed: 1 datapoint [20.0] >= 20.0"},
            "previousState": {"value": "OK" if state == "ALARM" else "ALARM"},
        },
    }


@pytest.mark.parametrize("value", ["false", None], ids=["false", "absent"])
def test_creates_go_on_while_the_switch_is_false_or_absent(env, ssm, value):
    if value is not None:
        switch_to(ssm, value)

    answer = create("switch-off")

    assert answer["statusCode"] == 201, answer["body"]
    assert len(env.twilio.owned) == 1


def test_a_paused_switch_refuses_creates_with_503_and_buys_nothing_until_the_operator_resumes(
    env, db, ssm, capsys
):
    # Given the switch turned on
    switch_to(ssm, "true")

    # When a create arrives
    refused = create("while-paused")

    # Then it is refused with 503 creation_paused, and nothing was bought, asked of Retell or written
    assert refused["statusCode"] == 503, refused["body"]
    body = json_body(refused)
    assert body["error"] == "creation_paused" and "paused" in body["message"] and body["requestId"]
    assert env.twilio.owned == {} and env.twilio.call_count("buy_number") == 0
    assert env.twilio.call_count("search_numbers") == 0 and env.retell.call_count("create_llm") == 0
    assert db.agents.count_documents({}) == 0 and db.purchases.count_documents({}) == 0
    # And counted apart, so that Api5xxAlarm does not page for a pause it was told of
    assert emitted_metrics(capsys.readouterr().out)[REFUSED_WHILE_PAUSED] == [1]

    # When the operator turns creates back on
    assert operate.main(["creation", "resume"]) == 0
    assert "allowed" in capsys.readouterr().out
    # Then the parameter says so, and the refused key creates (it was not used up)
    assert switch_value(ssm) == "false"
    assert create("while-paused")["statusCode"] == 201
    assert len(env.twilio.owned) == 1


def test_the_spending_alarm_turns_the_switch_on_and_its_recovery_does_not_turn_it_off(env, ssm):
    # Given creates allowed
    switch_to(ssm, "false")
    assert create("before-the-alarm")["statusCode"] == 201

    # When the spending alarm enters ALARM
    outcome = invoke("pause_creation", alarm_state_change("ALARM"))

    # Then the switch is on, and the next create is refused without buying
    assert outcome == {"paused": True, "alarm": "voice-agents-test-AgentsCreatedAlarm", "state": "ALARM"}
    assert switch_value(ssm) == "true"
    runtime.reset()  # another instance: it reads the parameter afresh
    assert create("after-the-alarm")["statusCode"] == 503
    assert len(env.twilio.owned) == 1

    # And when the alarm recovers, creates stay paused: only an operator resumes them
    assert invoke("pause_creation", alarm_state_change("OK"))["paused"] is False
    assert switch_value(ssm) == "true"


def test_an_unreadable_switch_refuses_creates_as_a_configuration_error(env, ssm):
    # Given a switch holding something that is neither true nor false
    switch_to(ssm, "perhaps")

    answer = create("unreadable")

    # Then nothing is bought, and the operator is told which setting to fix
    assert answer["statusCode"] == 500
    assert json_body(answer)["setting"] == "CREATION_PAUSED_PARAMETER"
    assert env.twilio.call_count("buy_number") == 0
