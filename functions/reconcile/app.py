"""Scheduled (EventBridge): finish what crashes left, sweep orphaned paid resources, repair drift."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from voice_agents import runtime
from voice_agents.core.observability import logger, tracer
from voice_agents.repair.reconciler import reconcile


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = reconcile(
        runtime.services(), remaining_ms=context.get_remaining_time_in_millis, worker=runtime.WORKER_ID
    )
    return report.as_dict()
