"""Per-process wiring: the settings and the clients built from them, kept across warm invocations.

Secret values rotate. ``Runtime`` owns the age of the settings (and of the secrets they were read
from) and every client built from them: the settings are re-read after SECRETS_MAX_AGE_SECONDS, or
at once when a Twilio signature or a provider's 401 says the values in hand may be stale, and a
client is rebuilt only when the values it was built from changed. Forced re-reads are rate-limited
(SECRETS_REFRESH_INTERVAL_SECONDS since the last read), so a flood of forged webhooks cannot hammer
Secrets Manager.

Clients are replaced lazily, on the next ``store()``/``retell()``/``twilio()`` call: a refresh
triggered from inside a request (a provider's 401 in one of the create saga's threads) never closes a
client that the request's other thread is still using.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from voice_agents.core.errors import ConfigurationError
from voice_agents.core.observability import count, logger
from voice_agents.core.settings import (
    OPTIONAL_SECRET_VARIABLES,
    SECRET_VARIABLES,
    Settings,
    forget_secret,
    load_settings,
    secret_reads,
)

if TYPE_CHECKING:
    from voice_agents.data.agents import AgentStore
    from voice_agents.providers.creation_switch import CreationSwitch
    from voice_agents.providers.email import EmailSender
    from voice_agents.providers.notifications_queue import NotificationsQueue
    from voice_agents.providers.retell import RetellClient
    from voice_agents.providers.s3 import RecordingBucket
    from voice_agents.providers.twilio import TwilioNumbers

C = TypeVar("C")

# Names this process in leases, so a lease can be traced to the Lambda instance that held it.
_INSTANCE = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", os.uname().nodename)
WORKER_ID = f"{_INSTANCE}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Services:
    """What the domain functions talk to; tests build one around the local stack."""

    settings: Settings
    store: AgentStore
    retell: RetellClient
    twilio: TwilioNumbers
    # The operator's kill switch for creates; None when CREATION_PAUSED_PARAMETER is unset.
    creation_switch: CreationSwitch | None = None
    # The recordings bucket; None when RECORDINGS_BUCKET is unset (nothing is copied).
    recordings: RecordingBucket | None = None


@dataclass
class _Built:
    inputs: Hashable  # the setting values the client was built from
    client: Any
    close: Callable[[Any], None]


class Runtime:
    """The settings, their age, and the clients built from them, for one process."""

    def __init__(
        self, *, environ: Mapping[str, str] | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._environ = environ  # None: os.environ, read at every load
        self._clock = clock
        self._lock = threading.RLock()
        self._settings: Settings | None = None
        self._read_at = 0.0  # when the settings were last read (or a re-read last failed)
        self._built: dict[str, _Built] = {}

    # --- settings ---------------------------------------------------------------------------------

    def settings(self) -> Settings:
        with self._lock:
            if self._settings is None:
                self._settings = load_settings(self._environ, force_secret=True)
                self._read_at = self._clock()
            elif self._clock() - self._read_at >= self._settings.secrets_max_age_seconds:
                self._reload("age")
            return self._settings

    def refresh_secrets(self, reason: str) -> bool:
        """Re-read the secrets now, unless they were read less than SECRETS_REFRESH_INTERVAL_SECONDS ago.

        True when values changed; clients built from changed values are rebuilt on their next use.
        """
        with self._lock:
            current = self.settings()
            if not secret_reads(self._environ):
                return False  # every value comes from the environment: nothing to re-read
            since_read = self._clock() - self._read_at
            if since_read < current.secrets_refresh_interval_seconds:
                logger.info("secret read recently; not re-read", reason=reason, seconds_ago=round(since_read))
                return False
            changed = self._reload(reason)
            count("SecretsRefreshed")
            return changed

    def signed_with_secret(self, variable: str, is_signed_with: Callable[[str], bool]) -> Settings | None:
        """The settings whose secret ``variable`` signed a request (``is_signed_with(value)``), or None.
        A failed check re-reads the secret once (rate-limited) and checks again with a changed value:
        the secret may have been rotated since this process read it."""
        settings = self.settings()
        value = settings.require(variable)
        if is_signed_with(value):
            return settings
        if self.refresh_secrets(f"signature rejected with {variable}"):
            fresh = self.settings()
            fresh_value = fresh.require(variable)
            if fresh_value != value and is_signed_with(fresh_value):
                logger.info("signature valid with the re-read secret", setting=variable)
                return fresh
        return None

    def _reload(self, reason: str) -> bool:
        previous = self._settings
        self._read_at = self._clock()  # failures too: a down Secrets Manager is retried after a while
        try:
            fresh = load_settings(self._environ, force_secret=True)
        except ConfigurationError as exc:
            # Keep the values in hand: they may well still work.
            logger.warning("could not re-read the settings; keeping the current ones", error=str(exc))
            return False
        self._settings = fresh
        changed = [
            name
            for name in (*SECRET_VARIABLES, *OPTIONAL_SECRET_VARIABLES)
            if previous and previous.value(name) != fresh.value(name)
        ]
        if changed:  # names only, never values
            logger.info("secret values changed", reason=reason, changed=changed)
        return fresh != previous

    # --- clients ------------------------------------------------------------------------------------

    def store(self) -> AgentStore:
        # pymongo on first use: the fallback URL's function never reads the database
        from voice_agents.data.agents import AgentStore
        from voice_agents.data.database import connect

        config = self.settings()
        inputs = (config.require("MONGODB_URI"), config.mongodb_database, config.mongodb_max_pool_size)
        return self._client(
            "store", inputs, lambda: AgentStore(connect(*inputs)), lambda built: built.database.client.close()
        )

    def retell(self) -> RetellClient:
        from voice_agents.providers.retell import RetellClient  # httpx: the read routes never call Retell

        config = self.settings()
        inputs = (config.retell_base_url, config.require("RETELL_API_KEY"), config.retell_timeout_seconds)
        return self._client(
            "retell",
            inputs,
            lambda: RetellClient(*inputs, on_unauthorized=self._on_unauthorized("retell")),
            lambda built: built.close(),
        )

    def twilio(self) -> TwilioNumbers:
        from voice_agents.providers.twilio import TwilioNumbers  # twilio.rest costs ~100 ms to import

        config = self.settings()
        arguments: dict[str, Any] = {
            "account_sid": config.require("TWILIO_ACCOUNT_SID"),
            "auth_token": config.require("TWILIO_AUTH_TOKEN"),
            "base_url": config.twilio_base_url,
            "timeout_seconds": config.twilio_timeout_seconds,
        }
        return self._client(
            "twilio",
            tuple(sorted(arguments.items())),
            lambda: TwilioNumbers(**arguments, on_unauthorized=self._on_unauthorized("twilio")),
            lambda _: None,  # the SDK's session closes with the object
        )

    def creation_switch(self) -> CreationSwitch | None:
        from voice_agents.providers.creation_switch import CreationSwitch  # boto3 on its first read

        name = self.settings().creation_paused_parameter
        if name is None:
            return None
        return self._client("creation_switch", name, lambda: CreationSwitch(name), lambda _: None)

    def notifications_queue(self) -> NotificationsQueue | None:
        """The queue deliveries go on; None when NOTIFICATIONS_QUEUE_URL is unset (nothing is queued)."""
        url = self.settings().notifications_queue_url
        if not url:
            return None
        from voice_agents.providers.notifications_queue import NotificationsQueue  # boto3

        return self._client("notifications_queue", url, lambda: NotificationsQueue(url), lambda _: None)

    def email_sender(self) -> EmailSender | None:
        """SES from NOTIFICATION_EMAIL_SENDER; None when it is unset (no email is sent)."""
        sender = self.settings().notification_email_sender
        if not sender:
            return None
        from voice_agents.providers.email import EmailSender  # boto3

        return self._client("email", sender, lambda: EmailSender(sender), lambda _: None)

    def recordings(self) -> RecordingBucket | None:
        """The recordings bucket, or None without RECORDINGS_BUCKET (boto3 is imported at its first use)."""
        from voice_agents.providers.s3 import RecordingBucket

        bucket = self.settings().recordings_bucket
        if not bucket:
            return None
        return self._client("recordings", bucket, lambda: RecordingBucket(bucket), lambda _: None)

    def services(self) -> Services:
        return Services(
            settings=self.settings(),
            store=self.store(),
            retell=self.retell(),
            twilio=self.twilio(),
            creation_switch=self.creation_switch(),
            recordings=self.recordings(),
        )

    def reset(self) -> None:
        """Close every client and forget the settings (tests change the environment between cases)."""
        with self._lock:
            for built in self._built.values():
                built.close(built.client)
            self._built.clear()
            self._settings = None
        forget_secret()

    def _client(self, name: str, inputs: Hashable, build: Callable[[], C], close: Callable[[C], None]) -> C:
        with self._lock:
            current = self._built.get(name)
            if current is not None and current.inputs == inputs:
                return current.client
            client = build()
            if current is not None:
                logger.info("settings changed; client rebuilt", client=name)
                current.close(current.client)
            self._built[name] = _Built(inputs, client, close)
            return client

    def _on_unauthorized(self, provider: str) -> Callable[[], None]:
        def refresh() -> None:
            self.refresh_secrets(f"{provider} answered 401")

        return refresh


_runtime = Runtime()


def process() -> Runtime:
    """This process's runtime, for a flow that needs more than services (the webhook re-reads the
    secret when a signature fails)."""
    return _runtime


def settings() -> Settings:
    return _runtime.settings()


def store() -> AgentStore:
    return _runtime.store()


def retell() -> RetellClient:
    return _runtime.retell()


def twilio() -> TwilioNumbers:
    return _runtime.twilio()


def recordings() -> RecordingBucket | None:
    return _runtime.recordings()


def services() -> Services:
    return _runtime.services()


def creation_switch() -> CreationSwitch | None:
    return _runtime.creation_switch()


def refresh_secrets(reason: str) -> bool:
    return _runtime.refresh_secrets(reason)


def reset() -> None:
    _runtime.reset()
