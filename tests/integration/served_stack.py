"""The local stack in a process of its own, as `make stack` and `make api` run it, and the checkout's
commands run as the Makefile's targets run them (tests of the developer tooling and of make smoke)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.invoke import ROOT


def serve_local_stack(tmp_path_factory: pytest.TempPathFactory, *options: str) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("stack")
    state = folder / "local-stack.json"
    # The access log goes to a file: a pipe nobody reads would stall the server once full.
    log = (folder / "stack.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "local.http_api", "--port", "0", *options, "--ready-file", str(state)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 120
        while not state.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                stderr = (folder / "stack.log").read_text()
                pytest.fail(f"the local stack did not start: {stderr[-2000:]}")
            time.sleep(0.2)
        yield state
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
    assert not state.exists(), "the state file outlived the stack"


def run_module(
    *args: str, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m <args>`` from the checkout, as the Makefile's targets run it (``env``: instead of
    this process's environment)."""
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )
