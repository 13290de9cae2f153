"""POST /api/webhooks/twilio/{agentId}, .../dial-status and .../recording: no JWT; the Twilio
signature is checked instead. The voice webhook routes a new call; dial-status learns how each
<Dial> leg ended and sends the caller on; recording keeps a voicemail. GET /api/webhooks/health says
which deployment serves this base URL (unsigned, nothing secret)."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from voice_agents import runtime
from voice_agents.core.observability import logger, tracer
from voice_agents.flows.calls.dial_status import handle_dial_status
from voice_agents.flows.calls.health import HEALTH_ROUTE, health_response
from voice_agents.flows.calls.incoming import handle_voice_webhook
from voice_agents.flows.calls.recording import handle_recording
from voice_agents.flows.calls.twilio_request import TwilioRequest
from voice_agents.flows.calls.webhook_event import TWILIO_MAX_BODY_BYTES, WebhookEvent, refusal_for_size

CALLBACKS = {"dial-status": handle_dial_status, "recording": handle_recording}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = WebhookEvent.from_event(event)
    if request.route == HEALTH_ROUTE:
        return health_response(runtime.settings)
    if refused := refusal_for_size(request, TWILIO_MAX_BODY_BYTES):
        return refused
    flow = CALLBACKS.get(request.route.rsplit("/", 1)[-1], handle_voice_webhook)
    response = flow(TwilioRequest.from_event(request), runtime.process())
    return {
        "statusCode": response.status,
        "headers": {"Content-Type": response.content_type},
        "body": response.body,
    }
