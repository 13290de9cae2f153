"""The sample events of events/, the agent they name, and env.json (what `sam local` containers get).

    python -m local.events      (or: make events)

rewrites events/twilio_webhook.json's signature (for the local Twilio auth token and the URL the
events name), events/retell_webhook.json's (for the local Retell API key; Retell's signatures go
stale after 5 minutes, so `make invoke` signs it again as it sends it) and env.json (the local
stack's fixed ports, reached from a container). A local stack started with ``seed_events_agent``
holds the events' agent, so every event works as it is: create (an idempotent replay of the seeded
create), get, list, the call, delete.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from typing import Any
from unittest import mock

from bson import ObjectId
from twilio.request_validator import RequestValidator

from local.fakes.retell import retell_signature
from local.invoke import EVENTS, ROOT, invoke, load_event
from local.stack import FIXED_PORTS, RETELL_API_KEY, TWILIO_AUTH_TOKEN, WEBHOOK_BASE_URL, stack_environment
from local.template import function_properties, load_template

# The agent and owner events/*.json name.
EVENTS_AGENT_ID = "6740a1b2c3d4e5f6a7b8c9d0"
EVENTS_OWNER = "user-1234-owner"
# A container's name for the machine running it (Docker Desktop; on Linux see the README).
CONTAINER_HOST = "host.docker.internal"
ENV_JSON = ROOT / "env.json"
WEBHOOK_EVENT = "twilio_webhook.json"
RETELL_EVENT = "retell_webhook.json"
RETELL_SIGNATURE_HEADER = "x-retell-signature"


def webhook_url(agent_id: str = EVENTS_AGENT_ID, base_url: str = WEBHOOK_BASE_URL) -> str:
    return f"{base_url}/api/webhooks/twilio/{agent_id}"


def form_params(event: dict[str, Any]) -> dict[str, str]:
    body = event.get("body") or ""
    text = base64.b64decode(body).decode() if event.get("isBase64Encoded") else body
    return dict(urllib.parse.parse_qsl(text, keep_blank_values=True))


def signature(url: str, params: dict[str, str], auth_token: str = TWILIO_AUTH_TOKEN) -> str:
    """X-Twilio-Signature: what Twilio sends for ``params`` posted to ``url``."""
    return str(RequestValidator(auth_token).compute_signature(url, params))


def signed_webhook_event() -> dict[str, Any]:
    """events/twilio_webhook.json, signed for the local auth token and the URL it names."""
    event = load_event(WEBHOOK_EVENT)
    event["headers"]["x-twilio-signature"] = signature(webhook_url(), form_params(event))
    return event


def signed_retell_event(event: dict[str, Any] | None = None, api_key: str = RETELL_API_KEY) -> dict[str, Any]:
    """events/retell_webhook.json (or ``event``), signed now with the local Retell API key."""
    event = event if event is not None else load_event(RETELL_EVENT)
    body = event.get("body") or ""
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    event["headers"][RETELL_SIGNATURE_HEADER] = retell_signature(raw, api_key)
    return event


def sam_env_vars() -> dict[str, dict[str, str]]:
    """env.json for `sam local invoke --env-vars`: every function reaches make stack's fixed ports on
    the machine running the container."""
    host = f"http://{CONTAINER_HOST}"
    environment = stack_environment(
        f"mongodb://{CONTAINER_HOST}:{FIXED_PORTS.mongodb}/",
        f"{host}:{FIXED_PORTS.retell}",
        f"{host}:{FIXED_PORTS.twilio}",
    )
    environment |= {"POWERTOOLS_SERVICE_NAME": "voice-agents-local", "POWERTOOLS_LOG_LEVEL": "DEBUG"}
    # `sam local invoke --env-vars` ignores a variable the function does not declare: name none.
    return {
        logical_id: {
            name: value
            for name, value in environment.items()
            if name in properties.get("Environment", {}).get("Variables", {})
        }
        for logical_id, properties in function_properties(load_template()).items()
    }


def seed_events_agent() -> dict[str, Any]:
    """Create the events' agent through the create handler, with the events' id, in the stack whose
    environment is in os.environ; events/create_agent.json then replays it (same Idempotency-Key)."""
    # The create saga draws a fresh id; the events name a fixed one. Local tooling only.
    with mock.patch(
        "voice_agents.flows.agents.provisioning.ObjectId", return_value=ObjectId(EVENTS_AGENT_ID)
    ):
        response = invoke("create_agent", load_event("create_agent.json"))
    if response["statusCode"] != 201:
        raise RuntimeError(f"seeding the events' agent: {response['statusCode']} {response['body']}")
    agent: dict[str, Any] = json.loads(response["body"])
    return agent


def _write_json(path: Any, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2) + "\n")


def main() -> None:
    _write_json(EVENTS / WEBHOOK_EVENT, signed_webhook_event())
    _write_json(EVENTS / RETELL_EVENT, signed_retell_event())
    _write_json(ENV_JSON, sam_env_vars())
    print(f"signed {EVENTS / WEBHOOK_EVENT} for {webhook_url()} (token {TWILIO_AUTH_TOKEN!r})")
    print(f"signed {EVENTS / RETELL_EVENT} with the local Retell API key {RETELL_API_KEY!r}")
    print(f"wrote {ENV_JSON}: make stack's ports on {CONTAINER_HOST}")


if __name__ == "__main__":
    main()
