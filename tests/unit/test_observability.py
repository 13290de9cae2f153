"""Tracing costs nothing at import when it is off, still traces when it is on, and records no
exception's message.

Each case imports the functions in a fresh interpreter with Lambda's environment, because what matters
is what a cold start loads. (tests/integration/test_traces.py runs real handlers with tracing on.)
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OBSERVABILITY = ROOT / "layers/common/voice_agents/core/observability.py"
FUNCTIONS = ("twilio_webhook", "retell_webhook", "get_agents", "create_agent", "delete_agent", "reconcile")

PROBE = """
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/layers/common"]
from local.invoke import handler_module
def traced(handler):  # is the tracer's subsegment one of the wrappers around the handler?
    while handler is not None:
        if handler.__code__.co_filename.endswith("voice_agents/core/observability.py"):
            return True
        handler = getattr(handler, "__wrapped__", None)
    return False
wrapped = {function: traced(handler_module(function).lambda_handler) for function in sys.argv[2:]}
from voice_agents.core import observability
with observability.external_call("retell", "get_llm"):
    pass
print(json.dumps({
    "xray": "aws_xray_sdk" in sys.modules,
    "botocore_session": "botocore.session" in sys.modules,
    "tracer": observability.tracer.tracer is not None,
    "wrapped": wrapped,
}))
"""


def run_in_lambda(probe: str, *args: str, **environment: str) -> dict[str, object]:
    """The probe's last line of output (JSON), run in a fresh interpreter with Lambda's environment."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LAMBDA_", "POWERTOOLS_", "_X_AMZN"))
    }
    env |= {"LAMBDA_TASK_ROOT": "/var/task", "AWS_REGION": "ap-southeast-2", **environment}
    done = subprocess.run(
        [sys.executable, "-c", probe, str(ROOT), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def loaded_in_lambda(**environment: str) -> dict[str, object]:
    return run_in_lambda(PROBE, *FUNCTIONS, **environment)


def test_tracing_off_imports_no_xray_sdk_and_leaves_handlers_unwrapped() -> None:
    loaded = loaded_in_lambda(POWERTOOLS_TRACE_DISABLED="true")

    assert loaded["xray"] is False
    assert loaded["tracer"] is False
    # capture_lambda_handler hands each handler back as it is: no wrapper runs per invocation
    assert loaded["wrapped"] == dict.fromkeys(FUNCTIONS, False)


@pytest.mark.parametrize("outside", [{}, {"AWS_SAM_LOCAL": "true"}])
def test_tracing_is_off_outside_lambda_and_under_sam_local(outside: dict[str, str]) -> None:
    env = {"POWERTOOLS_TRACE_DISABLED": "false", **outside}
    if not outside:
        env["LAMBDA_TASK_ROOT"] = ""  # not in Lambda at all

    loaded = loaded_in_lambda(**env)

    assert (loaded["xray"], loaded["tracer"]) == (False, False)


def test_tracing_on_traces_every_handler() -> None:
    loaded = loaded_in_lambda(POWERTOOLS_TRACE_DISABLED="false")

    assert loaded["xray"] is True
    assert loaded["tracer"] is True
    assert loaded["wrapped"] == dict.fromkeys(FUNCTIONS, True)


# A handler that fails with a caller's number in its message, traced as the functions are.
FAILING_HANDLER = """
import json, sys
sys.path[:0] = [sys.argv[1] + "/layers/common"]
from voice_agents.core.observability import tracer
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    raise ValueError("no agent answers +61298765432")
try:
    lambda_handler({}, None)
except ValueError:
    print(json.dumps({"raised": True}))
"""


def test_a_failing_handler_is_traced_as_a_fault_with_its_error_type_and_no_message() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as daemon:
        daemon.bind(("127.0.0.1", 0))
        daemon.settimeout(2)
        # Given tracing on in a sampled invocation, Powertools' own switches saying "capture errors"
        ran = run_in_lambda(
            FAILING_HANDLER,
            POWERTOOLS_TRACE_DISABLED="false",
            POWERTOOLS_TRACER_CAPTURE_ERROR="true",
            AWS_XRAY_DAEMON_ADDRESS=f"127.0.0.1:{daemon.getsockname()[1]}",
            _X_AMZN_TRACE_ID="Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        )
        # When the handler raised, Then its one subsegment says it failed, and with what type
        assert ran == {"raised": True}
        segment = json.loads(daemon.recv(65535).decode().partition("\n")[2])
    assert segment["name"] == "## lambda_handler"
    assert segment["fault"] is True
    assert segment["annotations"]["error"] == "ValueError"
    # And nothing of the message
    assert "cause" not in segment
    assert "+61298765432" not in json.dumps(segment)


def test_only_the_observability_module_makes_a_tracer_or_subsegments() -> None:
    # Its tracer is what keeps answers and error messages out of traces: nothing may go around it
    sources = [*(ROOT / "layers/common/voice_agents").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]
    around = [
        f"{path.relative_to(ROOT)}: {word}"
        for path in sources
        if path != OBSERVABILITY
        for word in ("Tracer(", "capture_method", "in_subsegment", "begin_subsegment", "xray_recorder")
        if word in path.read_text()
    ]
    assert around == []
