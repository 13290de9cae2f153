"""The committed sample events and env.json are the ones `make events` writes: the webhook event is
signed for the local auth token over the URL the events name, and env.json reaches make stack's
fixed ports from a container."""

from __future__ import annotations

import json

from twilio.request_validator import RequestValidator

from local.events import CONTAINER_HOST, ENV_JSON, sam_env_vars
from local.sample_events import EVENTS_AGENT_ID, EVENTS_OWNER, load_event
from local.signing import RETELL_SIGNATURE_HEADER, form_params, webhook_url
from local.stack import FIXED_PORTS, RETELL_API_KEY, TWILIO_AUTH_TOKEN
from local.template import function_properties, load_template
from voice_agents.flows.calls.retell_signature import SIGNATURE_FORMAT, signature_digest


def test_the_webhook_event_is_signed_for_the_local_token_and_its_url() -> None:
    # A REST API (payload 1.0) event: the URL the caller requested is the domain and the path with
    # the stage, as the webhook functions rebuild it without WEBHOOK_BASE_URL.
    event = load_event("twilio_webhook.json")
    context = event["requestContext"]
    url = f"https://{context['domainName']}{context['path']}"
    assert url == webhook_url()
    assert RequestValidator(TWILIO_AUTH_TOKEN).validate(
        url, form_params(event), event["headers"]["X-Twilio-Signature"]
    ), "events/twilio_webhook.json is not signed for the local stack: run make events"


def test_the_retell_event_is_signed_with_the_local_api_key() -> None:
    event = load_event("retell_webhook.json")
    signed = SIGNATURE_FORMAT.fullmatch(event["headers"][RETELL_SIGNATURE_HEADER])
    assert signed is not None, "events/retell_webhook.json is not signed: run make events"
    timestamp, digest = signed.groups()
    assert signature_digest(event["body"].encode(), timestamp, RETELL_API_KEY) == digest
    assert (event["resource"], event["path"]) == ("/api/webhooks/retell", "/api/webhooks/retell")


def test_every_event_names_the_seeded_agent_and_owner() -> None:
    for name in (
        "get_agent.json",
        "delete_agent.json",
        "update_agent.json",
        "twilio_webhook.json",
        "list_calls.json",
        "get_usage.json",
    ):
        assert load_event(name)["pathParameters"] == {"agentId": EVENTS_AGENT_ID}, name
    assert load_event("get_call.json")["pathParameters"]["agentId"] == EVENTS_AGENT_ID
    for name in (
        "create_agent.json",
        "get_agent.json",
        "get_agents.json",
        "delete_agent.json",
        "list_calls.json",
        "list_all_calls.json",
        "get_usage.json",
        "get_call.json",
        "get_phone_number_options.json",
        "update_agent.json",
    ):
        claims = load_event(name)["requestContext"]["authorizer"]["jwt"]["claims"]
        assert claims["sub"] == EVENTS_OWNER, name


def test_env_json_is_current_and_reaches_the_fixed_ports_from_a_container() -> None:
    committed = json.loads(ENV_JSON.read_text())
    assert committed == sam_env_vars(), "env.json is stale: run make events"
    # One entry per function (sam local applies an entry to the function of that logical id).
    assert set(committed) == set(function_properties(load_template()))
    variables = committed["CreateAgentFunction"]
    assert variables["MONGODB_URI"] == f"mongodb://{CONTAINER_HOST}:{FIXED_PORTS.mongodb}/"
    assert variables["RETELL_BASE_URL"] == f"http://{CONTAINER_HOST}:{FIXED_PORTS.retell}"
    assert variables["TWILIO_BASE_URL"] == f"http://{CONTAINER_HOST}:{FIXED_PORTS.twilio}"
    assert "127.0.0.1" not in json.dumps(committed), "inside a container 127.0.0.1 is the container"
