"""template.yaml as data: read with cfn-lint's YAML loader, SAM's Globals rule, and the API routes the
template declares (the HTTP API's and the webhook REST API's). Used by the local HTTP API, make invoke
and the template tests."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
# What Lambda gives a function that names no Timeout (and whose Globals name none).
LAMBDA_DEFAULT_TIMEOUT_SECONDS = 3


def load_template(path: Path | str = TEMPLATE) -> dict[str, Any]:
    """template.yaml as cfn-lint reads it: short tags (!Ref, !Sub, !GetAtt A.B ...) in their long form,
    duplicate keys refused."""
    template: dict[str, Any] = cfn_yaml.loads(Path(path).read_text(), str(path))
    return template


def merge_globals(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """SAM's Globals rule: maps merge key by key, anything else in the resource wins."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_globals(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def function_properties(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each AWS::Serverless::Function's properties with the Globals applied, by logical id."""
    globals_ = template.get("Globals", {}).get("Function", {})
    return {
        logical_id: merge_globals(globals_, resource.get("Properties", {}))
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def parameter_default(template: dict[str, Any], value: Any) -> Any:
    """A literal, or a ``Ref`` to a parameter resolved to the parameter's default (as if deployed
    without overrides); anything else (an intrinsic we cannot evaluate locally) is None."""
    if isinstance(value, dict):
        name = value.get("Ref")
        if isinstance(name, str) and name in template.get("Parameters", {}):
            return template["Parameters"][name].get("Default")
        return None
    return value


# API Gateway's Lambda proxy payloads: an HTTP API sends 2.0 (as configured here), a REST API 1.0.
HTTP_API_PAYLOAD = "2.0"
REST_API_PAYLOAD = "1.0"


@dataclass(frozen=True)
class HttpRoute:
    """One ``HttpApi`` or ``Api`` event of a function: what API Gateway would route to it, and how."""

    method: str  # upper case, or "ANY"
    path: str  # as declared, e.g. /api/agents/{agentId}
    logical_id: str  # the function's logical id, e.g. GetAgentsFunction
    function: str  # the code directory under functions/, from CodeUri, e.g. get_agents
    handler: str  # e.g. app.lambda_handler
    authorizer: str | None  # the authorizer's name, or None for `Authorizer: NONE` / no authorizer
    timeout_seconds: int
    api_id: str  # logical id of the AWS::Serverless::HttpApi or AWS::Serverless::Api
    payload_version: str = HTTP_API_PAYLOAD
    stage: str = "$default"
    # A token must carry at least one of these (its `scope` or `scp` claim); () = any token.
    authorization_scopes: tuple[str, ...] = ()

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


def http_routes(template: dict[str, Any]) -> list[HttpRoute]:
    """Every ``HttpApi`` and ``Api`` event of every function, in template order.

    A route's authorizer is its own ``Auth.Authorizer`` if it names one (``NONE`` = none), else the
    API's ``Auth.DefaultAuthorizer``; its scopes are its own ``Auth.AuthorizationScopes`` if it lists
    any, else its authorizer's ``AuthorizationScopes``: both as SAM resolves them.
    """
    apis = {
        logical_id: resource.get("Properties", {})
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] in ("AWS::Serverless::HttpApi", "AWS::Serverless::Api")
    }
    routes: list[HttpRoute] = []
    for logical_id, properties in function_properties(template).items():
        for event in properties.get("Events", {}).values():
            kind = event.get("Type")
            if kind not in ("HttpApi", "Api"):
                continue
            event_properties = event.get("Properties", {})
            api_ref = event_properties.get("ApiId" if kind == "HttpApi" else "RestApiId")
            # No ApiId: SAM's implicit API, which takes its settings from Globals.
            implicit = "ServerlessHttpApi" if kind == "HttpApi" else "ServerlessRestApi"
            api_id = api_ref["Ref"] if isinstance(api_ref, dict) else implicit
            api = apis.get(api_id) or template.get("Globals", {}).get(kind, {})
            default_authorizer = api.get("Auth", {}).get("DefaultAuthorizer")
            authorizer = event_properties.get("Auth", {}).get("Authorizer", default_authorizer)
            if authorizer in (None, "NONE"):
                authorizer, scopes = None, []
            else:
                declared = api.get("Auth", {}).get("Authorizers", {}).get(authorizer, {})
                scopes = event_properties.get("Auth", {}).get("AuthorizationScopes") or declared.get(
                    "AuthorizationScopes", []
                )
            if not all(isinstance(scope, str) for scope in scopes):
                raise ValueError(f"{logical_id}: AuthorizationScopes must be plain strings, got {scopes!r}")
            code_uri = properties.get("CodeUri")
            if not isinstance(code_uri, str):
                raise ValueError(f"{logical_id}: CodeUri must be a local directory, got {code_uri!r}")
            routes.append(
                HttpRoute(
                    method=str(event_properties.get("Method", "ANY")).upper(),
                    path=str(event_properties.get("Path", "/$default")),
                    logical_id=logical_id,
                    function=Path(code_uri).name,
                    handler=str(properties.get("Handler", "app.lambda_handler")),
                    authorizer=None if authorizer is None else str(authorizer),
                    # Globals.Function.Timeout is already merged in.
                    timeout_seconds=int(properties.get("Timeout") or LAMBDA_DEFAULT_TIMEOUT_SECONDS),
                    api_id=api_id,
                    payload_version=HTTP_API_PAYLOAD if kind == "HttpApi" else REST_API_PAYLOAD,
                    stage=str(api.get("StageName", "$default")) if kind == "Api" else "$default",
                    authorization_scopes=tuple(scopes),
                )
            )
    return routes


def required_scopes(routes: Iterable[HttpRoute]) -> tuple[str, ...]:
    """Every scope one of ``routes`` requires, each once, in the order first declared."""
    return tuple(dict.fromkeys(scope for route in routes for scope in route.authorization_scopes))
