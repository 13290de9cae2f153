"""The saga both smoke commands run: timed steps printed as a table, and the undo of everything they
created, run whatever stopped them (a failed step, an unexpected error, Ctrl-C or SIGTERM).

A step that creates something registers its undo as soon as it succeeded; a later step that removes it
on purpose marks it settled. Whatever is still registered when the run stops is undone, newest first,
each undo a row of the table ("cleanup: ..."). The exit status is 0 only when every step passed and
nothing was left behind.

SMOKE_FAIL_AT=<step> (tests only) makes that step fail just after its action ran, so what it created
is already registered: the worst moment to fail.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO, TypeVar

T = TypeVar("T")
FAIL_AT_VARIABLE = "SMOKE_FAIL_AT"
CLEANUP = "cleanup: "
REASON_LENGTH = 200


class StepFailed(Exception):
    """A step failed; its row says why."""


class CheckFailed(Exception):
    """What a step read differs from what it expected."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


@dataclass
class Row:
    step: str
    result: str
    latency_ms: float | None


@dataclass
class Undo:
    label: str
    action: Callable[[], Any]
    # What stays, and how to find it, should the undo fail (a function: read when it failed).
    left_behind: str | Callable[[], str]

    def what_is_left(self) -> str:
        return self.left_behind if isinstance(self.left_behind, str) else self.left_behind()


@dataclass
class Saga:
    title: str
    out: TextIO = sys.stdout
    fail_at: str | None = field(default_factory=lambda: os.environ.get(FAIL_AT_VARIABLE) or None)
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _undo: dict[str, Undo] = field(default_factory=dict)

    # --- what a command's body calls ---------------------------------------------------------------

    def step(
        self,
        name: str,
        action: Callable[[], T],
        *,
        describe: Callable[[T], str] | None = None,
        undo: Callable[[T], Undo] | None = None,
        settles: str | None = None,
    ) -> T:
        """Run ``action`` timed; ``undo(result)`` registers how to remove what it created (under the
        step's name), ``settles`` names an earlier step whose creation this step removed."""
        started = time.perf_counter()
        try:
            value = action()
        except Exception as exc:
            self._row(name, f"FAILED: {_reason(exc)}", started)
            raise StepFailed(name) from exc
        if undo is not None:
            self._undo[name] = undo(value)
        if settles is not None:
            self._undo.pop(settles, None)
        if self.fail_at == name:
            self._row(name, f"FAILED: injected ({FAIL_AT_VARIABLE})", started)
            raise StepFailed(name)
        detail = describe(value) if describe else ""
        self._row(name, f"ok: {detail}" if detail else "ok", started)
        return value

    def register(self, key: str, undo: Undo) -> None:
        """Register an undo before the step ``key`` runs (it removes what that step may create even
        when its answer is lost); the step settles it like any other."""
        self._undo[key] = undo

    def skip(self, name: str, reason: str) -> None:
        self.rows.append(Row(name, f"skipped: {reason}", None))

    def note(self, text: str) -> None:
        """A line printed under the table (what the reader should know about a result)."""
        self.notes.append(text)

    def say(self, text: str) -> None:
        """A line printed now (what is about to happen, e.g. what a purchase will cost)."""
        print(text, file=self.out, flush=True)

    # --- running -------------------------------------------------------------------------------------

    def run(self, body: Callable[[Saga], None]) -> int:
        """Run ``body``, undo what is left, print the table; the exit status."""
        previous = signal.signal(signal.SIGTERM, _interrupt)
        failed = False
        try:
            body(self)
        except StepFailed:
            failed = True
        except KeyboardInterrupt:
            self.rows.append(Row("interrupted", "FAILED: interrupted (Ctrl-C or SIGTERM)", None))
            failed = True
        except Exception as exc:  # a bug between steps: still clean up
            self.rows.append(Row("(between steps)", f"FAILED: {_reason(exc)}", None))
            failed = True
        finally:
            left = self._clean_up()
            signal.signal(signal.SIGTERM, previous)
        self._print(failed, left)
        return 1 if failed or left else 0

    def _clean_up(self) -> list[str]:
        """Undo what is still registered, newest first, deaf to further interrupts; what stays."""
        if not self._undo:
            return []
        ignored = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
        left: list[str] = []
        try:
            for key in reversed(list(self._undo)):
                undo = self._undo.pop(key)
                try:
                    # An undo that says what it did (a text) has it shown.
                    self.step(CLEANUP + undo.label, undo.action, describe=_text_or_nothing)
                except StepFailed:
                    left.append(undo.what_is_left())
        finally:
            for sig, handler in ignored.items():
                signal.signal(sig, handler)
        return left

    def _row(self, name: str, result: str, started: float) -> None:
        self.rows.append(Row(name, result, (time.perf_counter() - started) * 1000))

    def _print(self, failed: bool, left: list[str]) -> None:
        width = max(len(row.step) for row in self.rows) if self.rows else 4
        lines = [f"\n{self.title}", f"  {'step':<{width}}  {'latency ms':>10}  result"]
        for row in self.rows:
            latency = f"{row.latency_ms:.0f}" if row.latency_ms is not None else "-"
            lines.append(f"  {row.step:<{width}}  {latency:>10}  {row.result}")
        lines += [f"  note: {note}" for note in self.notes]
        lines += [f"  LEFT BEHIND: {what}" for what in left]
        verdict = "FAILED" if failed or left else "passed"
        cleaned = " (everything it created was removed)" if failed and not left else ""
        lines.append(f"\n{self.title}: {verdict}{cleaned}")
        print("\n".join(lines), file=self.out, flush=True)


def _text_or_nothing(value: object) -> str:
    return value if isinstance(value, str) else ""


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # SIGTERM unwinds like Ctrl-C, so the undo runs


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    if len(text) > REASON_LENGTH:  # a row, not a dump: enough to recognise the answer
        text = text[: REASON_LENGTH - 3] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
