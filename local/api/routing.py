"""template.yaml's HTTP API as a route table: its routes, JWT authorizers and CORS settings, and the
route a request takes (API Gateway's rule: the most specific route wins)."""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.template import (
    HTTP_API_PAYLOAD,
    TEMPLATE,
    HttpRoute,
    http_routes,
    load_template,
    parameter_default,
    required_scopes,
)


@dataclass(frozen=True)
class JwtAuthorizer:
    name: str
    header: str  # lower case, from IdentitySource $request.header.<Name>


@dataclass(frozen=True)
class _CompiledRoute:
    route: HttpRoute
    pattern: re.Pattern[str]
    variables: tuple[str, ...]  # path variable names, in order
    greedy: bool  # ends in {name+}

    @classmethod
    def of(cls, route: HttpRoute) -> _CompiledRoute:
        regex, variables, greedy = "", [], False
        for part in re.split(r"(\{[^}]+\})", route.path):
            if part.startswith("{") and part.endswith("}"):
                name = part[1:-1]
                greedy = name.endswith("+")
                variables.append(name.removesuffix("+"))
                regex += "(.+)" if greedy else "([^/]+)"
            else:
                regex += re.escape(part)
        return cls(route, re.compile(f"^{regex}$"), tuple(variables), greedy)

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.route.method not in (method, "ANY"):
            return None
        found = self.pattern.match(path)
        if found is None:
            return None
        return {
            name: urllib.parse.unquote(value)
            for name, value in zip(self.variables, found.groups(), strict=True)
        }

    def specificity(self) -> tuple[int, int, int]:
        # API Gateway: the most specific route wins; a greedy variable last, ANY after a named method.
        return (int(self.greedy), len(self.variables), int(self.route.method == "ANY"))


@dataclass
class RouteTable:
    """The APIs of a template on one local port: the HTTP API's routes, authorizers and CORS settings,
    and beside them the webhook REST API's routes (no authorizer, no CORS), as one host serves both
    when a custom domain maps them."""

    routes: list[HttpRoute]
    authorizers: dict[str, JwtAuthorizer]
    cors: dict[str, Any] | None
    _compiled: list[_CompiledRoute] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._compiled = sorted(
            (_CompiledRoute.of(route) for route in self.routes), key=_CompiledRoute.specificity
        )

    @classmethod
    def from_template(cls, path: Path | str = TEMPLATE) -> RouteTable:
        template = load_template(path)
        routes = http_routes(template)
        http_api_ids = {route.api_id for route in routes if route.payload_version == HTTP_API_PAYLOAD}
        if len(http_api_ids) > 1:
            raise ValueError(f"routes of several HTTP APIs ({sorted(http_api_ids)}): serve one at a time")
        api = (
            template["Resources"].get(next(iter(http_api_ids)), {}).get("Properties", {})
            if http_api_ids
            else {}
        )
        authorizers: dict[str, JwtAuthorizer] = {}
        for route in routes:
            if route.authorizer is None or route.authorizer in authorizers:
                continue
            config = api.get("Auth", {}).get("Authorizers", {}).get(route.authorizer)
            if config is None or "JwtConfiguration" not in config:
                raise ValueError(f"{route.route_key}: only JWT authorizers are served locally")
            source = str(config.get("IdentitySource", "$request.header.Authorization"))
            if not source.startswith("$request.header."):
                raise ValueError(f"{route.authorizer}: identity source {source} is not a header")
            header = source.removeprefix("$request.header.").lower()
            authorizers[route.authorizer] = JwtAuthorizer(route.authorizer, header)
        cors = api.get("CorsConfiguration")
        if isinstance(cors, dict):
            cors = {key: _resolve_list(template, value) for key, value in cors.items()}
        return cls(routes, authorizers, cors if isinstance(cors, dict) else None)

    @property
    def scopes(self) -> tuple[str, ...]:
        """The scopes the routes require: what a local token carries."""
        return required_scopes(self.routes)

    def match(self, method: str, path: str) -> tuple[HttpRoute, dict[str, str]] | None:
        for compiled in self._compiled:
            parameters = compiled.match(method, path)
            if parameters is not None:
                return compiled.route, parameters
        return None


def _resolve_list(template: dict[str, Any], value: Any) -> Any:
    if isinstance(value, list):
        return [resolved for item in value if (resolved := parameter_default(template, item)) is not None]
    return parameter_default(template, value)
