"""The Twilio webhook when Retell registers the call but answers a body without a readable call_id:
the caller is sent to the agent's fallback at once (never a 5xx), and Twilio's retry of the same call
registers again."""

from __future__ import annotations

from typing import Any

import pytest

from local.invoke import create_active_agent, invoke
from tests.integration.test_twilio_webhook import dialled_sip, signed_event, takes_a_message

pytestmark = pytest.mark.integration

UNREADABLE = {
    "html": "<html><body>502 Bad Gateway</body></html>",
    "no call_id": '{"call_status": "registered"}',
    "empty call_id": '{"call_id": ""}',
}


@pytest.fixture
def active_agent(env) -> dict[str, Any]:
    return create_active_agent()


@pytest.mark.parametrize("body", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_a_registration_answered_without_a_call_id_sends_the_caller_to_the_fallback(env, active_agent, body):
    env.retell.inject("register_call", body=body, times=1)

    response = invoke("twilio_webhook", signed_event(active_agent))

    assert response["statusCode"] == 200
    assert takes_a_message(response)
    # And when Twilio retries the call, it is registered and connected
    retried = invoke("twilio_webhook", signed_event(active_agent))
    assert dialled_sip(retried).startswith("sip:")
    assert env.retell.call_count("register_call") == 2
