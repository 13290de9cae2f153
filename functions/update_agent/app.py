"""PATCH /api/agents/{agentId}: change an agent's name, description, prompt, greeting, voice or
language in place; the phone number and its webhook stay."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from voice_agents import runtime
from voice_agents.core.observability import logger, tracer
from voice_agents.flows.agents import update
from voice_agents.http.requests import idempotency_key, if_match, owner_id
from voice_agents.http.resolver import NOT_FOUND_ANSWER, agent_response, answers, build_resolver
from voice_agents.models.agents import Agent, UpdateAgentRequest

app = build_resolver(runtime.process())


@app.patch(
    "/api/agents/<agentId>",
    operation_id="updateAgent",
    summary="Update an agent",
    description=(
        "Changes any of `name`, `description`, `prompt`, `beginMessage`, `voiceId`, `language`; the "
        "next call uses the new settings, and the agent shown changes at the same moment. Send the "
        "agent's `ETag` as `If-Match` to refuse a change made meanwhile. With an `Idempotency-Key`, "
        "a retry answers the agent instead of changing it again."
    ),
    responses=answers(
        {200: "The agent as changed; `ETag` is its new version."},
        {
            400: (
                "`validation_error`: an empty body, a field that is unknown or cannot be changed "
                "(`phoneNumber`, `status`...), a value create would refuse (a `voiceId` outside the "
                "deployment's allowed voices too), or a bad `Idempotency-Key`; `fields` names each."
            ),
            404: NOT_FOUND_ANSWER,
            409: (
                "`agent_not_active`: the agent is provisioning, deleting or failed; or "
                "`request_in_progress`: another update of it, or a request with this "
                "`Idempotency-Key`, is still running."
            ),
            412: "`precondition_failed`: `If-Match` names an older version; `etag` is the current one.",
            415: "`unsupported_media_type`: the body is not sent as `application/json`.",
            422: "`idempotency_key_reused`: this `Idempotency-Key` was used before with another body.",
            500: "`configuration_error` (with `setting`) or `internal_error`.",
            502: (
                "`update_failed` or `billing_error`: a provider failed at `step`. With `pending` false "
                "nothing changed; with `pending` true the reconciler finishes or undoes it shortly."
            ),
            503: "`database_unavailable`: MongoDB failed at `step`; `pending` as for 502.",
            504: "`deadline_exceeded`: a provider did not answer in time at `step`; `pending` as for 502.",
        },
        body=Agent,
    ),
)
def update_agent(agentId: str, request: Annotated[UpdateAgentRequest, Body()]) -> Response[str]:
    updated = update.update_agent(
        agentId,
        request,
        owner_id=owner_id(app),
        if_match=if_match(app),
        idempotency_key=idempotency_key(app),
        context=app.lambda_context,
        services=runtime.services(),
    )
    return agent_response(updated.agent, updated.etag)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
