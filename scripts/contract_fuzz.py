"""The API contract, fuzzed: Schemathesis against a fresh local API, all four phases, every check.

    python scripts/contract_fuzz.py      (or: make fuzz; make test runs it)

Starts `python -m local.http_api` on a free port (FerretDB, the fakes, the handlers), signs in with a
local token, and runs `st run openapi/openapi.json` with schemathesis.toml (seeded, bounded). Prints
Schemathesis' phases and summary (how many cases it generated) and exits with its status.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from local.api.tokens import local_token  # noqa: E402

STARTUP_SECONDS = 120
FUZZER = "contract-fuzzer"
# One owner sends hundreds of requests a minute: with the per-owner budgets on, most writes would be
# answered 429 and their logic left unfuzzed. The budgets have their own tests
# (tests/integration/test_owner_rate_limit.py); 0 turns them off.
NO_OWNER_BUDGETS = {"OWNER_READS_PER_MINUTE": "0", "OWNER_WRITES_PER_MINUTE": "0"}


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="contract-fuzz-") as scratch:
        ready, log_path = Path(scratch, "stack.json"), Path(scratch, "api.log")
        with log_path.open("wb") as log:
            api = subprocess.Popen(
                [sys.executable, "-m", "local.http_api", "--port", "0", "--ready-file", str(ready)],
                cwd=ROOT,
                env={**os.environ, **NO_OWNER_BUDGETS},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                deadline = time.monotonic() + STARTUP_SECONDS
                while not ready.exists():
                    if api.poll() is not None or time.monotonic() > deadline:
                        print(log_path.read_text()[-3000:], file=sys.stderr)
                        print("the local API did not start", file=sys.stderr)
                        return 1
                    time.sleep(0.2)
                return fuzz(json.loads(ready.read_text())["apiUrl"], log_path)
            finally:
                api.terminate()
                api.wait(timeout=30)


def fuzz(api_url: str, log_path: Path) -> int:
    command = [
        str(Path(sys.executable).with_name("st")),
        "--config-file", str(ROOT / "schemathesis.toml"),
        "run", str(ROOT / "openapi" / "openapi.json"),
        "--url", api_url,
        "--header", f"Authorization: Bearer {local_token(FUZZER)}",
        "--no-color",
    ]  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    output = done.stdout + done.stderr
    if done.returncode != 0:
        print(output)
        print(f"--- the local API's log (last lines)\n{log_path.read_text()[-4000:]}", file=sys.stderr)
    else:
        print(_summary(output))
    print(f"Schemathesis: exit {done.returncode} in {elapsed:.0f} s against {api_url}")
    return done.returncode


def _summary(output: str) -> str:
    """The phases and the closing summary, without the banner."""
    lines = output.splitlines()
    first = next((i for i, line in enumerate(lines) if "Examples" in line), 0)
    return "\n".join(line for line in lines[first:] if line.strip())


if __name__ == "__main__":
    sys.exit(main())
