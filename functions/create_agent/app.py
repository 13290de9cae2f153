"""POST /api/agents: create a voice agent (Retell LLM + agent, a Twilio number, the record)."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from voice_agents import runtime
from voice_agents.core.observability import logger, tracer
from voice_agents.flows.agents import create
from voice_agents.http.requests import idempotency_key, owner_id, request_base_url
from voice_agents.http.resolver import answers, build_resolver
from voice_agents.models.agents import Agent, CreateAgentRequest

app = build_resolver(runtime.process())


@app.post(
    "/api/agents",
    operation_id="createAgent",
    summary="Create an agent",
    description=(
        "Creates the Retell LLM and agent, buys a phone number (of `country` and `numberType`, by "
        "default the deployment's: `GET /api/phone-number-options` lists the pairs offered) and "
        "points it at the agent, and stores the agent. When a step fails, what was already created "
        "is rolled back. With an "
        "`Idempotency-Key`, a retry answers what became of the agent the first request created "
        "instead of creating a second one."
    ),
    responses=answers(
        {201: "The new agent."},
        {
            400: (
                "`validation_error`: a bad body (not JSON, not UTF-8, nested too deeply; a missing, "
                "too long or unknown field; control or bidirectional-override characters in a text "
                "field; a `voiceId` outside the deployment's allowed voices; a `country` and "
                "`numberType` this deployment does not offer, or whose bundle or address "
                "`TWILIO_REGULATIONS` lacks: nothing was counted or bought) or a bad "
                "`Idempotency-Key`; `fields` names each."
            ),
            409: (
                "`request_in_progress`: a request with this `Idempotency-Key` is still running, or the "
                "agent it created is still being settled; retry shortly."
            ),
            410: (
                "`agent_deleted`: the agent this `Idempotency-Key` created has since been deleted; use "
                "a new key to create another."
            ),
            415: "`unsupported_media_type`: the body is not sent as `application/json`.",
            422: "`idempotency_key_reused`: this `Idempotency-Key` was used before with another body.",
            429: (
                "`quota_exceeded`: the caller already has `limit` agents (provisioning, active or "
                "deleting); delete one first. `purchase_limit`: the caller's creates bought `limit` "
                "numbers in the last 24 hours, deleted and rolled-back agents included; `retryAt` and "
                "`Retry-After` say when one more may be bought. Nothing was bought."
            ),
            500: (
                "`configuration_error` (with `setting`; e.g. Twilio 21649/21631/21615 refused the "
                "configured bundle or address: fix `TWILIO_REGULATIONS`, or `TWILIO_BUNDLE_SID` / "
                "`TWILIO_ADDRESS_SID` for the default pair) or `internal_error`."
            ),
            502: (
                "`provisioning_failed`, `billing_error` or `upstream_error`: a provider failed at `step`; "
                "what was created was rolled back (`rolledBack`), or `cleanupPending` lists what the "
                "reconciler will remove."
            ),
            503: (
                "`database_unavailable`: MongoDB failed; retry. At `step` `activate` whether the agent "
                "became active is not known: a retry with the same `Idempotency-Key` answers the agent, "
                "409 while it is being settled, or the failure; it never buys a second number. "
                "`creation_paused`: the operator (or the spending alarm) paused creating agents; "
                "nothing was bought."
            ),
            504: "`deadline_exceeded`: too little Lambda time was left to go on at `step`; rolled back.",
        },
    ),
)
def create_agent(request: Annotated[CreateAgentRequest, Body()]) -> tuple[Agent, int]:
    agent = create.create_agent(
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
