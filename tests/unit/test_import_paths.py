"""What each handler imports at cold start: the read and delete paths never load create's
idempotency machinery (Powertools' idempotency utility, boto3); the create and update paths load it
at cold start rather than in their first request. Each import runs in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CREATE_ONLY = ("boto3", "aws_lambda_powertools.utilities.idempotency", "voice_agents.flows.agents.create")
UPDATE_ONLY = ("voice_agents.flows.agents.update",)

PROBE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps({name: name in sys.modules for name in sys.argv[2:]}))
"""


def loaded_at_import(function: str) -> dict[str, bool]:
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            PROBE,
            str(ROOT / "functions" / function / "app.py"),
            *CREATE_ONLY,
            *UPDATE_ONLY,
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": f"{ROOT}:{ROOT / 'layers' / 'common'}", "AWS_DEFAULT_REGION": "ap-southeast-2"},
    )
    loaded: dict[str, bool] = json.loads(completed.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize("function", ["get_agents", "delete_agent"])
def test_the_read_and_delete_paths_do_not_import_creates_machinery(function):
    assert loaded_at_import(function) == dict.fromkeys(CREATE_ONLY + UPDATE_ONLY, False)


def test_the_create_path_imports_its_machinery_at_cold_start():
    assert loaded_at_import("create_agent") == dict.fromkeys(CREATE_ONLY, True) | dict.fromkeys(
        UPDATE_ONLY, False
    )


def test_the_update_path_imports_the_idempotency_machinery_at_cold_start_but_not_create():
    loaded = loaded_at_import("update_agent")
    assert loaded == dict.fromkeys(CREATE_ONLY, True) | {
        "voice_agents.flows.agents.create": False,
        "voice_agents.flows.agents.update": True,
    }


def test_the_health_route_loads_no_database_driver_or_provider_client():
    # It answers the reconciler's check within a short timeout, even in a cold start.
    heavy = ("pymongo", "httpx", "twilio", "pydantic", "boto3")
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys; import voice_agents.flows.calls.health; "
            "print(json.dumps({name: name in sys.modules for name in sys.argv[1:]}))",
            *heavy,
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": f"{ROOT}:{ROOT / 'layers' / 'common'}"},
    )
    assert json.loads(completed.stdout.strip().splitlines()[-1]) == dict.fromkeys(heavy, False)
