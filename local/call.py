"""A signed inbound call to the running local API, as Twilio places it, printing the TwiML answer.

    python -m local.call <agentId> [--from +61298765432]      (or: make call AGENT=<agentId>)

Reads the running stack's state (make stack or make api) for the API's address and the webhook URL
its functions check signatures against, signs the form for the local Twilio auth token, and posts it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import httpx

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
    args = parser.parse_args(argv)
    if not args.stack.is_file():
        raise SystemExit(f"{args.stack} not found: start the local stack first (make stack or make api)")
    state = json.loads(args.stack.read_text())
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


if __name__ == "__main__":
    main()
