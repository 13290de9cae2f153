"""Fault injection for the integration tests.

Provider faults go through the fakes' own fault surface (real HTTP errors, delays, dropped
responses). MongoDB faults wrap one AgentStore write: FerretDB itself cannot be told to fail one
particular write, so the wrapper fails exactly that call, before or after it really happened.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from pymongo import MongoClient

from local.invoke import LambdaContext, invoke
from local.sample_events import load_event
from local.stack import LocalStack
from voice_agents import runtime
from voice_agents.core.clock import now
from voice_agents.core.errors import StoreError
from voice_agents.data.agents import AgentStore

# Client timeouts used by fault tests: short, so a 'timeout' or 'lost' fault costs little time.
CLIENT_TIMEOUT_SECONDS = 0.5
# How long a fake holds a slow or dropped request: longer than the client waits.
HOLD_MS = 1200

RETELL_CREATE_OPERATIONS = ("create_llm", "get_llm", "create_agent", "publish_agent_version")
# The Retell requests of an update, in order (the draft is created, changed, published).
RETELL_UPDATE_OPERATIONS = ("create_agent_version", "update_llm", "update_agent", "publish_agent_version")
TWILIO_CREATE_OPERATIONS = ("search_numbers", "buy_number")
DELETE_OPERATIONS = ("release_number", "delete_agent", "delete_llm")
KINDS = ("error", "timeout", "lost")

# Each MongoDB write of the saga: (AgentStore method, does this call match).
STORE_WRITES: dict[str, tuple[str, Callable[[tuple[Any, ...], dict[str, Any]], bool]]] = {
    "journal": ("insert", lambda args, kwargs: True),
    "record_llm": ("record", lambda args, kwargs: "retellLlmId" in kwargs),
    "record_agent": ("record", lambda args, kwargs: "retellAgentId" in kwargs),
    "record_number": ("record", lambda args, kwargs: "twilioPhoneNumberSid" in kwargs),
    "activate": ("update", lambda args, kwargs: args[1].get("status") == "active"),
    "mark_failed": ("update", lambda args, kwargs: args[1].get("status") == "failed"),
}


def use_short_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETELL_TIMEOUT_SECONDS", str(CLIENT_TIMEOUT_SECONDS))
    monkeypatch.setenv("TWILIO_TIMEOUT_SECONDS", str(CLIENT_TIMEOUT_SECONDS))
    runtime.reset()


def inject_provider_fault(stack: LocalStack, operation: str, kind: str) -> None:
    fake = stack.retell if operation in stack.retell.operations else stack.twilio
    if kind == "error":
        fake.inject(operation, status=500, message="injected failure")
    elif kind == "timeout":
        # Slow, not lost: the client gives up first and the provider acts later anyway.
        fake.inject(operation, delay_ms=HOLD_MS)
    else:
        fake.inject(operation, drop=True, hold_ms=HOLD_MS)


def inject_store_fault(monkeypatch: pytest.MonkeyPatch, write: str, kind: str) -> None:
    method_name, matches = STORE_WRITES[write]
    original = getattr(AgentStore, method_name)

    def faulty(self: AgentStore, *args: Any, **kwargs: Any) -> Any:
        if not matches(args, kwargs):
            return original(self, *args, **kwargs)
        if kind == "lost":
            original(self, *args, **kwargs)
            raise StoreError(f"injected: {write} applied but the reply was lost", outcome_unknown=True)
        if kind == "timeout":
            raise StoreError(f"injected: {write} timed out", outcome_unknown=True)
        raise StoreError(f"injected: {write} rejected")

    monkeypatch.setattr(AgentStore, method_name, faulty)


def wait_until(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def let_time_pass(stack: LocalStack) -> None:
    """What a reconciler sees later: slow provider requests have finished, and the leases of
    requests that died have expired (their Lambda is long gone)."""
    time.sleep(HOLD_MS / 1000 + 0.3)
    client: MongoClient = MongoClient(stack.mongodb_uri, tz_aware=True)
    past = {"$set": {"repairAfter": _past(), "leaseUntil": _past()}}
    client[stack.database].agents.update_many({"leaseUntil": {"$exists": True}}, past)
    client[stack.database].agents.update_many(
        {"repairAfter": {"$exists": True}}, {"$set": {"repairAfter": _past()}}
    )
    client[stack.database].leases.update_many({}, {"$set": {"until": _past()}})
    client.close()


def run_reconciler(context: LambdaContext | None = None) -> dict[str, Any]:
    return invoke("reconcile", load_event("reconcile.json"), context or LambdaContext(timeout_ms=300_000))


def _past() -> datetime:
    return now() - timedelta(seconds=1)


# Every provider operation a create or a delete may call, rollback and tag searches included.
RETELL_OPERATIONS = (
    "create_llm",
    "get_llm",
    "create_agent",
    "publish_agent_version",
    "list_llms",
    "list_agents",
    "delete_agent",
    "delete_llm",
)
TWILIO_OPERATIONS = ("search_numbers", "buy_number", "list_numbers", "release_number")


def make_providers_slow(stack: LocalStack, delay_ms: float) -> None:
    """Every Retell and Twilio operation answers after ``delay_ms`` (and acts, like a slow provider)."""
    for operation in RETELL_OPERATIONS:
        stack.retell.inject(operation, delay_ms=delay_ms)
    for operation in TWILIO_OPERATIONS:
        stack.twilio.inject(operation, delay_ms=delay_ms)


def providers_recover(stack: LocalStack, delay_ms: float) -> None:
    """Wait out the slow requests still in flight (they may still create resources), then heal."""
    time.sleep(delay_ms / 1000 + 0.3)
    stack.retell.clear_faults()
    stack.twilio.clear_faults()
