"""An owner's notification settings, for the API: read them, replace them, rotate the signing secret.

The settings are per owner, not per agent: the business is one recipient of every agent's calls, with
one URL to verify and one secret to keep (each event names its agent). The secret is made when a
webhook URL is first saved and shown in that answer only; a rotation makes a new one, shown once, and
deliveries are signed with both for ``PREVIOUS_SECRET_GRACE`` so the receiver can switch unhurried.
"""

from __future__ import annotations

from datetime import timedelta

from voice_agents.core.clock import now
from voice_agents.core.errors import InvalidRequest, RequestInProgress, TargetRefused
from voice_agents.core.settings import Settings
from voice_agents.data.notifications import NotificationStore
from voice_agents.models.notifications import NotificationSettings, UpdateNotificationsRequest
from voice_agents.providers import webhooks

PREVIOUS_SECRET_GRACE = timedelta(hours=24)


def get_settings(owner_id: str, *, store: NotificationStore) -> NotificationSettings:
    """The owner's settings (all null when never set); never the secret itself."""
    return NotificationSettings.from_record(store.settings_of(owner_id), now())


def save_settings(
    owner_id: str, request: UpdateNotificationsRequest, *, store: NotificationStore, settings: Settings
) -> NotificationSettings:
    """Replace both settings. The URL is checked as far as it can be without DNS (https, no
    credentials, no private or loopback address written as such); its host is resolved and checked
    again at every send. The first URL saved makes the signing secret, answered this once."""
    url = request.webhookUrl.strip() if request.webhookUrl else None
    if url is not None:
        try:
            webhooks.check_url(url, webhooks.Targets(settings.notification_targets))
        except TargetRefused as exc:
            raise InvalidRequest("webhookUrl", str(exc)) from None
    moment = now()
    store.save_settings(owner_id, webhook_url=url, email=request.email, moment=moment)
    issued = None
    if url is not None:
        secret = webhooks.new_secret()
        issued = secret if store.issue_first_secret(owner_id, secret, moment) else None
    return NotificationSettings.from_record(store.settings_of(owner_id), now(), issued=issued)


def rotate_secret(owner_id: str, *, store: NotificationStore) -> NotificationSettings:
    """A new signing secret, answered this once; the one it replaces signs too for a day."""
    current = store.settings_of(owner_id)
    secret = webhooks.new_secret()
    moment = now()
    rotated = store.rotate_secret(
        owner_id,
        expected=current.secret if current else None,
        secret=secret,
        moment=moment,
        previous_until=moment + PREVIOUS_SECRET_GRACE,
    )
    if not rotated:
        raise RequestInProgress("the signing secret was rotated by another request at the same moment")
    return NotificationSettings.from_record(store.settings_of(owner_id), now(), issued=secret)
