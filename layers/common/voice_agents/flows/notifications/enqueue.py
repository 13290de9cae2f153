"""After Retell's ``call_analyzed`` is applied: queue one message per channel the owner set.

Bounded and never failing the event: the call's record is already written, so whatever happens here
Retell gets its 204. The database work takes at most ``DATABASE_SECONDS`` and SQS at most about 4 s
(``providers/notifications_queue``), inside the function's 8 s and Retell's 10 s.

Each channel's delivery record is inserted before its message is sent (``open_delivery``): a repeated
``call_analyzed`` finds it and queues nothing. When SQS refuses or cannot be reached, the records are
marked ``unqueued`` (a repeat of the event would queue them again), the failure is logged and counted
(``NotificationsNotQueued``, which alarms), and that call's notification is not sent: Retell is not
asked to repeat the event (a 5xx would make it retry the whole event, which the record does not need,
and the answer must not depend on a queue). If even the marking fails, the records stay ``queuing``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from voice_agents.core.clock import now
from voice_agents.core.observability import count, logger
from voice_agents.data.database import bounded
from voice_agents.data.notifications import delivery_id
from voice_agents.flows.notifications.messages import EMAIL, WEBHOOK, QueuedNotification, event_id_for

if TYPE_CHECKING:
    from voice_agents.runtime import Runtime

DATABASE_SECONDS = 2.0


def queue_call_analyzed(process: Runtime, *, call_sid: str | None, retell_call_id: str) -> None:
    """Queue the owner's notifications of this analysed call; never raises."""
    queue = process.notifications_queue()
    if queue is None:
        return
    opened: list[str] = []
    try:
        moment = now()
        with bounded(DATABASE_SECONDS):
            messages = _open_deliveries(process, call_sid, retell_call_id, moment)
        if not messages:
            return
        opened = [delivery_id(each.event_id, each.channel) for each in messages.values()]
        queued = queue.send({channel: each.body() for channel, each in messages.items()})
        if queued.refused:
            refused = [delivery_id(messages[channel].event_id, channel) for channel in queued.refused]
            _not_queued(process, refused, f"SQS refused {', '.join(queued.refused)}")
            return
        count("NotificationsQueued", len(queued.accepted))
    except Exception as exc:  # the event is answered whatever happens here
        _not_queued(process, opened, f"{type(exc).__name__}: {exc}")


def _open_deliveries(
    process: Runtime, call_sid: str | None, retell_call_id: str, moment: datetime
) -> dict[str, QueuedNotification]:
    """The message of each channel that is set and was not queued before, by channel."""
    store = process.store()
    call = (
        store.calls.find(call_sid, moment)
        if call_sid is not None
        else store.calls.find_by_retell_call(retell_call_id, moment)
    )
    if call is None or call.owner_id is None:
        return {}
    owner = store.notifications.settings_of(call.owner_id)
    if owner is None:
        return {}
    event_id = event_id_for(call.call_sid)
    channels = [channel for channel, set_to in ((WEBHOOK, owner.webhook_url), (EMAIL, owner.email)) if set_to]
    messages = {
        channel: QueuedNotification(event_id, channel, call.call_sid, call.owner_id, moment)
        for channel in channels
        if store.notifications.open_delivery(
            event_id, channel, owner_id=call.owner_id, call_sid=call.call_sid, moment=moment
        )
    }
    if channels and not messages:
        logger.info("notifications queued before; not again", event_id=event_id)
    return messages


def _not_queued(process: Runtime, record_ids: list[str], error: str) -> None:
    logger.error("notifications not queued", error=error, deliveries=record_ids)
    count("NotificationsNotQueued")
    if not record_ids:
        return
    try:
        with bounded(DATABASE_SECONDS):
            process.store().notifications.mark_unqueued(record_ids, error)
    except Exception as exc:
        logger.error("deliveries left queuing", error=str(exc), deliveries=record_ids)
