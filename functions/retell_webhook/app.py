"""POST /api/webhooks/retell (Retell's call events) and POST /api/tools/transfer (the agent's transfer
tool, a Retell custom function): no JWT, the Retell signature is checked instead."""

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from voice_agents import runtime
from voice_agents.core.observability import logger, tracer
from voice_agents.flows.calls.events import EventAnswer, handle_call_event
from voice_agents.flows.calls.webhook_event import RETELL_MAX_BODY_BYTES, WebhookEvent, refusal_for_size

if TYPE_CHECKING:
    from voice_agents.flows.calls.transfer import ToolAnswer

TRANSFER_ROUTE = "POST /api/tools/transfer"


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    webhook = WebhookEvent.from_event(event)
    if refused := refusal_for_size(webhook, RETELL_MAX_BODY_BYTES):
        return refused
    request: dict[str, Any] = {
        "body": webhook.body,
        "is_base64": webhook.is_base64,
        "headers": webhook.headers,
        "process": runtime.process(),
    }
    if webhook.route == TRANSFER_ROUTE:
        # Only the tool needs the call path's TwiML (and, to redirect the call, twilio.rest): not the
        # events, three of which every call brings.
        from voice_agents.flows.calls.transfer import handle_transfer

        answer: EventAnswer | ToolAnswer = handle_transfer(**request)
    else:
        answer = handle_call_event(**request)
    response: dict[str, Any] = {"statusCode": answer.status}
    if answer.body:
        response |= {"headers": {"Content-Type": "application/json"}, "body": answer.body}
    return response
