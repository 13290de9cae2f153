"""Shared arithmetic of the benchmarks: wall-clock timing and the summary figures they print."""

from __future__ import annotations

import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# What pytest's `pythonpath` setting gives the tests; `python -m` only puts the working directory
# first. Every benchmark imports this module before the layer or the local stack.
ROOT = Path(__file__).resolve().parents[2]
for _entry in (ROOT / "layers" / "common", ROOT):
    if str(_entry) not in sys.path:
        sys.path.insert(0, str(_entry))


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile (p90 of 15 samples is the 14th smallest)."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def summary(samples: list[float], *, digits: int = 1, tail: bool = False) -> dict[str, float]:
    """Median, p90 (and p99 with ``tail``), min and max, rounded to ``digits``."""
    figures = {"median": statistics.median(samples), "p90": percentile(samples, 0.9)}
    if tail:
        figures["p99"] = percentile(samples, 0.99)
    figures |= {"min": min(samples), "max": max(samples)}
    return {name: round(value, digits) for name, value in figures.items()}


def timed(action: Callable[[], Any]) -> float:
    """Milliseconds ``action`` took, by the wall clock."""
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def print_header(module: str, argv: list[str] | None) -> None:
    """The command that produced the figures and the machine they were measured on."""
    print(
        f"command: cd {Path.cwd()} && {os.path.relpath(sys.executable)} -m {module} "
        + " ".join(sys.argv[1:] if argv is None else argv)
    )
    print(
        f"python: {platform.python_implementation()} {platform.python_version()} | "
        f"os: {platform.platform()} | machine: {platform.machine()} | cpus: {os.cpu_count()}"
    )
