"""POST /api/agents: create a voice agent (Retell LLM + agent, a Twilio number, the record)."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

import voice_agents.creation  # noqa: F401  (create's idempotency machinery loads at cold start, not in a request)
from voice_agents import agents, runtime
from voice_agents.api import build_resolver, idempotency_key, owner_id, request_base_url
from voice_agents.models import Agent, CreateAgentRequest
from voice_agents.observability import logger, tracer

app = build_resolver()


@app.post(
    "/api/agents",
    operation_id="createAgent",
    summary="Create an agent",
    description=(
        "Creates the Retell LLM and agent, buys a phone number and points it at the agent, and "
        "stores the agent. When a step fails, what was already created is rolled back. With an "
        "`Idempotency-Key`, a retry answers what became of the agent the first request created "
        "instead of creating a second one."
    ),
)
def create_agent(request: Annotated[CreateAgentRequest, Body()]) -> tuple[Agent, int]:
    agent = agents.create_agent(
        request,
        owner_id=owner_id(app),
        idempotency_key=idempotency_key(app),
        request_base_url=request_base_url(app),
        context=app.lambda_context,
        services=runtime.services(),
    )
    return agent, 201


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
