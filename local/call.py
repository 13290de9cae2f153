"""A signed inbound call to the running local API, as Twilio places it, printing the TwiML answer.

    python -m local.call <agentId> [--from +61298765432]      (or: make call AGENT=<agentId>)
    python -m local.call <agentId> --play [--transfer] [--retell-down] [--person answered|no-answer|busy]

Reads the running stack's state (make stack or make api) for the API's address and the webhook URL
its functions check signatures against, signs the form for the local Twilio auth token, and posts it.

With ``--play`` the fake Twilio plays the whole call instead (every <Dial> action, the fallback URL,
voicemail) and prints what the caller went through: ``--transfer`` has the agent's transfer tool
put the caller through mid-call, ``--retell-down`` makes the fake Retell refuse the registration,
``--person`` sets how the agent's transferNumber answers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import httpx

from local.api.tokens import LOCAL_USER, local_token
from local.fakes.control import FakeControl
from local.invoke import STACK_STATE
from local.signing import signature, webhook_url


def call_params(agent_phone: str, caller: str) -> dict[str, str]:
    """The form Twilio posts when ``caller`` dials the agent's number (a fresh CallSid each time)."""
    return {"CallSid": "CA" + os.urandom(16).hex(), "AccountSid": "AC" + "0" * 32, "From": caller,
            "To": agent_phone, "CallStatus": "ringing", "Direction": "inbound", "ApiVersion": "2010-04-01",
            "FromCity": "", "FromState": "", "FromZip": "", "ToCity": "", "ToZip": ""}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local.call", description=__doc__.splitlines()[0])
    parser.add_argument("agent_id")
    parser.add_argument("--from", dest="caller", default="+61298765432", help="the caller's number")
    parser.add_argument("--to", default="+61412345678", help="the number dialled")
    parser.add_argument("--stack", type=Path, default=STACK_STATE, help="the stack's state file")
    parser.add_argument("--play", action="store_true", help="the fake Twilio plays the whole call")
    parser.add_argument("--transfer", action="store_true", help="with --play: the agent transfers the caller")
    parser.add_argument("--retell-down", action="store_true", help="with --play: Retell refuses the call")
    parser.add_argument("--person", default="answered", choices=("answered", "no-answer", "busy", "failed"))
    args = parser.parse_args(argv)
    if not args.stack.is_file():
        raise SystemExit(f"{args.stack} not found: start the local stack first (make stack or make api)")
    state = json.loads(args.stack.read_text())
    if args.play:
        play(args, state)
        return
    params = call_params(args.to, args.caller)
    signed_url = webhook_url(args.agent_id, state["webhookBaseUrl"])
    response = httpx.post(
        f"{state['apiUrl']}/api/webhooks/twilio/{args.agent_id}",
        data=params,
        headers={"X-Twilio-Signature": signature(signed_url, params)},
        timeout=15.0,
    )
    print(f"{response.status_code} {response.headers.get('content-type', '')}", file=sys.stderr, flush=True)
    print(response.text)
    if response.status_code != 200:
        raise SystemExit(1)


def play(args: argparse.Namespace, state: dict[str, Any]) -> None:
    """The fake Twilio places a call to the agent's number and plays it to the end."""
    environment = state["environment"]
    twilio_url, retell_url = environment["TWILIO_BASE_URL"], environment["RETELL_BASE_URL"]
    with FakeControl(twilio_url) as twilio, FakeControl(retell_url) as retell:
        owned = twilio.state()["owned"].values()
        number = next((n for n in owned if str(n.get("voice_url", "")).endswith(f"/{args.agent_id}")), None)
        if number is None:
            raise SystemExit(f"no number of the fake Twilio points at agent {args.agent_id}")
        transfer_to = _transfer_number(state, args.agent_id)
        if transfer_to:
            twilio.set_dial_outcome(transfer_to, args.person)
        if args.retell_down:
            retell.inject("register_call", 503, times=1)
        sid = twilio.place_call(args.caller, number["phone_number"])["call_sid"]
        log = twilio.wait_for_call(sid, until="settled", timeout_ms=20_000)
        if log["state"] == "with_agent":
            registered = retell.state()["calls_registered"].items()
            call_id = next(
                c for c, call in registered if call.get("metadata", {}).get("twilio_call_sid") == sid
            )
            if args.transfer:
                retell.invoke_tool(call_id, "transfer_to_person", {"reason": "asked for a person"})
            else:
                retell.end_call(call_id, 500)
            log = twilio.wait_for_call(sid, timeout_ms=20_000)
    for each in log["steps"]:
        print(
            "  " + ", ".join(f"{key}={value}" for key, value in each.items() if key != "step"),
            f"[{each['step']}]",
        )
    print(f"reached: {log['reached']}")


def _transfer_number(state: dict[str, Any], agent_id: str) -> str | None:
    """The agent's transferNumber, read through the running API as its owner would."""
    owner = {"Authorization": f"Bearer {local_token(LOCAL_USER)}"}
    response = httpx.get(f"{state['apiUrl']}/api/agents/{agent_id}", headers=owner, timeout=10)
    if response.status_code != 200:
        return None
    number = response.json().get("transferNumber")
    return number if isinstance(number, str) else None


if __name__ == "__main__":
    main()
