"""The timeouts of template.yaml, the client settings and the code agree: a create that gives up
under slow providers, rolls back and answers fits its function's Timeout, and that Timeout fits the
HTTP API's integration limit; a delete and the webhook likewise."""

from __future__ import annotations

import time
from typing import Any

import pytest

from local.template import function_properties, load_template
from voice_agents.core.errors import DeadlineExceeded, UpstreamError
from voice_agents.core.retry import (
    ANSWER_MARGIN_MS,
    MIN_CALL_SECONDS,
    TimeBudget,
    call_timeout,
    finish_by,
    seconds_left,
    with_retries,
)
from voice_agents.core.settings import Settings
from voice_agents.flows.agents.provisioning import ROLLBACK_SHARE
from voice_agents.flows.agents.steps import STORE_STEP_MS
from voice_agents.flows.calls import destinations as webhook

# API Gateway HTTP APIs give an integration 30 s, a cold start's init phase included.
HTTP_API_LIMIT_SECONDS = 30
COLD_START_SECONDS = 2
# A provider answering ten times slower than usual (~200 ms) is "slow"; a rollback must still fit.
SLOW_CALL_SECONDS = 2.0
# A rollback's calls one after another, at worst: the number's tag search and release, then for the
# Retell agent and the LLM each a tag search (create outcome unknown) and a delete.
ROLLBACK_CALLS = 6
# A delete's: the number's tag search and release, the Retell agent, the LLM.
DELETE_CALLS = 4
# The JSON answer after the last database write.
ANSWER_SECONDS = 0.5


@pytest.fixture(scope="module")
def functions() -> dict[str, dict[str, Any]]:
    return function_properties(load_template())


def configured_timeout(function: dict[str, Any], variable: str) -> float:
    """The function's provider timeout: the template's value for ``variable``, else the code's default."""
    value = function.get("Environment", {}).get("Variables", {}).get(variable)
    field = next(info for info in Settings.declared.values() if info.alias == variable)
    return float(value) if value not in (None, "") else float(field.default)


def provider_timeouts(function: dict[str, Any]) -> list[float]:
    return [
        configured_timeout(function, name) for name in ("RETELL_TIMEOUT_SECONDS", "TWILIO_TIMEOUT_SECONDS")
    ]


def test_the_template_timeouts_are_the_designed_ones(functions):
    timeouts = {name: functions[name]["Timeout"] for name in functions}
    assert timeouts["CreateAgentFunction"] == 28
    assert timeouts["DeleteAgentFunction"] == 28
    assert timeouts["TwilioWebhookFunction"] == 10


@pytest.mark.parametrize("function", ["CreateAgentFunction", "DeleteAgentFunction"])
def test_api_functions_answer_within_the_http_apis_limit(functions, function):
    assert functions[function]["Timeout"] + COLD_START_SECONDS <= HTTP_API_LIMIT_SECONDS


def test_the_answer_margin_holds_the_last_write_and_the_answer():
    assert ANSWER_MARGIN_MS / 1000 >= STORE_STEP_MS / 1000 + ANSWER_SECONDS


def test_a_create_that_gives_up_rolls_back_and_answers_within_its_timeout(functions):
    create = functions["CreateAgentFunction"]
    budget = TimeBudget.split(create["Timeout"] * 1000, rollback_share=ROLLBACK_SHARE, now=0.0)
    steps, rollback = budget.work_until, budget.answer_by - budget.work_until

    # The windows follow one another and end with the function
    assert 0 < budget.work_until < budget.answer_by < budget.ends_at == create["Timeout"]
    # After the journal, one provider call of the full configured length fits the steps' window: the
    # configured timeouts are real upper bounds, not values the budget always cuts
    assert steps - STORE_STEP_MS / 1000 >= max(provider_timeouts(create))
    # The rollback fits every removal when the providers are slow, and one call of full length
    assert rollback >= ROLLBACK_CALLS * SLOW_CALL_SECONDS
    assert rollback >= max(provider_timeouts(create))


def test_a_delete_removes_everything_from_slow_providers_within_its_timeout(functions):
    delete = functions["DeleteAgentFunction"]
    budget = TimeBudget.split(delete["Timeout"] * 1000, now=0.0)

    assert budget.work_until == budget.answer_by == delete["Timeout"] - ANSWER_MARGIN_MS / 1000
    assert budget.answer_by >= DELETE_CALLS * SLOW_CALL_SECONDS
    assert budget.answer_by >= max(provider_timeouts(delete))


def test_the_webhooks_retell_call_fits_its_timeout(functions):
    hook = functions["TwilioWebhookFunction"]
    # The signature check's database read, the call registration (cut to Retell's configured
    # timeout, never longer), the call record's write
    register = min(webhook.REGISTER_TIMEOUT_SECONDS, configured_timeout(hook, "RETELL_TIMEOUT_SECONDS"))
    assert 2 * STORE_STEP_MS / 1000 + register + ANSWER_SECONDS <= hook["Timeout"]


def test_a_split_is_never_negative():
    budget = TimeBudget.split(ANSWER_MARGIN_MS // 2, rollback_share=ROLLBACK_SHARE, now=0.0)

    assert budget.work_until == budget.answer_by == 0.0
    with pytest.raises(DeadlineExceeded):
        TimeBudget.split(ANSWER_MARGIN_MS // 2).ensure("journal", STORE_STEP_MS)


# --- per-call deadlines ---------------------------------------------------------------------------


def test_a_call_gets_its_configured_timeout_cut_to_the_deadline():
    assert call_timeout(8.0, "get_llm") == 8.0  # no deadline in scope
    with finish_by(time.monotonic() + 3.0):
        assert 2.5 < call_timeout(8.0, "get_llm") <= 3.0
        assert call_timeout(1.0, "get_llm") == 1.0
    assert seconds_left() is None


def test_an_inner_deadline_only_shortens_the_outer_one():
    with finish_by(time.monotonic() + 2.0):
        with finish_by(time.monotonic() + 60.0):
            assert (seconds_left() or 0.0) <= 2.0
        with finish_by(None):
            assert (seconds_left() or 0.0) <= 2.0
        with finish_by(time.monotonic() + 1.0):
            assert (seconds_left() or 0.0) <= 1.0
        assert seconds_left() is not None


def test_a_call_that_cannot_finish_is_refused_naming_the_operation():
    with finish_by(time.monotonic() + MIN_CALL_SECONDS / 2), pytest.raises(DeadlineExceeded) as raised:
        call_timeout(8.0, "release_number")
    assert raised.value.step == "release_number"


def test_retries_stop_when_a_back_off_and_a_call_no_longer_fit():
    attempts: list[float] = []

    def flaky() -> None:
        attempts.append(time.monotonic())
        raise UpstreamError("retell", "get_llm", "busy", status=503, retryable=True)

    # Without a deadline, three attempts; with too little time for a second one, one
    with pytest.raises(UpstreamError):
        with_retries(flaky, sleep=lambda _: None)
    assert len(attempts) == 3
    attempts.clear()
    with finish_by(time.monotonic() + MIN_CALL_SECONDS), pytest.raises(UpstreamError):
        with_retries(flaky, sleep=lambda _: None)
    assert len(attempts) == 1
