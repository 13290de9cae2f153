"""Email through Amazon SES (API v2): plain text, from the configured sender. Locally the stack's
SES-compatible server (moto) receives it. boto3 is imported when the sender is built."""

from __future__ import annotations

from typing import Any

from voice_agents.core.observability import external_call

CONNECT_TIMEOUT_SECONDS = 2
READ_TIMEOUT_SECONDS = 5


class EmailSender:
    def __init__(self, sender: str) -> None:
        import boto3
        from botocore.config import Config

        self.sender = sender
        config = Config(
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            read_timeout=READ_TIMEOUT_SECONDS,
            retries={"total_max_attempts": 2, "mode": "standard"},
        )
        self.client: Any = boto3.client("sesv2", config=config)

    def send_text(self, to: str, subject: str, text: str) -> str:
        """Send one plain-text email; SES's message id. Raises botocore's errors."""
        with external_call("ses", "send_email"):
            answer = self.client.send_email(
                FromEmailAddress=self.sender,
                Destination={"ToAddresses": [to]},
                Content={
                    "Simple": {
                        "Subject": {"Data": subject, "Charset": "UTF-8"},
                        "Body": {"Text": {"Data": text, "Charset": "UTF-8"}},
                    }
                },
            )
        return str(answer.get("MessageId", ""))
