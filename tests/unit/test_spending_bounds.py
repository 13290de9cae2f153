"""The spending bounds' pure parts and the kill switch's reading: the settings, the 429's Retry-After,
the switch's one-minute cache over moto's SSM, and the alarm handler's choice. No sockets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, cast

import boto3
import pytest
from moto import mock_aws

from local.invoke import LambdaContext
from local.sample_events import load_event
from tests.aws import REGION
from voice_agents.core.clock import now
from voice_agents.core.errors import ConfigurationError, PurchaseLimitReached
from voice_agents.core.settings import load_settings
from voice_agents.flows.agents.spending import pause_for_alarm
from voice_agents.http.resolver import build_resolver
from voice_agents.providers.creation_switch import MAX_AGE_SECONDS, CreationSwitch

pytestmark = pytest.mark.usefixtures("no_network")

PARAMETER = "/voice-agents-unit/creation-paused"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ssm(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SSM", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield boto3.client("ssm", region_name=REGION)


def put(ssm: Any, value: str) -> None:
    ssm.put_parameter(Name=PARAMETER, Value=value, Type="String", Overwrite=True)


# --- settings ---------------------------------------------------------------------------------------


def test_the_bounds_default_to_ten_purchases_no_switch_and_any_voice():
    settings = load_settings(environ={})

    assert settings.purchase_budget_per_day == 10
    assert settings.creation_paused_parameter is None
    assert settings.voice_allow_list == ()


def test_the_voice_allow_list_is_read_from_commas_without_blanks_or_repeats():
    settings = load_settings(environ={"ALLOWED_VOICE_IDS": " 11labs-Adrian,, openai-Alloy ,11labs-Adrian"})

    assert settings.voice_allow_list == ("11labs-Adrian", "openai-Alloy")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PURCHASE_BUDGET_PER_DAY", "0"),
        ("ALLOWED_VOICE_IDS", "voice;drop"),
        ("CREATION_PAUSED_PARAMETER", "has spaces"),
    ],
)
def test_an_invalid_bound_fails_naming_its_variable(variable, value):
    with pytest.raises(ConfigurationError) as raised:
        load_settings(environ={variable: value})
    assert raised.value.setting == variable


# --- the 429's Retry-After ----------------------------------------------------------------------------


class _Unlimited:
    """A process whose settings turn the owner's rate limit off: this test is about another 429."""

    def settings(self) -> Any:
        return load_settings(environ={"OWNER_READS_PER_MINUTE": "0", "OWNER_WRITES_PER_MINUTE": "0"})


def test_a_purchase_limit_answer_says_when_to_retry_in_its_body_and_in_retry_after():
    app = build_resolver(cast(Any, _Unlimited()))
    frees_at = now() + timedelta(minutes=90)

    @app.get("/probe")
    def probe() -> None:
        raise PurchaseLimitReached(10, frees_at)

    event = load_event("get_agents.json", rawPath="/probe", rawQueryString="", queryStringParameters=None)
    event["requestContext"]["http"]["path"] = "/probe"
    answer = app.resolve(event, cast(Any, LambdaContext()))

    assert answer["statusCode"] == 429
    assert 90 * 60 - 5 <= int(answer["headers"]["Retry-After"]) <= 90 * 60
    body = json.loads(answer["body"])
    assert body["error"] == "purchase_limit" and body["limit"] == 10
    assert body["retryAt"] == frees_at.isoformat(timespec="seconds").replace("+00:00", "Z")


# --- the kill switch ------------------------------------------------------------------------------------


def test_the_switch_is_read_once_a_minute_and_a_write_is_seen_at_once(ssm):
    clock = Clock()
    put(ssm, "false")
    switch = CreationSwitch(PARAMETER, clock=clock)
    assert switch.paused() is False

    # Someone else turns it on: this process sees it once its value is a minute old
    put(ssm, "TRUE")
    clock.now += MAX_AGE_SECONDS - 1
    assert switch.paused() is False
    clock.now += 1
    assert switch.paused() is True

    # Its own write is seen at once, here and in SSM
    switch.set(paused=False)
    assert switch.paused() is False
    assert ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"] == "false"


def test_a_missing_parameter_reads_as_not_paused_and_a_bad_value_fails_unless_one_is_in_hand(ssm):
    clock = Clock()
    switch = CreationSwitch(PARAMETER, clock=clock)
    assert switch.paused() is False  # no parameter at all

    put(ssm, "true")
    clock.now += MAX_AGE_SECONDS
    assert switch.paused() is True
    # A value that is neither true nor false keeps the value in hand
    put(ssm, "yes please")
    clock.now += MAX_AGE_SECONDS
    assert switch.paused() is True
    # and with nothing in hand, refuses naming the setting
    with pytest.raises(ConfigurationError) as raised:
        CreationSwitch(PARAMETER, clock=clock).paused()
    assert raised.value.setting == "CREATION_PAUSED_PARAMETER"


def test_the_alarm_handler_pauses_only_on_alarm_and_needs_a_switch(ssm):
    put(ssm, "false")
    switch = CreationSwitch(PARAMETER)

    assert (
        pause_for_alarm({"detail": {"alarmName": "a", "state": {"value": "OK"}}}, switch)["paused"] is False
    )
    assert ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"] == "false"
    assert pause_for_alarm({"detail": {"alarmName": "a", "state": {"value": "ALARM"}}}, switch)["paused"]
    assert ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"] == "true"
    with pytest.raises(ConfigurationError):
        pause_for_alarm({"detail": {"alarmName": "a", "state": {"value": "ALARM"}}}, None)
