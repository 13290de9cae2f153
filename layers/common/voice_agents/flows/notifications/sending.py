"""One try of one channel, shared by the queue's consumer and the test delivery: the signed POST to the
owner's URL (checked, resolved and pinned by ``providers/webhooks``) and the email through SES.

An outcome is ``delivered``, ``refused`` (never worth another try: a target we may not send to, an
address SES refuses), or neither (a 5xx, a timeout, DNS, SES throttling: tried again later)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from voice_agents.core.clock import now
from voice_agents.core.errors import TargetRefused
from voice_agents.core.observability import logger
from voice_agents.core.settings import Settings
from voice_agents.flows.notifications.content import AnalysedCall, email_subject, email_text, webhook_body
from voice_agents.providers import webhooks
from voice_agents.providers.email import EmailSender

# SES's answers that another try would only repeat (a malformed or refused address).
_EMAIL_REFUSALS = ("MessageRejected", "BadRequestException", "InvalidParameterValue")


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    refused: bool = False  # never worth another try
    skipped: bool = False  # nothing to send to any more
    status: int | None = None
    error: str | None = None
    duration_ms: float | None = None


def send_webhook(
    url: str,
    *,
    event_id: str,
    analysed: AnalysedCall,
    occurred_at: datetime,
    signing_secrets: list[str],
    settings: Settings,
) -> Outcome:
    """Check the URL, resolve its host and check every address, then POST the signed event to one of
    those addresses."""
    if not signing_secrets:
        return Outcome(False, refused=True, error="no signing secret: rotate it to make one")
    targets = webhooks.Targets(settings.notification_targets)
    try:
        target = webhooks.check_url(url, targets)
        addresses = webhooks.resolve_target(target, targets)
    except TargetRefused as exc:
        logger.warning("webhook target refused", reason=str(exc), event_id=event_id)
        return Outcome(False, refused=True, error=str(exc))
    except webhooks.HostNotResolved as exc:
        return Outcome(False, error=str(exc))
    body = webhook_body(analysed, occurred_at)
    # Signed as it is sent: Standard Webhooks' receivers refuse a timestamp older than 5 minutes.
    headers = webhooks.signature_headers(event_id, body, signing_secrets, now())
    timeout = settings.notification_timeout_seconds
    attempt = webhooks.post(target, addresses, body, headers, timeout_seconds=timeout)
    logger.info(
        "webhook attempted",
        event_id=event_id,
        status=attempt.status,
        error=attempt.error,
        duration_ms=attempt.duration_ms,
        **webhooks.describe(target),
    )
    error = attempt.error or (None if attempt.delivered else f"the endpoint answered {attempt.status}")
    return Outcome(attempt.delivered, status=attempt.status, error=error, duration_ms=attempt.duration_ms)


def send_email(to: str, *, analysed: AnalysedCall, sender: EmailSender | None, event_id: str) -> Outcome:
    """The plain-text email through SES."""
    if sender is None:
        logger.warning("no email sent: NOTIFICATION_EMAIL_SENDER is not set", event_id=event_id)
        return Outcome(False, refused=True, error="this deployment sends no email")
    from botocore.exceptions import BotoCoreError, ClientError  # boto3 is there once a sender is

    try:
        message_id = sender.send_text(to, email_subject(analysed), email_text(analysed))
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        logger.warning("email not sent", code=code, event_id=event_id, error=str(exc))
        return Outcome(False, refused=code in _EMAIL_REFUSALS, error=f"SES refused the email ({code})")
    except BotoCoreError as exc:
        logger.warning("email not sent", event_id=event_id, error=str(exc))
        return Outcome(False, error="SES could not be reached")
    logger.info("email sent", event_id=event_id, ses_message_id=message_id)
    return Outcome(True)
