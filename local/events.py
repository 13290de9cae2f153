"""`make events`: the signed sample events and env.json (what `sam local` containers get), and the
agent the events name, seeded into a local stack.

    python -m local.events      (or: make events)

rewrites events/twilio_webhook.json's signature (for the local Twilio auth token and the URL the
events name), events/retell_webhook.json's (for the local Retell API key; Retell's signatures go
stale after 5 minutes, so `make invoke` signs it again as it sends it) and env.json (the local
stack's fixed ports, reached from a container). A local stack started with ``seed_events_agent``
holds the events' agent, so every event works as it is: create (an idempotent replay of the seeded
create), get, list, the call, delete.
"""

from __future__ import annotations

import json
from typing import Any
from unittest import mock

from bson import ObjectId

from local.invoke import invoke
from local.sample_events import EVENTS, EVENTS_AGENT_ID, load_event
from local.signing import RETELL_EVENT, WEBHOOK_EVENT, signed_retell_event, signed_webhook_event, webhook_url
from local.stack import FIXED_PORTS, RETELL_API_KEY, TWILIO_AUTH_TOKEN, stack_environment
from local.template import ROOT, function_properties, load_template

# A container's name for the machine running it (Docker Desktop; on Linux see the README).
CONTAINER_HOST = "host.docker.internal"
ENV_JSON = ROOT / "env.json"


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
