"""The notifications queue (SQS): the Retell webhook puts deliveries on it, the consumer backs a
failed one off. boto3 is imported when the first client is built (the Lambda runtime ships it; only
the functions that notify pay for the import)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from voice_agents.core.observability import external_call

# The webhook sends while Retell waits: short timeouts and one retry, so a slow SQS costs the event
# a couple of seconds at most (the event itself is answered whatever happens here).
CONNECT_TIMEOUT_SECONDS = 1
READ_TIMEOUT_SECONDS = 2
ATTEMPTS = 2
# SQS's longest visibility timeout.
MAX_DELAY_SECONDS = 12 * 3600


@dataclass(frozen=True)
class Queued:
    """What a send did: the ids of the entries SQS accepted and of those it refused."""

    accepted: list[str]
    refused: list[str]


class NotificationsQueue:
    def __init__(self, queue_url: str) -> None:
        import boto3
        from botocore.config import Config

        self.queue_url = queue_url
        config = Config(
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            read_timeout=READ_TIMEOUT_SECONDS,
            retries={"total_max_attempts": ATTEMPTS, "mode": "standard"},
        )
        self.client: Any = boto3.client("sqs", config=config)

    def send(self, messages: dict[str, dict[str, Any]]) -> Queued:
        """Each message (by an id of ours, at most 10) as JSON, in one request."""
        entries = [
            {"Id": entry_id, "MessageBody": json.dumps(body, separators=(",", ":"))}
            for entry_id, body in messages.items()
        ]
        with external_call("sqs", "send_message_batch"):
            answer = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
        return Queued(
            accepted=[each["Id"] for each in answer.get("Successful", [])],
            refused=[each["Id"] for each in answer.get("Failed", [])],
        )

    def delay(self, receipt_handle: str, seconds: int) -> None:
        """The received message comes back after ``seconds`` instead of the queue's visibility timeout."""
        with external_call("sqs", "change_message_visibility"):
            self.client.change_message_visibility(
                QueueUrl=self.queue_url,
                ReceiptHandle=receipt_handle,
                VisibilityTimeout=max(0, min(seconds, MAX_DELAY_SECONDS)),
            )
