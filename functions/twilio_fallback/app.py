"""POST /api/webhooks/twilio/{agentId}/fallback: every number's VoiceFallbackUrl. No JWT; the Twilio
signature is checked instead. Answers from its signed URL alone: no database, no Retell."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from voice_agents import runtime
from voice_agents.core.observability import logger, tracer
from voice_agents.flows.calls.fallback import handle_fallback
from voice_agents.flows.calls.twilio_request import TwilioRequest
from voice_agents.flows.calls.webhook_event import TWILIO_MAX_BODY_BYTES, WebhookEvent, refusal_for_size


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = WebhookEvent.from_event(event)
    if refused := refusal_for_size(request, TWILIO_MAX_BODY_BYTES):
        return refused
    response = handle_fallback(TwilioRequest.from_event(request), runtime.process())
    return {
        "statusCode": response.status,
        "headers": {"Content-Type": response.content_type},
        "body": response.body,
    }
