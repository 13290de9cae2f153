"""The local MongoDB-compatible server: FerretDB v1 (SQLite backend), built once per machine.

The version is pinned by the small Go module in local/ferretdb/ (go.mod/go.sum); its main.go runs
FerretDB's embeddable package (see there why). It is built into a cache keyed by the module's
files, so a version bump rebuilds it; Go fetches the sources from the module proxy.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

MODULE_DIR = Path(__file__).resolve().parent / "ferretdb"
CACHE_ROOT = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "voice-agents" / "ferretdb"


def binary_path() -> Path:
    sources = b"".join((MODULE_DIR / name).read_bytes() for name in ("go.sum", "main.go"))
    digest = hashlib.sha256(sources).hexdigest()[:16]
    return CACHE_ROOT / digest / "ferretdb"


def build() -> Path:
    """Build FerretDB unless this version's build is already cached."""
    binary = binary_path()
    if binary.exists():
        return binary
    if shutil.which("go") is None:
        raise RuntimeError(
            "Go is needed to build FerretDB (the local MongoDB-compatible server); install Go 1.24+"
        )
    binary.parent.mkdir(parents=True, exist_ok=True)
    print(
        f"building FerretDB into {binary.parent} (first run on this machine, about a minute)...", flush=True
    )
    # A build cut short must not pass for a finished one, and two processes building at once (parallel
    # test runs, checkouts side by side) must not share a partial file: each builds its own, and the
    # atomic rename lets either one win.
    partial = binary.with_name(f"ferretdb.partial.{os.getpid()}")
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=readonly -buildvcs=false"}
    try:
        subprocess.run(
            # -v: each package as it is compiled, so the minute-long first build shows progress.
            ["go", "build", "-v", "-trimpath", "-o", str(partial), "."],
            cwd=MODULE_DIR,
            env=env,
            check=True,
        )
        partial.replace(binary)
    finally:
        partial.unlink(missing_ok=True)
    return binary


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class FerretDB:
    uri: str
    process: subprocess.Popen[bytes]
    data_dir: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def start(timeout_seconds: float = 30.0, port: int = 0) -> FerretDB:
    """Start FerretDB on a loopback port (0: a free one) with a throwaway data directory."""
    binary = build()
    port = port or free_port()
    data_dir = Path(tempfile.mkdtemp(prefix="ferretdb-"))
    log = (data_dir / "ferretdb.log").open("wb")
    process = subprocess.Popen(
        [
            str(binary),
            f"--listen-addr=127.0.0.1:{port}",
            f"--sqlite-url=file:{data_dir}/",
            "--log-level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"FerretDB exited with {process.returncode}: {(data_dir / 'ferretdb.log').read_text()}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return FerretDB(uri=f"mongodb://127.0.0.1:{port}/", process=process, data_dir=data_dir)
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"FerretDB did not listen on 127.0.0.1:{port} within {timeout_seconds} s")
