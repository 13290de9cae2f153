"""The demo: the whole flow on the local stack, narrated, with the time each step took.

    python -m local.demo      (or: make demo)

Creates an agent through the create_agent handler with events/create_agent.json, places a signed
inbound call through the Twilio webhook, lets the fake Retell end it (its signed call events reach
the Retell webhook over the local HTTP API), reads it back from the call history, deletes the agent,
and runs the reconciler.
"""

from __future__ import annotations

import base64
import json
import os
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from twilio.request_validator import RequestValidator

from local.api.server import LocalHttpApi
from local.invoke import LambdaContext, http_event, invoke
from local.sample_events import load_event
from local.stack import TWILIO_AUTH_TOKEN, LocalStack, local_stack


@contextmanager
def step(title: str) -> Iterator[None]:
    print(f"\n== {title}", flush=True)
    started = time.perf_counter()
    yield
    print(f"   ({time.perf_counter() - started:.2f} s)", flush=True)


def show(label: str, value: Any) -> None:
    text = value if isinstance(value, str) else json.dumps(value, indent=2, default=str)
    print(f"   {label}: " + text.replace("\n", "\n   "))


def signed_call_event(webhook_url: str, agent_id: str, caller: str, called: str) -> dict[str, Any]:
    """What Twilio sends when someone dials the number: form fields, signed over the VoiceUrl."""
    params = {"CallSid": "CA" + os.urandom(16).hex(), "AccountSid": "AC" + "0" * 32, "From": caller,
              "To": called, "CallStatus": "ringing", "Direction": "inbound", "ApiVersion": "2010-04-01",
              "FromCity": "", "FromState": "", "FromZip": "", "ToCity": "", "ToZip": ""}  # fmt: skip
    event = load_event("twilio_webhook.json", pathParameters={"agentId": agent_id})
    event["body"] = base64.b64encode(urllib.parse.urlencode(params).encode()).decode()
    event["headers"]["x-twilio-signature"] = RequestValidator(TWILIO_AUTH_TOKEN).compute_signature(
        webhook_url, params
    )
    return event


def main() -> None:
    # The narration is the output: keep the handlers' JSON logs and EMF metrics for warnings only.
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    with ExitStack() as resources:
        with step("Starting the local stack (FerretDB, fake Retell, fake Twilio) on 127.0.0.1"):
            stack = resources.enter_context(local_stack())
            # Retell delivers call events over HTTP: the template's routes served on loopback receive
            # them, and the numbers' and agents' webhooks point there.
            api = resources.enter_context(LocalHttpApi(port=0))
            os.environ.update(stack.environment() | {"WEBHOOK_BASE_URL": api.base_url})
            show("MongoDB", stack.mongodb_uri)
            show("Retell", stack.retell.base_url)
            show("Twilio", stack.twilio.base_url)
            show("API (the webhooks)", api.base_url)
        run(stack)


def call(function: str, event: dict[str, Any]) -> dict[str, Any]:
    return invoke(function, event, LambdaContext())


def run(stack: LocalStack) -> None:
    with step("POST /api/agents (events/create_agent.json): Retell LLM + agent, an AU mobile number"):
        response = call("create_agent", load_event("create_agent.json"))
        agent = json.loads(response["body"])
        show("status", response["statusCode"])
        show("agent", agent)
        if response["statusCode"] != 201:
            raise SystemExit("create failed")
        number = stack.twilio.owned[agent["twilioPhoneNumberSid"]]
        show(
            "Twilio number",
            {k: number[k] for k in ("phone_number", "voice_url", "voice_method", "friendly_name")},
        )

    with step("GET /api/agents/{id}: what the dashboard reads back"):
        response = call("get_agents", http_event("get_agent.json", agent_id=agent["id"]))
        show("stored", json.loads(response["body"])["status"])

    with step("PATCH /api/agents/{id} (events/update_agent.json): a new prompt, same number"):
        response = call("update_agent", http_event("update_agent.json", agent_id=agent["id"]))
        updated = json.loads(response["body"])
        show("status", response["statusCode"])
        show("ETag", response["headers"].get("ETag"))
        show("prompt", updated["prompt"])
        show("phone number (unchanged)", updated["phoneNumber"])
        versions = stack.retell.state()["agent_versions"][agent["retellAgentId"]]
        show(
            "Retell agent versions",
            {n: "published" if v["is_published"] else "draft" for n, v in versions.items()},
        )

    with step("An inbound call: Twilio POSTs the signed webhook; we register it with Retell"):
        event = signed_call_event(agent["webhookUrl"], agent["id"], "+61298765432", agent["phoneNumber"])
        response = call("twilio_webhook", event)
        show("status", response["statusCode"])
        show("TwiML", response["body"])
        [registered] = stack.retell.calls_registered.values()
        show("Retell call registered on agent version", registered.get("agent_version"))

    with step("The same call with a forged signature is refused"):
        event["headers"]["x-twilio-signature"] = "forged"
        show("status", call("twilio_webhook", event)["statusCode"])

    with step("The caller hangs up after 1.5 s: Retell POSTs signed call_started, call_ended, call_analyzed"):
        [call_id] = stack.retell.calls_registered
        stack.retell.end_call(call_id, 1500).join(timeout=30)
        show("events delivered", [f"{d['event']} -> {d['status']}" for d in stack.retell.event_deliveries])

    with step("GET /api/agents/{id}/calls: the call history"):
        response = call("get_agents", http_event("list_calls.json", agent_id=agent["id"]))
        [answered] = json.loads(response["body"])["items"]
        show("status", response["statusCode"])
        show("call", {k: answered[k] for k in ("callSid", "from", "status", "durationMs", "summary")})

    with step("DELETE /api/agents/{id}: release the number first, then the Retell agent and LLM"):
        response = call("delete_agent", http_event("delete_agent.json", agent_id=agent["id"]))
        show("status", response["statusCode"])
        show("result", json.loads(response["body"]))
        show("numbers still owned", len(stack.twilio.owned))
        show("Retell agents / LLMs left", f"{len(stack.retell.agents)} / {len(stack.retell.llms)}")

    with step("The scheduled reconciler: nothing left behind, so nothing to do"):
        show("report", call("reconcile", load_event("reconcile.json")))


if __name__ == "__main__":
    main()
