"""EventBridge: the spending alarm went off; pause creating agents (the CREATION_PAUSED_PARAMETER
switch set to "true"). An operator turns it back with `operate creation resume`."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from voice_agents import runtime
from voice_agents.core.observability import logger, tracer
from voice_agents.flows.agents.spending import pause_for_alarm


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return pause_for_alarm(event, runtime.creation_switch())
