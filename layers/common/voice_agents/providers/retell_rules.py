"""Rules of Retell's API that callers outside the adapter apply too, without importing the adapter
(and httpx with it: the update function builds Retell's bodies before it first calls Retell)."""

from __future__ import annotations


def start_speaker(begin_message: str | None) -> str:
    """Who speaks first: the agent when it has a greeting, else the caller. Retell documents
    ``start_speaker`` as required although its schema does not list it, so it is always sent."""
    return "agent" if begin_message else "user"
