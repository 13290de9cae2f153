"""The connection: one client per process, the collections' names, and the rule that every driver
error leaves the data layer as a StoreError."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

import pymongo
from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import AutoReconnect, InvalidURI, NetworkTimeout, PyMongoError, WTimeoutError

from voice_agents.core.errors import ConfigurationError, StoreError

P = ParamSpec("P")
T = TypeVar("T")

AGENTS = "agents"
IDEMPOTENCY = "idempotency"
CALLS = "calls"  # inbound calls by Twilio CallSid: their registration and history (data/calls.py)
RECORDINGS = "recordings"  # each call's recording and its copy in the stack's bucket (data/recordings.py)
LEASES = "leases"
SWEEP_STATE = "sweep_state"  # where each of the sweep's listings stopped (data/sweep_cursors.py)
DEPLOYMENT = "deployment"  # the deployment marker (data/deployment.py)
PURCHASES = "purchases"  # every create that may have bought a number, by agent id (data/purchases.py)
REQUEST_COUNTS = "request_counts"  # requests per owner and minute (data/request_counts.py)
NOTIFICATION_SETTINGS = "notification_settings"  # each owner's webhook URL, email, secret
NOTIFICATION_DELIVERIES = "notification_deliveries"  # one per notification and channel
NOT_IMPLEMENTED = 238  # FerretDB's answer to TTL and partial indexes


def connect(uri: str, database: str, max_pool_size: int) -> Database[dict[str, Any]]:
    """One client per process (created at cold start): a small pool, short timeouts, tz-aware dates.

    A ``mongodb+srv`` URI is resolved here, in the constructor: a host that DNS cannot resolve is a
    StoreError like any other unreachable database, not a driver error.
    """
    try:
        client: MongoClient[dict[str, Any]] = MongoClient(
            uri,
            maxPoolSize=max_pool_size,
            serverSelectionTimeoutMS=5000,
            connectTimeoutMS=3000,
            socketTimeoutMS=10000,
            tz_aware=True,
            appname="voice-agents",
        )
    except InvalidURI as exc:  # its text may quote the URI, password included: keep it out
        raise ConfigurationError(
            "MONGODB_URI is not a valid MongoDB connection string", "MONGODB_URI"
        ) from exc
    except PyMongoError as exc:
        raise StoreError(f"database connect failed: {exc}") from exc
    return client[database]


@contextmanager
def bounded(seconds: float) -> Iterator[None]:
    """Every database operation inside takes at most ``seconds`` in all (pymongo's client-side
    timeout), for work that must not hold up what it runs beside (a StoreError when it would)."""
    with pymongo.timeout(seconds):
        yield


def translate_errors(method: Callable[P, T]) -> Callable[P, T]:
    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(*args, **kwargs)
        except PyMongoError as exc:
            unknown = isinstance(exc, AutoReconnect | NetworkTimeout | WTimeoutError)
            raise StoreError(f"database {method.__name__} failed: {exc}", outcome_unknown=unknown) from exc

    return wrapper
