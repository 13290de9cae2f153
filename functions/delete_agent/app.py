"""DELETE /api/agents/{agentId}: release the number, delete the Retell agent and LLM.

200 when everything is gone; 202 when something is still pending (the reconciler finishes it).
"""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from voice_agents import runtime
from voice_agents.core.observability import logger, tracer
from voice_agents.flows.agents import delete
from voice_agents.http.requests import owner_id
from voice_agents.http.resolver import NOT_FOUND_ANSWER, SERVER_ANSWERS, answers, build_resolver
from voice_agents.models.agents import DeleteOutcome

app = build_resolver(runtime.process())


@app.delete(
    "/api/agents/<agentId>",
    operation_id="deleteAgent",
    summary="Delete an agent",
    description=(
        "Releases the phone number, deletes the Retell agent and LLM, then soft-deletes the "
        "record. Safe to repeat: deleting a deleted agent answers 200 again."
    ),
    responses=answers(
        {
            200: "Everything is gone: `status` is `deleted` and `pending` is empty.",
            202: (
                "Accepted: `status` is `deleting` and `pending` lists what could not be removed yet; "
                "the reconciler finishes it without the client doing anything."
            ),
        },
        {
            404: NOT_FOUND_ANSWER,
            409: (
                "`request_in_progress`: the agent is still being created, or is being repaired right "
                "now; retry shortly."
            ),
            **SERVER_ANSWERS,
        },
        body=DeleteOutcome,
    ),
)
def delete_agent(agentId: str) -> Response[str]:
    outcome = delete.delete_agent(
        agentId,
        owner_id=owner_id(app),
        services=runtime.services(),
        worker=runtime.WORKER_ID,
        remaining_ms=app.lambda_context.get_remaining_time_in_millis,
    )
    status = 200 if outcome.status == "deleted" else 202
    return Response(status_code=status, content_type="application/json", body=outcome.model_dump_json())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
