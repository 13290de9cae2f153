"""The demo: the whole flow on the local stack, narrated, with the time each step took.

    python -m local.demo      (or: make demo)

Asks to be told of each call (a webhook on 127.0.0.1 and an email), creates an agent through the
create_agent handler with events/create_agent.json, changes its prompt, places a signed inbound call
through the Twilio webhook, lets the fake Retell end it (its signed call events reach the Retell
webhook over the local HTTP API), reads it back from the call history, shows the signed webhook and
the email the business got (through SQS and SES on the local stack, the consumer run by the local
SQS event source); then gives the agent a person to transfer to, has the fake Twilio play a call in
which the agent's tool puts the caller through, and one while the fake Retell is down (the caller is
forwarded), shows where each call went, deletes the agent, and runs the reconciler.
"""

from __future__ import annotations

import json
import os
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from local.api.server import LocalHttpApi
from local.aws import consumer_event_source
from local.fakes.owner_endpoint import OwnerEndpoint
from local.invoke import LambdaContext, http_event, invoke
from local.sample_events import load_event
from local.signing import call_event, set_header, signature
from local.stack import LocalStack, local_stack


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
    return call_event(agent_id, params, signature(webhook_url, params))


def main() -> None:
    # The narration is the output: keep the handlers' JSON logs and EMF metrics for warnings only.
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    with ExitStack() as resources:
        with step("Starting the local stack (FerretDB, fake Retell, fake Twilio, SQS and SES) on 127.0.0.1"):
            stack = resources.enter_context(local_stack())
            # Retell delivers call events over HTTP: the template's routes served on loopback receive
            # them, and the numbers' and agents' webhooks point there.
            api = resources.enter_context(LocalHttpApi(port=0))
            os.environ.update(stack.environment() | {"WEBHOOK_BASE_URL": api.base_url})
            show("MongoDB", stack.mongodb_uri)
            show("Retell", stack.retell.base_url)
            show("Twilio", stack.twilio.base_url)
            show("API (the webhooks)", api.base_url)
            show("SQS and SES (moto)", stack.aws.endpoint)
            # What Lambda's SQS event source does for DeliverNotificationsFunction, as a thread.
            resources.enter_context(consumer_event_source(stack.aws))
            endpoint = resources.enter_context(OwnerEndpoint())
            show("the business's own webhook endpoint", endpoint.url)
        run(stack, endpoint, ask_to_be_told(endpoint))
        other_countries(stack)


CALLER = "+61298765432"
FRONT_DESK = "+61293744000"


def journey(log: dict[str, Any]) -> str:
    """A played call's steps in words: each document fetched, each leg dialled, where it ended."""
    words = []
    for each in log["steps"]:
        kind = each["step"]
        if kind in ("webhook", "fallback_webhook", "dial_action"):
            words.append(
                f"{kind} {urllib.parse.urlsplit(each['url']).path.rsplit('/', 1)[-1]} -> {each['status']}"
            )
        elif kind == "dial_sip":
            words.append(f"agent over SIP: {each['outcome']}")
        elif kind == "dial_number":
            words.append(f"rang {each['number']}: {each['outcome']}")
        elif kind in ("updated", "record", "say", "hangup"):
            words.append(kind)
    return " | ".join(words) + f"  => reached {log['reached']}"


def call(function: str, event: dict[str, Any]) -> dict[str, Any]:
    return invoke(function, event, LambdaContext())


def run(stack: LocalStack, endpoint: OwnerEndpoint, secret: str) -> None:
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
        set_header(event, "X-Twilio-Signature", "forged")
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

    told(stack, endpoint, secret)

    call_path(stack, agent)

    with step("DELETE /api/agents/{id}: release the number first, then the Retell agent and LLM"):
        response = call("delete_agent", http_event("delete_agent.json", agent_id=agent["id"]))
        show("status", response["statusCode"])
        show("result", json.loads(response["body"]))
        show("numbers still owned", len(stack.twilio.owned))
        show("Retell agents / LLMs left", f"{len(stack.retell.agents)} / {len(stack.retell.llms)}")

    with step("The scheduled reconciler: nothing left behind, so nothing to do"):
        show("report", call("reconcile", load_event("reconcile.json")))


def ask_to_be_told(endpoint: OwnerEndpoint) -> str:
    """The owner's notification settings; the signing secret, shown this once."""
    with step("PUT /api/notifications (events/put_notifications.json): be told of each call"):
        settings = {"webhookUrl": endpoint.url, "email": "frontdesk@example.com"}
        response = call("notifications", http_event("put_notifications.json", body=settings))
        saved = json.loads(response["body"])
        show("status", response["statusCode"])
        show("settings", {k: saved[k] for k in ("webhookUrl", "email")})
        show("signing secret (shown this once)", saved["signingSecret"][:12] + "...")
    return str(saved["signingSecret"])


