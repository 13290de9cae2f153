"""Tracing costs nothing at import when it is off, and still traces when it is on.

Each case imports the functions in a fresh interpreter with Lambda's environment, because what matters
is what a cold start loads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ("twilio_webhook", "retell_webhook", "get_agents", "create_agent", "delete_agent", "reconcile")

PROBE = """
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/layers/common"]
from local.invoke import handler_module
def traced(handler):  # is Powertools' Tracer one of the wrappers around the handler?
    while handler is not None:
        if "aws_lambda_powertools/tracing" in handler.__code__.co_filename:
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


def loaded_in_lambda(**environment: str) -> dict[str, object]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LAMBDA_", "POWERTOOLS_", "_X_AMZN"))
    }
    env |= {"LAMBDA_TASK_ROOT": "/var/task", "AWS_REGION": "ap-southeast-2", **environment}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(ROOT), *FUNCTIONS],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


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


def test_tracing_on_traces_every_handler_with_powertools() -> None:
    loaded = loaded_in_lambda(POWERTOOLS_TRACE_DISABLED="false")

    assert loaded["xray"] is True
    assert loaded["tracer"] is True
    assert loaded["wrapped"] == dict.fromkeys(FUNCTIONS, True)
