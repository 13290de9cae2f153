"""Entry points for tests that need several processes (each its own Lambda instance)."""

from __future__ import annotations

import multiprocessing
from typing import Any

from local.invoke import invoke


def invoke_in_process(job: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    function, event = job
    return invoke(function, event)


def run_in_processes(jobs: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Run each (function, event) in its own fresh process, all at once; the environment is inherited."""
    with multiprocessing.get_context("spawn").Pool(len(jobs)) as pool:
        return pool.map(invoke_in_process, jobs)