def told(stack: LocalStack, endpoint: OwnerEndpoint, secret: str) -> None:
    """What the business got after call_analyzed: a signed webhook and an email, each sent once."""
    from standardwebhooks import Webhook

    with step("The business is told: call_analyzed queued its notifications; the consumer sent them"):
        [received] = endpoint.wait_for(1, timeout=20)
        event = Webhook(secret).verify(received.body, received.headers)
        show("webhook", f"{received.headers['webhook-id']} -> {received.status}")
        show(
            "verified with the Standard Webhooks library", {k: event["data"][k] for k in ("from", "summary")}
        )
        deadline = time.monotonic() + 20
        while not stack.aws.sent_emails() and time.monotonic() < deadline:
            time.sleep(0.1)
        [email] = stack.aws.sent_emails()
        show("email (SES)", f"to {email['to'][0]}: {email['subject']}")
        show("its text", email["body"].strip())


def call_path(stack: LocalStack, agent: dict[str, Any]) -> None:
    """Where calls go besides the agent: a person the agent transfers to, the fallback when Retell
    cannot take the call, and what the call history says of each."""
    with step("PATCH: calls may go to a person: transferNumber +61 2 9374 4000 (the front desk)"):
        event = http_event("update_agent.json", agent_id=agent["id"])
        event["body"] = json.dumps({"transferNumber": "+61 2 9374 4000"})
        event["headers"].pop("if-match", None)
        response = call("update_agent", event)
        show("status", response["statusCode"])
        show("transferNumber (E.164)", json.loads(response["body"])["transferNumber"])
        llm = stack.retell.llms[agent["retellLlmId"]]
        show("the agent's Retell tools", [tool["name"] for tool in llm.get("general_tools") or []])
        number = stack.twilio.owned[agent["twilioPhoneNumberSid"]]
        show("the number's VoiceFallbackUrl", number.get("voice_fallback_url"))

    with step("A caller asks for a person: the agent's tool puts them through to the front desk"):
        stack.twilio.set_dial_outcome(FRONT_DESK, "answered", talk_seconds=45)
        sid = stack.twilio.place_call(CALLER, agent["phoneNumber"])
        stack.twilio.wait_for_call(sid, until="settled")
        retell_call = list(stack.retell.calls_registered)[-1]
        answer = stack.retell.invoke_tool(retell_call, "transfer_to_person", {"reason": "wants a person"})
        show("the tool answered Retell", f"{answer['status']} {answer['body']}")
        show("what the caller went through", journey(stack.twilio.wait_for_call(sid)))

    with step("Retell is down: the webhook cannot register the call, so the caller is forwarded"):
        stack.retell.inject("register_call", 503, times=1)
        show("what the caller went through", journey(stack.twilio.play_call(CALLER, agent["phoneNumber"])))

    with step("GET /api/agents/{id}/calls: where each call went"):
        response = call("get_agents", http_event("list_calls.json", agent_id=agent["id"]))
        for each in json.loads(response["body"])["items"]:
            show(
                each["callSid"], {k: each[k] for k in ("status", "outcome", "transfer", "forward") if each[k]}
            )


def other_countries(stack: LocalStack) -> None:
    with step("GET /api/phone-number-options: the countries and types this deployment buys numbers in"):
        response = call("get_agents", load_event("get_phone_number_options.json"))
        offered = json.loads(response["body"])["options"]
        show("offered", [f"{each['country']} {each['numberType']}" for each in offered])

    create = json.loads(load_event("create_agent.json")["body"])
    with step("POST /api/agents with country GB, numberType mobile: a UK mobile number, its bundle sent"):
        request = create | {"name": "London line", "country": "GB", "numberType": "mobile"}
        event = http_event("create_agent.json", body=request, headers={"idempotency-key": "demo-gb"})
        london = json.loads(call("create_agent", event)["body"])
        show("number", {k: london[k] for k in ("phoneNumber", "country", "numberType")})
        bought = stack.twilio.owned[london["twilioPhoneNumberSid"]]
        show("Twilio number's bundle", bought.get("bundle_sid"))

    with step("POST /api/agents with country FR: refused before anything is bought"):
        request = create | {"name": "Paris line", "country": "FR"}
        event = http_event("create_agent.json", body=request, headers={"idempotency-key": "demo-fr"})
        response = call("create_agent", event)
        show("status", response["statusCode"])
        show("message", json.loads(response["body"])["message"])

    with step("DELETE the London agent: its number released"):
        event = http_event("delete_agent.json", agent_id=london["id"])
        show("status", call("delete_agent", event)["statusCode"])
        show("numbers still owned", len(stack.twilio.owned))


if __name__ == "__main__":
    main()
