"""make smoke and make smoke-deployed against the local stack (`make stack`, in a process of its own):
every step passes; without credentials they are skipped; whichever step fails (SMOKE_FAIL_AT, a fault
of a fake, SIGTERM), the exit status is 1, the cleanup ran and nothing is left in the fakes or the API."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from local.api.tokens import local_token
from local.fakes.control import FakeControl
from local.invoke import ROOT
from smoke.deployed import LOCAL_SMOKE_USER
from tests.integration.served_stack import run_module, serve_local_stack

pytestmark = pytest.mark.integration

PROVIDER_STEPS = [
    "retell: create LLM",
    "retell: create agent",
    "retell: publish",
    "retell: read back",
    "retell: delete agent",
    "retell: delete LLM",
    "twilio test: buy +15005550006",
    "twilio test: buy +15005550000",
    "twilio: regulations",
    "twilio: search",
    "twilio: buy",
    "twilio: check VoiceUrl",
    "twilio: release",
    "nothing left",
]
DEPLOYED_STEPS = [
    "api: create agent",
    "twilio: read VoiceUrl",
    "call: signed POST to VoiceUrl",
    "api: call listed",
    "api: delete agent",
    "twilio: number gone",
]
# What each failure leaves for the cleanup to remove (newest first), by the step that failed.
_RETELL_BOTH = ["delete Retell agent", "delete Retell LLM"]
PROVIDER_CLEANUPS = {
    "retell: create LLM": ["delete Retell LLM"],
    "retell: create agent": _RETELL_BOTH,
    "retell: publish": _RETELL_BOTH,
    "retell: read back": _RETELL_BOTH,
    "retell: delete agent": ["delete Retell LLM"],
    "twilio: buy": ["release number"],
    "twilio: check VoiceUrl": ["release number"],
}
DEPLOYED_CLEANUPS = {step: ["delete agent (API)"] for step in DEPLOYED_STEPS[:4]}
CREDENTIALS = (
    "RETELL_API_KEY", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_TEST_ACCOUNT_SID",
    "TWILIO_TEST_AUTH_TOKEN", "SMOKE_STACK", "SMOKE_BUY", "SMOKE_ACCESS_TOKEN", "SECRETS_ARN",
    "RETELL_SECRET_ARN", "TWILIO_SECRET_ARN", "DATABASE_SECRET_ARN", "SMOKE_FAIL_AT",
)  # fmt: skip


@pytest.fixture(scope="module")
def stack_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`make stack` on free ports: its numbers point at a public-looking webhook URL, as deployed."""
    yield from serve_local_stack(tmp_path_factory, "--seed-events")


@pytest.fixture
def baseline(stack_state: Path) -> Iterator[dict[str, Any]]:
    """What the stack holds before the test (the events' agent); the test must leave exactly that."""
    before = holdings(stack_state)
    yield before
    assert holdings(stack_state) == before, "the smoke left something behind"


def clean_environment(**variables: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in CREDENTIALS}
    return env | variables


