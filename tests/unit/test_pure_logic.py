"""Pure logic, without the local stack: tags, retries, cursors, reading records of any shape, the
reconciler's decision per resource, and how a failed create's cause becomes an HTTP status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from types import SimpleNamespace
from typing import Any

import pytest
from bson import ObjectId

from voice_agents.core.errors import (
    AgentDeleted,
    AgentNotFound,
    BillingError,
    ConfigurationError,
    DeadlineExceeded,
    IdempotencyKeyReused,
    InvalidRequest,
    ProvisioningFailed,
    QuotaExceeded,
    RequestInProgress,
    StoreError,
    UpstreamError,
)
from voice_agents.core.retry import RATE_LIMITED_ATTEMPTS, RATE_LIMITED_MAX_DELAY, with_retries
from voice_agents.core.routing import FORWARD, VOICEMAIL, Destination
from voice_agents.core.statuses import AgentStatus
from voice_agents.core.tags import (
    agent_id_from_tag,
    agent_tag,
    fallback_url,
    llm_dynamic_variables,
    llm_tag,
    retell_agent_name,
    tag_for,
    webhook_url,
)
from voice_agents.data.agent_record import DELETED, NUMBER, RETELL_AGENT, RETELL_LLM, AgentRecord
from voice_agents.flows.agents import reads as agents
from voice_agents.http import errors as api
from voice_agents.models.agents import Agent
from voice_agents.repair import sweep

PREFIX = "va-test"
AGENT_ID = ObjectId("6650f1a2b3c4d5e6f7a8b9c0")
TAG = f"{PREFIX}:{AGENT_ID}"
NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


# --- tags ------------------------------------------------------------------------------------------


def test_a_tag_names_the_agent_and_reads_back_from_every_place_it_is_carried():
    tag = tag_for(PREFIX, AGENT_ID)

    assert tag == TAG
    assert agent_id_from_tag(PREFIX, tag) == AGENT_ID
    assert agent_tag({"agent_name": retell_agent_name(tag, "Front desk")}) == tag
    assert llm_tag({"default_dynamic_variables": llm_dynamic_variables(tag)}) == tag
    assert agent_id_from_tag(PREFIX, retell_agent_name(tag, "Front desk")) == AGENT_ID


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        f"va-other:{AGENT_ID}",  # another deployment's
        f"{PREFIX}-x:{AGENT_ID}",  # a prefix that only starts like ours
        f"{PREFIX}:{str(AGENT_ID)[:-1]}",  # too short to be an id
        f"{PREFIX}:{AGENT_ID}x",  # the id runs on
        f"{PREFIX}:{str(AGENT_ID).upper()}",  # not how an id is written
        str(AGENT_ID),  # no prefix at all
    ],
)
def test_text_that_is_not_exactly_our_tag_names_no_agent(text):
    assert agent_id_from_tag(PREFIX, text) is None


def test_untagged_retell_resources_carry_no_tag():
    assert agent_tag({}) is None
    assert agent_tag({"agent_name": ""}) is None
    assert llm_tag({"default_dynamic_variables": None}) is None
    assert llm_tag({"default_dynamic_variables": {"voice_agents_tag": ""}}) is None


def test_the_webhook_url_joins_the_base_and_the_route_whatever_the_trailing_slash():
    expected = f"https://api.example.com/api/webhooks/twilio/{AGENT_ID}"
    assert webhook_url("https://api.example.com", AGENT_ID) == expected
    assert webhook_url("https://api.example.com/", str(AGENT_ID)) == expected


# --- retries ---------------------------------------------------------------------------------------


def failing(errors: list[Exception]) -> tuple[list[int], Any]:
    calls: list[int] = []

    def call() -> str:
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return "done"

    return calls, call


def test_a_read_is_retried_on_a_retryable_error_until_it_succeeds():
    calls, call = failing([UpstreamError("retell", "get_llm", "502", status=502, retryable=True)])
    assert with_retries(call, sleep=lambda _: None) == "done"
    assert len(calls) == 2


def test_a_create_is_repeated_only_when_the_provider_did_not_process_it():
    maybe_done = UpstreamError("retell", "create_llm", "500", status=500, retryable=True)
    calls, call = failing([maybe_done])
    with pytest.raises(UpstreamError):
        with_retries(call, sleep=lambda _: None, creates=True)
    assert len(calls) == 1

    not_processed = UpstreamError("retell", "create_llm", "429", status=429, retryable=True, unprocessed=True)
    calls, call = failing([not_processed])
    assert with_retries(call, sleep=lambda _: None, creates=True) == "done"
    assert len(calls) == 2


def test_retries_give_up_after_the_last_attempt():
    errors: list[Exception] = [UpstreamError("twilio", "search", "503", status=503, retryable=True)] * 3
    calls, call = failing(list(errors))
    with pytest.raises(UpstreamError):
        with_retries(call, attempts=3, sleep=lambda _: None)
    assert len(calls) == 3


def test_a_rate_limited_create_backs_off_longer_within_the_deadline():
    rate_limited = UpstreamError("twilio", "buy_number", "20429", status=429, code=20429, unprocessed=True)
    pauses: list[float] = []

    # Five refusals in a row: more than other errors get, still repeated (nothing was processed)
    calls, call = failing([rate_limited] * 5)
    assert with_retries(call, sleep=pauses.append, creates=True) == "done"
    assert len(calls) == 6
    # Each pause is at most the back-off cap for a rate limit
    assert all(0 <= pause <= RATE_LIMITED_MAX_DELAY for pause in pauses)

    # A sixth refusal is the last: the caller answers cleanly instead of hammering the provider
    calls, call = failing([rate_limited] * 6)
    with pytest.raises(UpstreamError):
        with_retries(call, sleep=lambda _: None, creates=True)
    assert len(calls) == RATE_LIMITED_ATTEMPTS


# --- cursors ---------------------------------------------------------------------------------------


def test_a_cursor_round_trips_the_last_agent_id():
    cursor = agents._encode_cursor(str(AGENT_ID))
    assert "=" not in cursor
    assert agents.decode_cursor(cursor) == str(AGENT_ID)


@pytest.mark.parametrize("cursor", ["!!!", "bm90LWFuLWlk", "", "a"])
def test_a_cursor_the_api_did_not_return_is_a_validation_error(cursor):
    with pytest.raises(InvalidRequest) as raised:
        agents.decode_cursor(cursor)
    assert raised.value.field == "cursor"


# --- reading records of any shape ------------------------------------------------------------------


def test_a_record_of_an_older_shape_still_shows_as_an_agent():
    record = AgentRecord({"_id": AGENT_ID, "status": "archived", "name": 7, "voiceId": None})

    agent = Agent.from_record(record)

    assert agent.status is AgentStatus.FAILED
    assert agent.failedStep == "unknown_status"
    assert agent.name == ""
    assert agent.voiceId == "11labs-Adrian"
    assert agent.createdAt == AGENT_ID.generation_time


def test_ids_of_the_wrong_type_are_ignored_and_bad_lists_are_empty():
    record = AgentRecord(
        {"_id": AGENT_ID, "retellLlmId": 42, "retellAgentId": "", "unknownOutcomes": "retell_llm"}
    )
    assert record.resource_id(RETELL_LLM) is None
    assert record.resource_id(RETELL_AGENT) is None
    assert record.stored_resource_id(RETELL_LLM) == 42
    assert record.unknown_outcomes == set()
    assert record.repair_attempts == 0
    assert record.tag is None


# --- the reconciler's decision per resource ----------------------------------------------------------


def tagged(
    resource: str = NUMBER,
    resource_id: str = "PN1",
    voice_url: str | None = None,
    fallback_url: str | None = None,
) -> sweep.Tagged:
    return sweep.Tagged(resource, resource_id, AGENT_ID, TAG, voice_url, fallback_url=fallback_url)


def services(webhook_base_url: str | None = None) -> Any:
    return SimpleNamespace(settings=SimpleNamespace(webhook_base_url=webhook_base_url))


def decide(item: sweep.Tagged, base_url: str | None = None, **fields: Any) -> tuple[str | None, str | None]:
    record = AgentRecord({"_id": AGENT_ID, **fields})
    return sweep._action_for(item, record, services(base_url), NOW)


@pytest.mark.parametrize("status", [AgentStatus.FAILED.value, DELETED])
def test_what_a_failed_or_deleted_record_names_is_removed(status):
    assert decide(tagged(), status=status) == (sweep.REMOVE, None)


def test_a_create_in_flight_is_left_alone_until_past_its_deadline_and_grace():
    in_time = NOW - timedelta(seconds=10)
    past = NOW - timedelta(minutes=5)
    assert decide(tagged(), status="provisioning", deadline=in_time) == (None, None)
    assert decide(tagged(), status="provisioning", deadline=past) == (sweep.REMOVE, None)
    assert decide(tagged(), status="provisioning", deadline="yesterday") == (None, None)


def test_a_deleting_record_is_left_to_the_delete_or_the_repair():
    assert decide(tagged(), status="deleting") == (None, None)


def test_an_unknown_status_is_never_acted_on():
    action, note = decide(tagged(), status="archived")
    assert action is None
    assert note is not None


def test_an_active_agents_duplicate_is_removed_and_its_own_resource_kept():
    assert decide(tagged(RETELL_LLM, "llm_dup"), status="active", retellLlmId="llm_own") == (
        sweep.REMOVE,
        None,
    )
    assert decide(tagged(RETELL_LLM, "llm_own"), status="active", retellLlmId="llm_own") == (None, None)


def test_an_active_record_that_does_not_name_the_resource_leaves_it_in_place():
    action, note = decide(tagged(RETELL_AGENT, "agent_1"), status="active", retellAgentId=5)
    assert action is None
    assert note is not None


def test_an_active_number_whose_webhook_drifted_is_repointed():
    base = "https://voice.example.com"
    expected = webhook_url(base, AGENT_ID)
    fallback = fallback_url(base, AGENT_ID, Destination(VOICEMAIL))
    drifted = tagged(NUMBER, "PN1", voice_url="https://old.example.com/hook", fallback_url=fallback)
    current = tagged(NUMBER, "PN1", voice_url=expected, fallback_url=fallback)
    fields = {"status": "active", "twilioPhoneNumberSid": "PN1", "fallbackUrl": fallback}

    assert decide(drifted, base, webhookUrl=expected, **fields) == (sweep.REPOINT, None)
    assert decide(current, base, webhookUrl="https://old.example.com/hook", **fields) == (
        sweep.REPOINT,
        None,
    )
    assert decide(current, base, webhookUrl=expected, **fields) == (None, None)
    # Without a base URL the stored one is what the number must point at.
    assert decide(current, None, webhookUrl=expected, **fields) == (None, None)


def test_an_active_number_whose_fallback_url_drifted_or_is_missing_is_repointed():
    base = "https://voice.example.com"
    hook = webhook_url(base, AGENT_ID)
    voicemail = fallback_url(base, AGENT_ID, Destination(VOICEMAIL))
    forward = fallback_url(base, AGENT_ID, Destination(FORWARD, "+61412345678"))
    fields = {"status": "active", "twilioPhoneNumberSid": "PN1", "webhookUrl": hook}

    # A number bought before numbers had a fallback URL (nor its record)
    assert decide(tagged(voice_url=hook), base, **fields) == (sweep.REPOINT, None)
    # The record's routing now forwards: the number still says voicemail
    routed = {**fields, "transferNumber": "+61412345678", "fallbackUrl": voicemail}
    assert decide(tagged(voice_url=hook, fallback_url=voicemail), base, **routed) == (sweep.REPOINT, None)
    # The number is right but the record does not say so yet
    assert decide(tagged(voice_url=hook, fallback_url=forward), base, **routed) == (sweep.REPOINT, None)
    assert decide(
        tagged(voice_url=hook, fallback_url=forward), base, **{**routed, "fallbackUrl": forward}
    ) == (None, None)
    # Without a configured base URL, the base of the record's webhook URL is used
    assert decide(
        tagged(voice_url=hook, fallback_url=forward), None, **{**routed, "fallbackUrl": forward}
    ) == (None, None)


# --- error translation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cause", "status", "error"),
    [
        (
            ConfigurationError("no bundle", "TWILIO_BUNDLE_SID"),
            HTTPStatus.INTERNAL_SERVER_ERROR,
            "configuration_error",
        ),
        (
            BillingError("retell", "create_llm", "no funds", status=402),
            HTTPStatus.BAD_GATEWAY,
            "billing_error",
        ),
        (DeadlineExceeded("buy_number", 100), HTTPStatus.GATEWAY_TIMEOUT, "deadline_exceeded"),
        (StoreError("down"), HTTPStatus.SERVICE_UNAVAILABLE, "database_unavailable"),
        (
            UpstreamError("twilio", "buy_number", "500", status=500),
            HTTPStatus.BAD_GATEWAY,
            "provisioning_failed",
        ),
    ],
)
def test_a_failed_creates_cause_decides_its_status_and_error_code(cause, status, error):
    code = api._error_for_cause(cause)
    assert (api.ERROR_STATUS[code], code) == (status, error)


def test_a_rolled_back_create_is_answered_with_its_step_and_no_pending_list():
    failure = ProvisioningFailed(str(AGENT_ID), "buy_number", UpstreamError("twilio", "buy_number", "500"))

    error, message, details = api.TRANSLATIONS[ProvisioningFailed](failure)

    assert error == "provisioning_failed"
    assert message.endswith("everything it created was removed")
    assert details == {
        "step": "buy_number",
        "agentId": str(AGENT_ID),
        "setting": None,
        "rolledBack": True,
        "cleanupPending": None,
    }


def test_a_step_or_setting_that_is_not_ours_never_reaches_the_answer():
    cause = ConfigurationError("bad", "https://secret.example.com")
    failure = ProvisioningFailed(str(AGENT_ID), "Step With Spaces", cause, cleanup_pending=[NUMBER])

    error, message, details = api.TRANSLATIONS[ProvisioningFailed](failure)

    assert (error, details["step"], details["setting"]) == ("configuration_error", "unknown", None)
    assert details["cleanupPending"] == [NUMBER]
    assert "secret.example.com" not in message


@pytest.mark.parametrize(
    ("exc", "error"),
    [
        (InvalidRequest("cursor", "cursor is not one this API returned"), "validation_error"),
        (AgentNotFound("agent x not found"), "not_found"),
        (AgentDeleted("gone"), "agent_deleted"),
        (IdempotencyKeyReused("reused"), "idempotency_key_reused"),
        (RequestInProgress("busy"), "request_in_progress"),
        (QuotaExceeded(25), "quota_exceeded"),
        (StoreError("connection refused to db.internal:27017"), "database_unavailable"),
        (UpstreamError("retell", "get_llm", "https://api.retellai.com said no"), "upstream_error"),
        (RuntimeError("a bug"), "internal_error"),
    ],
)
def test_every_exception_a_route_may_raise_has_a_code_with_a_status(exc, error):
    translate = next(api.TRANSLATIONS[kind] for kind in type(exc).__mro__ if kind in api.TRANSLATIONS)

    code, message, _ = translate(exc)

    assert code == error
    assert code in api.ERROR_STATUS
    assert "db.internal" not in message
    assert "retellai.com" not in message
