"""The notifications queue's consumer (one message: one channel of one analysed call), and the test
delivery the owner asks for.

A message is delivered once: the consumer takes its delivery record (``claim_delivery``) before it
sends, and settles it after. A record already final (delivered, refused, skipped) is acknowledged
without sending, so a message SQS hands out twice, or a second message for the same event, sends
nothing more; one another consumer holds comes back later.

A failed try (a 5xx, a timeout, DNS, SES throttling) is tried again: the message's visibility is set
to ``NOTIFICATION_RETRY_BASE_SECONDS`` x 2^(receives - 1) (at most an hour, with jitter) and the
message is reported failed, so SQS hands it out again then. The try at ``NOTIFICATION_MAX_ATTEMPTS``
receives marks the record ``dead`` and makes the message visible at once: SQS then moves it to the
dead-letter queue (``maxReceiveCount``), whose depth alarms. A message redriven from there is tried
again. A target we may not send to is ``refused`` and never retried; an owner who turned the channel
off, or a call whose record expired, is ``skipped``.
"""

from __future__ import annotations

import random
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from voice_agents.core.clock import now
from voice_agents.core.errors import NotificationsNotSet
from voice_agents.core.observability import count, logger
from voice_agents.core.settings import Settings
from voice_agents.data import notifications as records
from voice_agents.data.agents import AgentStore
from voice_agents.flows.notifications import content
from voice_agents.flows.notifications.messages import EMAIL, WEBHOOK, QueuedNotification
from voice_agents.flows.notifications.sending import Outcome, send_email, send_webhook
from voice_agents.models.notifications import ChannelResult, TestDelivery

if TYPE_CHECKING:
    from voice_agents.runtime import Runtime

MAX_BACKOFF_SECONDS = 3600
# Held by one consumer at least as long as one try can take (the POST's timeout, SES, the reads).
HOLD = timedelta(seconds=90)
# A record another consumer holds: look again soon.
BUSY_DELAY_SECONDS = 30


class DeliveryFailed(Exception):
    """This try did not deliver: the message is reported failed and comes back after its back-off."""


def deliver_queued(body: str, *, receive_count: int, receipt_handle: str, process: Runtime) -> None:
    """Deliver one queued message; returns when it needs no other try, raises DeliveryFailed when it does."""
    notification = QueuedNotification.read(body)
    if notification is None:
        logger.error("queued notification unreadable; dropped", body=body[:200])
        count("NotificationsMalformed")
        return
    logger.append_keys(event_id=notification.event_id, channel=notification.channel)
    settings = process.settings()
    store = process.store()
    record_id = records.delivery_id(notification.event_id, notification.channel)
    held = store.notifications.claim_delivery(record_id, moment=now(), hold=HOLD)
    if held is None:
        _not_claimed(store, record_id, receipt_handle, process)
        return
    outcome = _send(notification, store, process)
    last_try = receive_count >= settings.notification_max_attempts
    status = _status(outcome, last_try)
    store.notifications.settle_delivery(
        record_id, status=status, http_status=outcome.status, error=outcome.error, moment=now()
    )
    _count(status, notification.channel)
    if status not in (records.RETRYING, records.DEAD):
        return
    queue = process.notifications_queue()
    if queue is not None:
        # The last try: visible at once, so SQS moves it to the dead-letter queue on its next receive.
        queue.delay(receipt_handle, 0 if last_try else backoff_seconds(receive_count, settings))
    raise DeliveryFailed(f"{notification.channel} try {receive_count} failed: {outcome.error}")


def backoff_seconds(receive_count: int, settings: Settings) -> int:
    """Exponential in the receives so far, at most an hour, with equal jitter (a burst of failures
    to one endpoint does not come back all at once)."""
    base = settings.notification_retry_base_seconds
    delay = min(MAX_BACKOFF_SECONDS, base * 2 ** max(0, receive_count - 1))
    return int(delay / 2 + random.uniform(0, delay / 2) + 0.5)  # noqa: S311 - jitter, not a secret


def send_test(owner_id: str, *, process: Runtime) -> TestDelivery:
    """A sample event to every channel the owner set, once and now (no queue, no retries)."""
    store = process.store()
    moment = now()
    owner = store.notifications.settings_of(owner_id)
    if owner is None or not (owner.webhook_url or owner.email):
        raise NotificationsNotSet("set a webhook URL or an email first")
    event_id = f"evt_test_{secrets.token_hex(8)}"
    analysed = content.sample(moment)
    results: dict[str, ChannelResult] = {}
    if owner.webhook_url:
        outcome = send_webhook(
            owner.webhook_url,
            event_id=event_id,
            analysed=analysed,
            occurred_at=moment,
            signing_secrets=owner.signing_secrets(moment),
            settings=process.settings(),
        )
        results[WEBHOOK] = _result(outcome)
    if owner.email:
        outcome = send_email(owner.email, analysed=analysed, sender=process.email_sender(), event_id=event_id)
        results[EMAIL] = _result(outcome)
    return TestDelivery(eventId=event_id, **results)


def _send(notification: QueuedNotification, store: AgentStore, process: Runtime) -> Outcome:
    """One try of the message's channel, from the owner's settings as they are now."""
    moment = now()
    owner = store.notifications.settings_of(notification.owner_id)
    target = None if owner is None else owner.webhook_url if notification.channel == WEBHOOK else owner.email
    call = store.calls.find(notification.call_sid, moment)
    if owner is None or target is None or call is None:
        reason = "the call's record has expired" if call is None else f"no {notification.channel} is set"
        return Outcome(False, skipped=True, error=reason)
    agent = store.get_record(call.agent_object_id) if call.agent_object_id else None
    analysed = content.AnalysedCall.from_record(call, agent.text("name") if agent else None)
    if notification.channel == WEBHOOK:
        return send_webhook(
            target,
            event_id=notification.event_id,
            analysed=analysed,
            occurred_at=notification.occurred_at,
            signing_secrets=owner.signing_secrets(moment),
            settings=process.settings(),
        )
    sender = process.email_sender()
    return send_email(target, analysed=analysed, sender=sender, event_id=notification.event_id)


def _status(outcome: Outcome, last_try: bool) -> str:
    if outcome.delivered:
        return records.DELIVERED
    if outcome.refused:
        return records.REFUSED
    if outcome.skipped:
        return records.SKIPPED
    return records.DEAD if last_try else records.RETRYING


def _not_claimed(store: AgentStore, record_id: str, receipt_handle: str, process: Runtime) -> None:
    existing = store.notifications.find_delivery(record_id)
    if existing is None:
        logger.warning("queued notification has no delivery record; dropped")
        count("NotificationsMalformed")
        return
    if existing.final:
        logger.info("notification already settled; not sent again", status=existing.status)
        return
    queue = process.notifications_queue()
    if queue is not None:
        queue.delay(receipt_handle, BUSY_DELAY_SECONDS)
    raise DeliveryFailed("another consumer holds this delivery")


def _count(status: str, channel: str) -> None:
    metric = {
        records.DELIVERED: "NotificationsDelivered",
        records.RETRYING: "NotificationsRetried",
        records.DEAD: "NotificationsDeadLettered",
        records.REFUSED: "NotificationsRefused",
        records.SKIPPED: "NotificationsSkipped",
    }[status]
    count(metric, channel=channel)


def _result(outcome: Outcome) -> ChannelResult:
    return ChannelResult(
        delivered=outcome.delivered,
        status=outcome.status,
        error=outcome.error,
        durationMs=outcome.duration_ms,
    )