def smoke(module: str, state: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    env = clean_environment(SMOKE_STACK="local", SMOKE_LOCAL_STATE=str(state), **variables)
    return run_module(module, env=env, timeout=120)


def holdings(state: Path) -> dict[str, Any]:
    """Everything of the fakes and the smoke user's agents in the API."""
    ready = json.loads(state.read_text())
    env = ready["environment"]
    with FakeControl(env["RETELL_BASE_URL"]) as retell, FakeControl(env["TWILIO_BASE_URL"]) as twilio:
        retell_state, twilio_state = retell.state(), twilio.state()
    owner = {"Authorization": f"Bearer {local_token(LOCAL_SMOKE_USER)}"}
    agents = httpx.get(f"{ready['apiUrl']}/api/agents", headers=owner, timeout=10).json()
    return {
        "llms": sorted(retell_state["llms"]),
        "retell agents": sorted(retell_state["agents"]),
        "numbers": sorted(twilio_state["owned"]),
        "api agents": [agent["id"] for agent in agents["items"]],
    }


def rows(output: str) -> dict[str, str]:
    """The step table: each step's result (the table's lines are `  step  latency  result`)."""
    table: dict[str, str] = {}
    for line in output.splitlines():
        parts = line.strip().split("  ")
        cells = [part.strip() for part in parts if part.strip()]
        if len(cells) >= 3 and (cells[1].isdigit() or cells[1] == "-"):
            table[cells[0]] = "  ".join(cells[2:])
    return table


def test_make_smoke_passes_every_step_against_the_local_stack(
    stack_state: Path, baseline: dict[str, Any]
) -> None:
    done = smoke("smoke.providers", stack_state, SMOKE_BUY="1")
    assert done.returncode == 0, done.stdout + done.stderr
    table = rows(done.stdout)
    assert [step for step in table if step in PROVIDER_STEPS] == PROVIDER_STEPS
    assert all(table[step].startswith("ok") for step in PROVIDER_STEPS), done.stdout
    assert "NumberUnavailable (21422)" in table["twilio test: buy +15005550000"]
    assert "the operator's unaccounted listing" in table["nothing left"]
    assert "Estimated cost: 6.50 USD a month" in done.stdout
    assert "not real and cannot be released" in done.stdout


def test_make_smoke_from_the_environment_alone_checks_by_the_tag_without_a_database(
    stack_state: Path, baseline: dict[str, Any]
) -> None:
    # The variables a user exports, no SMOKE_STACK and no MONGODB_URI.
    stack = json.loads(stack_state.read_text())["environment"]
    exported = {name: value for name, value in stack.items() if name != "MONGODB_URI"}
    done = run_module("smoke.providers", env=clean_environment(**exported, SMOKE_BUY="1"), timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "listed by the smoke's tag: no database configured" in rows(done.stdout)["nothing left"]


def test_make_smoke_deployed_passes_every_step_against_the_local_stack(
    stack_state: Path, baseline: dict[str, Any]
) -> None:
    done = smoke("smoke.deployed", stack_state)
    assert done.returncode == 0, done.stdout + done.stderr
    table = rows(done.stdout)
    assert list(table) == DEPLOYED_STEPS
    assert all(result.startswith("ok") for result in table.values()), done.stdout
    assert table["twilio: number gone"].endswith("-> 404")


def test_without_credentials_both_are_skipped() -> None:
    providers = run_module("smoke.providers", env=clean_environment())
    deployed = run_module("smoke.deployed", env=clean_environment())
    assert (providers.returncode, deployed.returncode) == (0, 0), providers.stderr + deployed.stderr
    assert "make smoke: skipped (no credentials)" in providers.stdout
    assert "RETELL_API_KEY" in providers.stdout and "SMOKE_BUY=1" in providers.stdout
    assert "make smoke-deployed: skipped" in deployed.stdout


@pytest.mark.parametrize("step", PROVIDER_STEPS)
def test_make_smoke_undoes_everything_whichever_step_fails(
    stack_state: Path, baseline: dict[str, Any], step: str
) -> None:
    done = smoke("smoke.providers", stack_state, SMOKE_BUY="1", SMOKE_FAIL_AT=step)
    assert_failed_and_cleaned(done, step, PROVIDER_CLEANUPS.get(step, []))


@pytest.mark.parametrize("step", DEPLOYED_STEPS)
def test_make_smoke_deployed_deletes_the_agent_whichever_step_fails(
    stack_state: Path, baseline: dict[str, Any], step: str
) -> None:
    done = smoke("smoke.deployed", stack_state, SMOKE_FAIL_AT=step)
    assert_failed_and_cleaned(done, step, DEPLOYED_CLEANUPS.get(step, []))


def test_a_provider_error_is_a_failed_step_and_its_creations_are_undone(
    stack_state: Path, baseline: dict[str, Any]
) -> None:
    retell_url = json.loads(stack_state.read_text())["environment"]["RETELL_BASE_URL"]
    with FakeControl(retell_url) as retell:
        retell.inject("publish_agent_version", 500, times=1)
        done = smoke("smoke.providers", stack_state)
        retell.clear_faults()
    assert done.returncode == 1, done.stdout + done.stderr
    assert "UpstreamError" in rows(done.stdout)["retell: publish"]
    assert_failed_and_cleaned(done, "retell: publish", _RETELL_BOTH, injected=False)


def test_sigterm_mid_run_undoes_what_was_created(stack_state: Path, baseline: dict[str, Any]) -> None:
    # The agent and its LLM exist while the publish hangs.
    output = interrupted("smoke.providers", stack_state, "RETELL_BASE_URL", "publish_agent_version")
    table = rows(output)
    assert table["retell: create agent"].startswith("ok"), output
    assert table["cleanup: delete Retell agent"].startswith("ok"), output
    assert table["cleanup: delete Retell LLM"].startswith("ok"), output


def test_sigterm_during_the_create_finds_the_agent_by_its_idempotency_key(
    stack_state: Path, baseline: dict[str, Any]
) -> None:
    # The create is buying the number when the run is stopped: its answer never arrives.
    output = interrupted("smoke.deployed", stack_state, "TWILIO_BASE_URL", "buy_number")
    table = rows(output)
    assert "api: create agent" not in table, output
    assert table["cleanup: delete agent (API)"].startswith("ok: 200"), output


def interrupted(module: str, state: Path, fake_url: str, operation: str) -> str:
    """The output of ``module`` sent SIGTERM while the fake at ``fake_url`` holds ``operation``;
    checks it failed and printed its interruption."""
    with FakeControl(json.loads(state.read_text())["environment"][fake_url]) as fake:
        fake.delay(operation, 3000, times=1)
        before = fake.calls().get(operation, 0)
        env = clean_environment(SMOKE_STACK="local", SMOKE_LOCAL_STATE=str(state))
        process = subprocess.Popen(
            [sys.executable, "-m", module], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
        )
        assert process.stdout is not None
        assert " on local" in process.stdout.readline()  # it started its steps
        wait_for_operation(fake, operation, before)
        process.send_signal(signal.SIGTERM)
        output = process.stdout.read()
        assert process.wait(timeout=60) == 1, output
    assert "FAILED: interrupted" in output
    assert "FAILED (everything it created was removed)" in output
    return output


def wait_for_operation(fake: FakeControl, operation: str, before: int) -> None:
    deadline = time.monotonic() + 30
    while fake.calls().get(operation, 0) == before:
        assert time.monotonic() < deadline, f"{operation} was never requested"
        time.sleep(0.05)


def assert_failed_and_cleaned(
    done: subprocess.CompletedProcess[str], step: str, cleanups: list[str], *, injected: bool = True
) -> None:
    assert done.returncode == 1, done.stdout + done.stderr
    table = rows(done.stdout)
    assert table[step].startswith("FAILED" + (": injected" if injected else "")), done.stdout
    ran = [name.removeprefix("cleanup: ") for name in table if name.startswith("cleanup: ")]
    assert ran == cleanups, done.stdout
    assert all(table[f"cleanup: {name}"].startswith("ok") for name in cleanups), done.stdout
    assert "LEFT BEHIND" not in done.stdout
    assert "FAILED (everything it created was removed)" in done.stdout
