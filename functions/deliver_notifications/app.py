"""The notifications queue's consumer (SQS event source, partial batch failures): each message is one
channel of one analysed call; a failed one is reported so that SQS hands it out again after its
back-off, and after the last try moves it to the dead-letter queue."""

from typing import Any, cast

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from voice_agents import runtime
from voice_agents.core.observability import logger, tracer
from voice_agents.flows.notifications.delivery import deliver_queued

# A batch whose every message failed is still a partial answer, never a function error: failed
# deliveries are the owners' endpoints' doing, and DeliverNotificationsErrorsAlarm is for our bugs.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def deliver(record: SQSRecord) -> None:
    deliver_queued(
        record.body,
        receive_count=int(record.attributes.approximate_receive_count),
        receipt_handle=record.receipt_handle,
        process=runtime.process(),
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # {"batchItemFailures": [{"itemIdentifier": messageId}...]}: the messages SQS hands out again.
    failures = process_partial_response(event, record_handler=deliver, processor=processor, context=context)
    return cast(dict[str, Any], failures)
