"""The AWS services the notifications use, on 127.0.0.1: moto's server (SQS and SES, in this process)
with the notifications queue, its dead-letter queue (the template's redrive policy) and a verified
sender; and ``SqsEventSource``, which plays Lambda's SQS event source for the consumer.

There is no Lambda event source mapping locally, so a thread does what it does: long-poll the queue,
hand each batch to the handler as an SQS event, delete what the handler did not report failed
(``batchItemFailures``), and leave the failed ones (and a whole batch whose handler raised) for SQS to
hand out again when their visibility ends. SQS itself counts the receives and moves a message to the
dead-letter queue past ``maxReceiveCount``, as in AWS.

The functions reach it through boto3's own service endpoints (``AWS_ENDPOINT_URL_SQS``,
``AWS_ENDPOINT_URL_SESV2``) with fake credentials: the code is the code AWS runs.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

LOOPBACK = "127.0.0.1"
REGION = "ap-southeast-2"
ACCOUNT = "123456789012"  # moto's default account
SENDER = "calls@voice-agents.local"
QUEUE = "voice-agents-notifications"
DEAD_LETTER_QUEUE = "voice-agents-notifications-dead"
# Short, so a test sees retries and dead letters in seconds: three tries, 1 s then 2 s apart.
MAX_ATTEMPTS = 3
RETRY_BASE_SECONDS = 1
# The template's: longer than any local try.
VISIBILITY_TIMEOUT_SECONDS = 180
CONSUMER_BATCH_SIZE = 5
CONSUMER_TIMEOUT_MS = 30_000  # DeliverNotificationsFunction's Timeout


@dataclass
class LocalAws:
    endpoint: str
    queue_url: str
    dead_letter_queue_url: str
    server: Any = field(repr=False)

    def environment(self) -> dict[str, str]:
        """What the functions need to use these services as they use AWS's."""
        return {
            "AWS_ENDPOINT_URL_SQS": self.endpoint,
            "AWS_ENDPOINT_URL_SESV2": self.endpoint,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": REGION,
            "NOTIFICATIONS_QUEUE_URL": self.queue_url,
            "NOTIFICATION_EMAIL_SENDER": SENDER,
            # Owners' webhooks may point at this machine, and only here (the template never sets it).
            "NOTIFICATION_TARGETS": "loopback",
            "NOTIFICATION_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
            "NOTIFICATION_RETRY_BASE_SECONDS": str(RETRY_BASE_SECONDS),
        }

    def sqs(self) -> Any:
        return _client("sqs", self.endpoint)

    def sent_emails(self) -> list[dict[str, Any]]:
        """Every email SES was asked to send: {source, to, subject, body}."""
        return [
            {
                "source": message.source,
                "to": list((message.destinations or {}).get("ToAddresses", [])),
                "subject": message.subject,
                "body": message.body,
            }
            for message in list(_ses_backend().sent_messages)
        ]

    def dead_letters(self) -> list[dict[str, Any]]:
        """The bodies in the dead-letter queue, left there (received with no visibility)."""
        answer = self.sqs().receive_message(
            QueueUrl=self.dead_letter_queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0
        )
        return [json.loads(message["Body"]) for message in answer.get("Messages", [])]

    def waiting(self) -> int:
        """Messages in the notifications queue, visible or not."""
        attributes = self.sqs().get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(value) for value in attributes.values())

    def reset(self) -> None:
        """Empty queues (made anew: SQS allows one purge a minute), a verified sender, no email sent.
        Made anew whatever is left: moto's ``mock_aws`` (the Secrets Manager tests) resets the same
        in-process state this server keeps, queues and identities included."""
        from botocore.exceptions import ClientError

        sqs = self.sqs()
        for url in (self.queue_url, self.dead_letter_queue_url):
            with contextlib.suppress(ClientError):  # already gone
                sqs.delete_queue(QueueUrl=url)
        _create_queues(sqs)
        _client("ses", self.endpoint).verify_email_identity(EmailAddress=SENDER)
        _ses_backend().sent_messages.clear()

    def stop(self) -> None:
        self.server.stop()


