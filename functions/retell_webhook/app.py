"""POST /api/webhooks/retell: Retell's call events; no JWT, the Retell signature is checked instead."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from voice_agents import runtime
from voice_agents.core.observability import logger, tracer
from voice_agents.flows.calls.events import handle_call_event


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    answer = handle_call_event(
        body=event.get("body"),
        is_base64=bool(event.get("isBase64Encoded")),
        headers=event.get("headers") or {},
        process=runtime.process(),
    )
    response: dict[str, Any] = {"statusCode": answer.status}
    if answer.body:
        response |= {"headers": {"Content-Type": answer.content_type}, "body": answer.body}
    return response
