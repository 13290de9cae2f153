"""What a benchmark's handlers ask of the database: every command they send, counted by name."""

from __future__ import annotations

import os
from collections import Counter
from typing import TypeVar

from pymongo import monitoring

Listener = TypeVar("Listener", bound=monitoring.CommandListener)


class CommandsSent(monitoring.CommandListener):
    """Every command sent by the MongoClients of this process made after it is registered."""

    def __init__(self) -> None:
        self.names: Counter[str] = Counter()

    @property
    def total(self) -> int:
        return sum(self.names.values())

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.names[event.command_name] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def watch_quietly(listener: Listener) -> Listener:
    """Register ``listener`` before any client exists (pymongo reads listeners when a client is made),
    and keep the handlers' logs and metrics out of the figures."""
    monitoring.register(listener)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    return listener
