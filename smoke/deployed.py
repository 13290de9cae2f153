"""make smoke-deployed: the deployed stack end to end, as its users and Twilio reach it.

    SMOKE_STACK=<stack name> python -m smoke.deployed     (make smoke-deployed; SMOKE_STACK=local: make stack)

Creates an agent through the API (POST /api/agents, with an Idempotency-Key), reads its number's
VoiceUrl from Twilio, posts a call to that URL signed with the account's auth token exactly as Twilio
signs it and expects <Dial><Sip> in the TwiML, finds the call in GET /api/agents/{id}/calls, deletes the
agent and checks Twilio no longer has the number (404). Whatever fails, the agent is deleted through
the API; should that fail too, the table says what is left and how to find it.

The access token (scope voice-agents/agents): SMOKE_ACCESS_TOKEN, else the hosted sign-in of
scripts/cognito_token.py (locally: an unsigned local token, which only the local API accepts).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from local.call import call_params
from local.signing import signature
from smoke.runner import CheckFailed, Saga, Undo, check
from smoke.targets import STACK_VARIABLE, Target, load_target
from voice_agents.core.settings import Settings
from voice_agents.core.tags import tag_for, webhook_url
from voice_agents.providers.twilio import OwnedNumber

TITLE = "make smoke-deployed"
LOCAL_SMOKE_USER = "smoke-user"
CALLER = "+61298765432"  # who the signed call says is calling
AGENT = {"name": "Smoke test (make smoke-deployed)", "prompt": "You are a smoke test. Say goodbye."}
WAIT_SECONDS = 30.0  # for the call record, and for a delete the reconciler finishes (202)


@dataclass
class Created:
    """What the run made, as it learns it (the undo reads it)."""

    agent_id: str | None = None
    number: OwnedNumber | None = None
    create_status: int | None = None  # what the create answered (None: no answer)


class DeployedSmoke:
    def __init__(self, target: Target, token: str) -> None:
        self.target = target
        self.settings: Settings = target.runtime().settings()
        self.api = httpx.Client(
            base_url=target.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        self.idempotency_key = str(uuid.uuid4())
        self.created = Created()

    def __call__(self, saga: Saga) -> None:
        saga.say(f"{TITLE} on {self.target.name}: API {self.target.api_url}")
        # Registered before the create: an answer lost on the way is found again by its Idempotency-Key.
        saga.register("api: create agent", Undo("delete agent (API)", self.delete_agent, self.left_behind))
        agent = saga.step(
            "api: create agent", self.create_agent, describe=lambda a: f"{a['id']} {a['phoneNumber']}"
        )
        number = saga.step(
            "twilio: read VoiceUrl", lambda: self.number_of(agent), describe=lambda n: str(n.voice_url)
        )
        call_sid = saga.step("call: signed POST to VoiceUrl", lambda: self.call(number), describe=str)
        saga.step("api: call listed", lambda: self.call_listed(agent["id"], call_sid), describe=str)
        saga.step("api: delete agent", self.delete_agent, describe=str, settles="api: create agent")
        saga.step("twilio: number gone", lambda: self.number_gone(number), describe=str)

    # --- steps --------------------------------------------------------------------------------------

    def create_agent(self) -> dict[str, Any]:
        response = self.api.post("/api/agents", json=AGENT, headers={"Idempotency-Key": self.idempotency_key})
        self.created.create_status = response.status_code
        check(response.status_code == 201, f"answered {response.status_code}: {response.text[:300]}")
        agent: dict[str, Any] = response.json()
        self.created.agent_id = agent["id"]  # before any check: the undo deletes it whatever follows
        check(bool(agent.get("phoneNumber")), "the agent has no phone number")
        return agent

    def number_of(self, agent: dict[str, Any]) -> OwnedNumber:
        """The agent's number as Twilio has it (found by its tag, as the operator's tools find it)."""
        tag = tag_for(self.settings.resource_tag, agent["id"])
        found = self.target.runtime().twilio().find_by_tag(tag)
        check(len(found) == 1, f"Twilio has {len(found)} numbers with FriendlyName {tag}")
        [number] = found
        self.created.number = number
        check(number.phone_number == agent["phoneNumber"], f"Twilio has {number.phone_number} under {tag}")
        sid = agent.get("twilioPhoneNumberSid")
        check(sid in (None, number.sid), f"the API says {sid}, Twilio {number.sid}")
        expected = webhook_url(self.settings.require("WEBHOOK_BASE_URL"), agent["id"])
        check(number.voice_url == expected, f"VoiceUrl is {number.voice_url}, expected {expected}")
        return number

    def call(self, number: OwnedNumber) -> str:
        """A call as Twilio places it: the form signed over the VoiceUrl with the account's token."""
        voice_url = str(number.voice_url)
        params = {
            **call_params(number.phone_number, CALLER),
            "AccountSid": self.settings.require("TWILIO_ACCOUNT_SID"),
        }
        signed = signature(voice_url, params, self.settings.require("TWILIO_AUTH_TOKEN"))
        response = httpx.post(
            self.target.reachable(voice_url), data=params, headers={"X-Twilio-Signature": signed}, timeout=30
        )
        check(response.status_code == 200, f"answered {response.status_code}: {response.text[:300]}")
        twiml = response.text
        check("<Dial" in twiml and "<Sip" in twiml, f"no <Dial><Sip> in the TwiML: {twiml[:300]}")
        return params["CallSid"]

    def call_listed(self, agent_id: str, call_sid: str) -> str:
        def listed() -> bool:
            response = self.api.get(f"/api/agents/{agent_id}/calls")
            check(response.status_code == 200, f"answered {response.status_code}: {response.text[:300]}")
            return any(item.get("callSid") == call_sid for item in response.json().get("items", []))

        waited = _wait_for(listed)
        check(waited is not None, f"{call_sid} not listed after {WAIT_SECONDS:.0f} s")
        return call_sid

    def delete_agent(self) -> str:
        agent_id = self.created.agent_id or self.agent_of_idempotency_key()
        if agent_id is None:
            return "no agent to delete"
        response = self.api.delete(f"/api/agents/{agent_id}")
        check(response.status_code in (200, 202), f"answered {response.status_code}: {response.text[:300]}")
        return f"{response.status_code} {response.json().get('status', '')}".strip()

    def agent_of_idempotency_key(self) -> str | None:
        """The agent a create without a readable outcome made (no answer, or a 5xx): the same request
        again answers it (409 while the first one still runs; 410 once deleted). A create refused
        with a 4xx made nothing."""
        status = self.created.create_status
        if status is not None and status < 500:
            return None
        started = time.monotonic()
        while True:
            response = self.api.post(
                "/api/agents", json=AGENT, headers={"Idempotency-Key": self.idempotency_key}
            )
            if response.status_code in (200, 201):
                self.created.agent_id = str(response.json()["id"])
                return self.created.agent_id
            if response.status_code == 410:
                return None
            if response.status_code != 409 or time.monotonic() - started > WAIT_SECONDS:
                raise CheckFailed(
                    f"the create's outcome is unknown: the retry answered {response.status_code}"
                )
            time.sleep(1)

    def number_gone(self, number: OwnedNumber) -> str:
        account = self.settings.require("TWILIO_ACCOUNT_SID")
        numbers = f"{self.settings.twilio_base_url}/2010-04-01/Accounts/{account}/IncomingPhoneNumbers"
        url = f"{numbers}/{number.sid}.json"
        auth = (account, self.settings.require("TWILIO_AUTH_TOKEN"))

        def gone() -> bool:
            return httpx.get(url, auth=auth, timeout=15).status_code == 404

        check(_wait_for(gone) is not None, f"Twilio still has {number.sid} after {WAIT_SECONDS:.0f} s")
        return f"GET IncomingPhoneNumbers/{number.sid} -> 404"

    def left_behind(self) -> str:
        created = self.created
        number = f", number {created.number.phone_number} ({created.number.sid})" if created.number else ""
        agent = created.agent_id or f"(unknown: the create with Idempotency-Key {self.idempotency_key})"
        delete = f"DELETE {self.target.api_url}/api/agents/{created.agent_id or '<id>'}"
        return (
            f"agent {agent}{number}: delete it in the dashboard or with {delete}; "
            "the reconciler releases a number whose agent is gone"
        )


def _wait_for(condition: Callable[[], bool]) -> float | None:
    """Seconds until ``condition()`` held, None when it never did within WAIT_SECONDS."""
    started = time.monotonic()
    while True:
        if condition():
            return time.monotonic() - started
        if time.monotonic() - started > WAIT_SECONDS:
            return None
        time.sleep(0.5)


def access_token(target: Target) -> str:
    if token := os.environ.get("SMOKE_ACCESS_TOKEN"):
        return token
    if target.is_local:
        from local.api.tokens import local_token

        return local_token(LOCAL_SMOKE_USER)
    from scripts.cognito_token import ask_in_terminal, hosted_sign_in, post_form, sign_in

    flags = argparse.Namespace(domain=None, client_id=None, redirect_uri=None, scope=None)
    return str(sign_in(hosted_sign_in(flags, target.outputs), ask_in_terminal, post_form)["access_token"])


def main() -> int:
    if not os.environ.get(STACK_VARIABLE):
        print(f"{TITLE}: skipped: set {STACK_VARIABLE} to the deployed stack's name (or local: make stack)")
        return 0
    target = load_target()
    return Saga(TITLE).run(DeployedSmoke(target, access_token(target)))


if __name__ == "__main__":
    sys.exit(main())
