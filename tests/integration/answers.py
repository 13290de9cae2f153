"""What every error answer of the API must be: a documented body with the request id, and nothing
an attacker or a curious client could use (hosts, URLs, account SIDs, ARNs, exception names)."""

from __future__ import annotations

import inspect
import io
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from voice_agents.core import errors
from voice_agents.core.observability import logger

ERROR_KEYS = {
    "error", "message", "requestId", "fields", "step", "agentId", "setting", "limit", "rolledBack",
    "cleanupPending", "provider",
}  # fmt: skip
DOMAIN_EXCEPTIONS = sorted(name for name, value in vars(errors).items() if inspect.isclass(value))
INTERNALS = {
    "host:port": re.compile(r"[\w.-]+:\d{2,5}\b"),
    "URL": re.compile(r"\b[a-z][a-z0-9+.-]*://", re.IGNORECASE),
    "account or number SID": re.compile(r"\b(?:AC|PN)[0-9a-f]{32}\b", re.IGNORECASE),
    "ARN": re.compile(r"\barn:", re.IGNORECASE),
    "exception name": re.compile(r"\b\w+(?:Error|Exception|Timeout)\b|" + "|".join(DOMAIN_EXCEPTIONS)),
    "stack trace": re.compile(r"Traceback|File \""),
}


def assert_plain_error(response: dict[str, Any], event: dict[str, Any], status: int) -> dict[str, Any]:
    """The answer is ``status`` with an error body carrying the request's id and no internals."""
    assert response["statusCode"] == status, response["body"]
    text = response["body"]
    body = json.loads(text)
    assert isinstance(body["error"], str) and isinstance(body["message"], str)
    assert body["requestId"] == event["requestContext"]["requestId"]
    assert set(body) <= ERROR_KEYS, set(body) - ERROR_KEYS
    for what, pattern in INTERNALS.items():
        found = pattern.search(text)
        assert found is None, f"the answer carries a {what} ({found and found.group()}): {text}"
    return dict(body)


class LogLines:
    """The structured log lines the functions write, as CloudWatch would receive them."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    def entries(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line.startswith("{")]

    def of_request(self, request_id: str) -> list[dict[str, Any]]:
        """The lines written under ``request_id`` (the logs' correlation id)."""
        return [entry for entry in self.entries() if entry.get("correlation_id") == request_id]

    def tracebacks(self) -> list[str]:
        return [text for text in self.stream.getvalue().splitlines() if "Traceback" in text]


@contextmanager
def capture_log_lines() -> Iterator[LogLines]:
    """Every line of the functions' logger, formatted by its own formatter when written."""
    lines = LogLines()
    handler = logging.StreamHandler(lines.stream)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    yield lines
    # Powertools' Logger hands removeHandler to the logging.Logger it wraps; its stubs omit it.
    logger.removeHandler(handler)  # type: ignore[attr-defined]
