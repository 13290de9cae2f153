"""Calling the real Lambda handlers the way Lambda does, without Docker: the events of events/, a
context whose remaining time runs down with the clock, each function's app.py from functions/.
Used by the demo, the tests and the benchmark."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from local.sample_events import EVENTS, load_event

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ROOT / "functions"


@dataclass
class LambdaContext:
    """Stands in for Lambda's context object; the budget starts when it is made."""

    timeout_ms: int = 28_000
    function_name: str = "voice-agents-local"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 1024
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:ap-southeast-2:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self.timeout_ms - (time.monotonic() - self.started) * 1000))


def http_event(
    name: str,
    *,
    body: Any = None,
    agent_id: str | None = None,
    call_sid: str | None = None,
    owner: str | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A variant of an API event: another body, path ids (agent, call), owner (JWT sub), headers or
    query."""
    event = load_event(name)
    if body is not None:
        event["body"] = body if isinstance(body, str) else json.dumps(body)
    for parameter, value in (("agentId", agent_id), ("callSid", call_sid)):
        if value is None:
            continue
        named = (event.get("pathParameters") or {}).get(parameter)
        event["pathParameters"] = {**(event.get("pathParameters") or {}), parameter: value}
        # The id may be followed by more of the path (/api/agents/{agentId}/calls).
        path = event["rawPath"].replace(named, value) if named else event["rawPath"]
        event["rawPath"] = event["requestContext"]["http"]["path"] = path
    if owner is not None:
        event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = owner
    if headers is not None:
        event["headers"] = {
            **{k: v for k, v in event["headers"].items() if k != "idempotency-key"},
            **headers,
        }
    if query is not None:
        event["queryStringParameters"] = query
        event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
    return event


def handler_module(function: str) -> ModuleType:
    """functions/<function>/app.py, imported once per process under its own name."""
    name = f"functions_{function}_app"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, FUNCTIONS / function / "app.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def invoke(function: str, event: dict[str, Any], context: LambdaContext | None = None) -> dict[str, Any]:
    result: dict[str, Any] = handler_module(function).lambda_handler(event, context or LambdaContext())
    return result


def json_body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


def create_active_agent(event: dict[str, Any] | None = None) -> dict[str, Any]:
    """Create an agent through the handler and return it; fails loudly unless it is 201."""
    response = invoke("create_agent", event or load_event("create_agent.json"))
    if response["statusCode"] != 201:
        raise AssertionError(f"create_agent answered {response['statusCode']}: {response['body']}")
    return dict(json_body(response))


# ---------------------------------------------------------------- python -m local.invoke (make invoke)

STACK_STATE = ROOT / ".cache" / "local-stack.json"


def template_function(name: str) -> tuple[str, dict[str, Any]]:
    """A function of template.yaml by its code directory (create_agent) or logical id, Globals applied."""
    from local.template import function_properties, load_template

    functions = function_properties(load_template())
    for logical_id, properties in functions.items():
        if name in (logical_id, Path(str(properties.get("CodeUri", ""))).name):
            return logical_id, properties
    known = ", ".join(Path(str(p.get("CodeUri", ""))).name for p in functions.values())
    raise SystemExit(f"no function {name!r} in template.yaml (one of: {known})")


def template_environment(properties: dict[str, Any]) -> dict[str, str]:
    """The function's Environment.Variables as deployed with the parameters' defaults; a value only
    AWS can work out (!If, !Join, the stack's name) is left out, as `sam local` leaves it unresolved."""
    from local.template import load_template, parameter_default

    template = load_template()
    variables = properties.get("Environment", {}).get("Variables", {})
    resolved = {name: parameter_default(template, value) for name, value in variables.items()}
    return {name: str(value) for name, value in resolved.items() if value is not None}


def main(argv: list[str] | None = None) -> None:
    import argparse
    import os

    parser = argparse.ArgumentParser(
        prog="python -m local.invoke",
        description="Run one function's handler in this fresh process, like `sam local invoke`, against "
        "the running local stack (make stack or make api), and print its response.",
    )
    parser.add_argument("function", help="functions/<name> (create_agent) or a logical id")
    parser.add_argument("event", type=Path, help="an event file, e.g. events/get_agent.json")
    parser.add_argument("--stack", type=Path, default=STACK_STATE, help="the stack's state file")
    args = parser.parse_args(argv)
    logical_id, properties = template_function(args.function)
    if not args.stack.is_file():
        raise SystemExit(f"{args.stack} not found: start the local stack first (make stack)")
    stack_environment: dict[str, str] = json.loads(args.stack.read_text())["environment"]
    event_path = args.event if args.event.is_file() else EVENTS / args.event
    event = json.loads(event_path.read_text())
    if "x-retell-signature" in (event.get("headers") or {}):
        from local.signing import signed_retell_event

        # Retell's signature goes stale after 5 minutes: sign it now, as Retell signs as it sends.
        event = signed_retell_event(event, stack_environment["RETELL_API_KEY"])
    # The template's variables, then the local stack's (as --env-vars env.json overrides them).
    os.environ.update(template_environment(properties) | stack_environment)
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    # The layer's package first on the path, as Lambda's /opt/python.
    sys.path.insert(0, str(ROOT / "layers" / "common"))
    context = LambdaContext(
        timeout_ms=int(properties.get("Timeout", 3)) * 1000,
        function_name=logical_id,
        memory_limit_in_mb=int(properties.get("MemorySize", 128)),
    )
    attribute = str(properties.get("Handler", "app.lambda_handler")).rpartition(".")[2]
    function_dir = Path(str(properties["CodeUri"])).name
    # Like `sam local invoke`: the function's logs on stderr, its response alone on stdout. The
    # loggers bind their stream when the module is imported, so the import happens in here too.
    with contextlib.redirect_stdout(sys.stderr):
        handler = getattr(handler_module(function_dir), attribute)
        started = time.monotonic()
        result = handler(event, context)
        elapsed_ms = (time.monotonic() - started) * 1000
    print(json.dumps(result, indent=2, default=str))
    timeout_s = context.timeout_ms // 1000
    print(f"{logical_id}: {elapsed_ms:.0f} ms of its {timeout_s} s timeout", file=sys.stderr)


if __name__ == "__main__":
    main()
