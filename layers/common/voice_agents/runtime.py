"""Per-process wiring: settings, the Mongo client and the provider clients, built once and reused
across invocations (module-level state survives between warm Lambda invocations)."""

from __future__ import annotations

import functools
import os
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from voice_agents.config import Settings, load_settings
from voice_agents.retell import RetellClient
from voice_agents.store import AgentStore, connect

if TYPE_CHECKING:
    from voice_agents.twilio_numbers import TwilioNumbers

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


@functools.cache
def settings() -> Settings:
    return load_settings()


@functools.cache
def store() -> AgentStore:
    config = settings()
    agent_store = AgentStore(
        connect(config.require("MONGODB_URI"), config.mongodb_database, config.mongodb_max_pool_size)
    )
    return agent_store


@functools.cache
def retell() -> RetellClient:
    config = settings()
    return RetellClient(
        config.retell_base_url, config.require("RETELL_API_KEY"), config.retell_timeout_seconds
    )


@functools.cache
def twilio() -> TwilioNumbers:
    from voice_agents.twilio_numbers import TwilioNumbers  # twilio.rest costs ~100 ms to import

    config = settings()
    return TwilioNumbers(
        account_sid=config.require("TWILIO_ACCOUNT_SID"),
        auth_token=config.require("TWILIO_AUTH_TOKEN"),
        base_url=config.twilio_base_url,
        timeout_seconds=config.twilio_timeout_seconds,
        country=config.phone_number_country,
        number_type=config.phone_number_type,
        bundle_sid=config.twilio_bundle_sid,
        address_sid=config.twilio_address_sid,
    )


def services() -> Services:
    return Services(settings=settings(), store=store(), retell=retell(), twilio=twilio())


def reset() -> None:
    """Close and forget every cached client (tests change the environment between cases)."""
    if store.cache_info().currsize:
        store().database.client.close()
    if retell.cache_info().currsize:
        retell().close()
    for builder in (settings, store, retell, twilio):
        builder.cache_clear()
