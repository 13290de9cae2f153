"""Calls as CSV (RFC 4180, UTF-8, CRLF): a header row, then a row per call, newest first, one column
per post-call field the agents searched ask (``answer.<name>``).

An answer is at most 6 MB (Lambda's limit for a synchronous answer) and an HTTP API does not stream a
Lambda's answer, so one CSV holds at most MAX_ROWS calls and MAX_BYTES of body as Lambda sends it
(the body is a JSON string in Lambda's answer: quotes and non-ASCII characters count as escaped);
when more calls match, ``next_cursor`` names where the next part starts (the route answers it in
``X-Next-Cursor``).

A cell a spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return) is written with a ``'`` in front (OWASP's advice against CSV injection): a caller's
number ``+61...`` reads ``'+61...``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from voice_agents.core.post_call_fields import answer_text
from voice_agents.data.calls import CallRecord
from voice_agents.models.calls import Call
from voice_agents.models.post_call_fields import PostCallField

MAX_ROWS = 1_000
# Under Lambda's 6 MB, with room for the headers and the JSON around the body.
MAX_BYTES = 5_000_000
MEDIA_TYPE = "text/csv"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ANSWER_PREFIX = "answer."
COLUMNS = (
    "callSid",
    "agentId",
    "registeredAt",
    "status",
    "from",
    "to",
    "startedAt",
    "endedAt",
    "durationSeconds",
    "outcome",
    "disconnectionReason",
    "sentiment",
    "summary",
    "retellCostCents",
    "retellCurrency",
    "twilioCostCents",
    "twilioCurrency",
)


@dataclass(frozen=True)
class CsvExport:
    body: str
    rows: int
    next_cursor: str | None  # the last row's orderId when more calls match


def render(
    calls: Sequence[CallRecord], *, fields: Sequence[PostCallField], zone: ZoneInfo, more: bool
) -> CsvExport:
    """``calls`` as CSV, times in ``zone`` (ISO 8601 with their offset), cut at MAX_BYTES; ``more``
    says whether calls past ``calls`` match too."""
    names = list(dict.fromkeys(field.name for field in fields))
    lines = [_line([*COLUMNS, *(ANSWER_PREFIX + name for name in names)])]
    size = _sent_size(lines[0])
    kept = 0
    for record in calls:
        line = _line(_row(Call.from_record(record), names, zone))
        size += _sent_size(line)
        if size > MAX_BYTES and kept:
            more = True
            break
        lines.append(line)
        kept += 1
    last = calls[kept - 1].order_id if more and kept else None
    return CsvExport(body="".join(lines), rows=kept, next_cursor=str(last) if last is not None else None)


def _row(call: Call, names: Sequence[str], zone: ZoneInfo) -> list[str]:
    cost, telephony = call.cost, call.twilioCost
    fixed: list[Any] = [
        call.callSid,
        call.agentId,
        _local(call.registeredAt, zone),
        call.status.value,
        call.from_,
        call.to,
        _local(call.startedAt, zone),
        _local(call.endedAt, zone),
        _seconds(call.durationMs) if call.durationMs is not None else None,
        call.outcome,
        call.disconnectionReason,
        call.sentiment,
        call.summary,
        cost.totalCents if cost else None,
        cost.currency if cost else None,
        telephony.cents if telephony else None,
        telephony.currency if telephony else None,
    ]
    answers = call.postCallAnswers
    asked = [_cell(answer_text(answers[name]) if name in answers else None) for name in names]
    return [*map(_cell, fixed), *asked]


def _seconds(milliseconds: int) -> str:
    """Milliseconds as seconds, exactly: 72500 is 72.5."""
    whole, rest = divmod(milliseconds, 1000)
    return f"{whole}.{rest:03d}".rstrip("0").rstrip(".")


def _local(moment: datetime | None, zone: ZoneInfo) -> str | None:
    return moment.astimezone(zone).isoformat() if moment is not None else None


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _line(cells: Sequence[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(cells)
    return out.getvalue()


def _sent_size(text: str) -> int:
    """The bytes ``text`` takes in Lambda's answer: a JSON string, escaped (ASCII only)."""
    return len(json.dumps(text)) - 2
