"""Crash injection: the process dies right after an external call succeeded, before anything
was written about it. Raised as a BaseException so no `except Exception` in our code runs, as
when Lambda kills the process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from voice_agents.data.agents import AgentStore
from voice_agents.providers.retell import RetellClient
from voice_agents.providers.twilio import TwilioNumbers


class Crash(BaseException):
    """The process died here."""


# step name -> (class, method) whose successful call is followed by the crash
CREATE_STEPS: dict[str, tuple[type, str]] = {
    "journal": (AgentStore, "insert"),
    "create_llm": (RetellClient, "create_llm"),
    "check_llm": (RetellClient, "get_llm"),
    "create_agent": (RetellClient, "create_agent"),
    "search_numbers": (TwilioNumbers, "search"),
    "buy_number": (TwilioNumbers, "buy"),
    "record_write": (AgentStore, "record"),
    "activate": (AgentStore, "update"),
}
DELETE_STEPS: dict[str, tuple[type, str]] = {
    "journal_deleting": (AgentStore, "claim"),
    "release_number": (TwilioNumbers, "release"),
    "delete_agent": (RetellClient, "delete_agent"),
    "delete_llm": (RetellClient, "delete_llm"),
    "soft_delete": (AgentStore, "release_lease"),
}
UPDATE_STEPS: dict[str, tuple[type, str]] = {
    "journal_update": (AgentStore, "begin_update"),
    "create_draft": (RetellClient, "create_agent_version"),
    "record_draft": (AgentStore, "record_update_draft"),
    "update_llm": (RetellClient, "update_llm"),
    "update_agent": (RetellClient, "update_agent"),
    "publish": (RetellClient, "publish_agent_version"),
    "commit": (AgentStore, "commit_update"),
}


@contextmanager
def crash_after(owner: type, method: str) -> Iterator[None]:
    """Inside the block, every successful ``owner.method`` call is followed by the crash."""
    original = getattr(owner, method)

    def succeed_then_die(self: Any, *args: Any, **kwargs: Any) -> Any:
        original(self, *args, **kwargs)
        raise Crash(f"died right after {owner.__name__}.{method}")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(owner, method, succeed_then_die)
        yield