def start_local_aws(port: int = 0) -> LocalAws:
    """moto's server on 127.0.0.1 with the queues and the verified sender."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request on stderr
    server = ThreadedMotoServer(ip_address=LOOPBACK, port=port, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    endpoint = f"http://{host}:{bound}"
    queue, dead = _create_queues(_client("sqs", endpoint))
    _client("ses", endpoint).verify_email_identity(EmailAddress=SENDER)
    return LocalAws(endpoint=endpoint, queue_url=queue, dead_letter_queue_url=dead, server=server)


def _create_queues(sqs: Any) -> tuple[str, str]:
    """The notifications queue and its dead-letter queue, redriven as the template's: their URLs."""
    dead = sqs.create_queue(QueueName=DEAD_LETTER_QUEUE)["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = {"deadLetterTargetArn": dead_arn, "maxReceiveCount": str(MAX_ATTEMPTS)}
    queue = sqs.create_queue(
        QueueName=QUEUE,
        Attributes={
            "RedrivePolicy": json.dumps(redrive),
            "VisibilityTimeout": str(VISIBILITY_TIMEOUT_SECONDS),
        },
    )["QueueUrl"]
    return str(queue), str(dead)


class SqsEventSource:
    """Lambda's SQS event source for one handler, as a thread: ``with SqsEventSource(aws, handler):``."""

    def __init__(
        self,
        aws: LocalAws,
        handler: Callable[[dict[str, Any], Any], dict[str, Any]],
        *,
        function_name: str = "DeliverNotificationsFunction",
        on_batch: Callable[[int, int], None] | None = None,
    ) -> None:
        self.aws = aws
        self.handler = handler
        self.function_name = function_name
        self.on_batch = on_batch  # (messages, failed): the benchmark counts with it
        self.handler_errors = 0  # batches whose handler raised (Lambda counts them as Errors)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> SqsEventSource:
        self._thread = threading.Thread(target=self._run, name="local-sqs-event-source", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        sqs = self.aws.sqs()
        while not self._stop.is_set():
            try:
                answer = sqs.receive_message(
                    QueueUrl=self.aws.queue_url,
                    MaxNumberOfMessages=CONSUMER_BATCH_SIZE,
                    WaitTimeSeconds=1,
                    MessageSystemAttributeNames=["All"],
                )
                messages = answer.get("Messages", [])
                if messages:
                    self._deliver(sqs, messages)
            except Exception:
                if not self._stop.is_set():
                    traceback.print_exc()
                    self._stop.wait(1)

    def _deliver(self, sqs: Any, messages: list[dict[str, Any]]) -> None:
        from local.invoke import LambdaContext

        event = {"Records": [self._record(message) for message in messages]}
        context = LambdaContext(timeout_ms=CONSUMER_TIMEOUT_MS, function_name=self.function_name)
        try:
            answer = self.handler(event, context)
        except Exception:
            # Lambda deletes nothing of a batch whose function failed: all of it comes back.
            self.handler_errors += 1
            traceback.print_exc()
            failed = {message["MessageId"] for message in messages}
        else:
            failed = {failure["itemIdentifier"] for failure in answer.get("batchItemFailures", [])}
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=self.aws.queue_url, ReceiptHandle=message["ReceiptHandle"])
        if self.on_batch is not None:
            self.on_batch(len(messages), len(failed))

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        """One message as Lambda's SQS event carries it."""
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {},
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{QUEUE}",
            "awsRegion": REGION,
        }


def consumer_event_source(aws: LocalAws, **options: Any) -> SqsEventSource:
    """The event source of functions/deliver_notifications, the handler imported as Lambda would."""
    from local.invoke import handler_module

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        answer: dict[str, Any] = handler_module("deliver_notifications").lambda_handler(event, context)
        return answer

    return SqsEventSource(aws, handler, **options)


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def _ses_backend() -> Any:
    from moto.ses.models import ses_backends

    return ses_backends[ACCOUNT][REGION]
