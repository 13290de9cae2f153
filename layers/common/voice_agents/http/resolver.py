"""The resolver every API function builds: Powertools' HTTP API resolver with the caller's rate
limit (``rate_limit``) and then the body checked before routing (``bodies``), and every domain error
answered from one table (``errors``); and the OpenAPI answers routes declare."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import ResponseBuilder
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse, OpenAPIResponseHeader
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from pydantic import BaseModel

from voice_agents.core.observability import logger
from voice_agents.http.bodies import RefusedBody, check_body
from voice_agents.http.errors import (
    TRANSLATIONS,
    Translation,
    answer_headers,
    error_response,
    rate_limited_response,
)
from voice_agents.http.rate_limit import OwnerRateLimit
from voice_agents.http.requests import event_owner, request_id

if TYPE_CHECKING:
    from voice_agents.runtime import Runtime

# What the OpenAPI document says of the answers most routes share (each route declares its own).
NOT_FOUND_ANSWER = "`not_found`: no such agent for this caller (another caller's agent is a 404 too)."
SERVER_ANSWERS = {
    500: "`configuration_error` (with `setting`) or `internal_error`.",
    503: "`database_unavailable`: MongoDB failed; retry.",
}
# Every route's 429 when its caller is past a budget (``rate_limit``), and the header it carries.
RATE_LIMITED_ANSWER = (
    "`rate_limited`: the caller sent more than its requests of this kind a minute (reads: GET; "
    "writes: the rest; `limit` says how many); retry after `Retry-After` seconds."
)
TOO_MANY_REQUESTS = HTTPStatus.TOO_MANY_REQUESTS.value
RETRY_AFTER_HEADER: dict[str, OpenAPIResponseHeader] = {
    "Retry-After": {
        "description": "`rate_limited`: seconds until the caller's minute ends.",
        "schema": {"type": "integer"},
    }
}
_ERROR_SCHEMA_REF = "#/components/schemas/Error"
NEXT_CURSOR_HEADER = "X-Next-Cursor"


class ApiResolver(APIGatewayHttpResolver):
    """Powertools' resolver, with two checks before routing: the caller's rate limit, before any
    other work, and the request's body: left to Powertools, an undecodable or over-deep body is a
    500 with a stack trace, and invalid JSON a 422 that names a field after the error's offset."""

    def __init__(self, rate_limit: OwnerRateLimit, **options: Any) -> None:
        super().__init__(**options)
        self.rate_limit = rate_limit

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        request = event.get("requestContext") or {}
        owner = event_owner(event)  # None only if the route lost its authorizer: the route refuses it
        if owner is not None:
            limited = self.rate_limit.check(owner, str((request.get("http") or {}).get("method", "")))
            if limited is not None:
                return _answer_before_routing(event, rate_limited_response(limited, request.get("requestId")))
        try:
            event = check_body(event)
        except RefusedBody as refused:
            logger.info("request body refused", status=refused.status.value, reason=str(refused))
            error = "unsupported_media_type" if refused.status == HTTPStatus.UNSUPPORTED_MEDIA_TYPE else None
            response = error_response(
                error or "validation_error",
                str(refused),
                request.get("requestId"),
                fields=None if error else [{"field": "body", "message": str(refused)}],
            )
            return _answer_before_routing(event, response)
        return super().resolve(event, context)


def _answer_before_routing(event: Mapping[str, Any], response: Response[str]) -> dict[str, Any]:
    builder: ResponseBuilder[APIGatewayProxyEventV2] = ResponseBuilder(response)
    return builder.build(APIGatewayProxyEventV2(dict(event)))


def build_resolver(process: Runtime) -> APIGatewayHttpResolver:
    """The resolver of an API function; ``process`` gives its rate limit the settings and the store."""
    app = ApiResolver(OwnerRateLimit(process), enable_validation=True)

    def register(kind: type[Exception], translate: Callable[[Any], Translation]) -> None:
        @app.exception_handler(kind)
        def respond(exc: Exception) -> Response[str]:
            error, message, details = translate(exc)
            return error_response(error, message, request_id(app), headers=answer_headers(exc), **details)

    for kind, translate in TRANSLATIONS.items():
        register(kind, translate)
    return app


def answers(
    success: dict[int, str],
    errors: dict[int, str],
    *,
    body: type[BaseModel] | None = None,
    csv: str | None = None,
) -> dict[int, OpenAPIResponse]:
    """A route's answers for its OpenAPI document: each success (its body the route's return type,
    or ``body``; with ``csv``, also CSV, described so) and each error (an ``Error`` body) with what it
    means; every route may be ``rate_limited``."""
    documented: dict[int, OpenAPIResponse] = {}
    for status, description in success.items():
        documented[status] = {"description": description}
        if body is not None:
            documented[status]["content"] = {"application/json": {"model": body}}
        if csv is not None:
            content = documented[status].setdefault("content", {})
            content["text/csv"] = {"schema": {"type": "string", "description": csv}}
    too_many = errors.get(TOO_MANY_REQUESTS)
    rate_limited = f"{too_many} Or {RATE_LIMITED_ANSWER}" if too_many else RATE_LIMITED_ANSWER
    errors = {**errors, TOO_MANY_REQUESTS: rate_limited}
    for status, description in errors.items():
        documented[status] = {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": _ERROR_SCHEMA_REF}}},
        }
    documented[TOO_MANY_REQUESTS]["headers"] = RETRY_AFTER_HEADER
    return documented


def csv_response(body: str, *, filename: str, next_cursor: str | None) -> Response[str]:
    """A CSV download; ``X-Next-Cursor`` names where the next part starts when more rows match."""
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if next_cursor is not None:
        headers[NEXT_CURSOR_HEADER] = next_cursor
    return Response(status_code=200, content_type="text/csv; charset=utf-8", body=body, headers=headers)


def agent_response(agent: BaseModel, etag: str, status: int = 200) -> Response[str]:
    """An agent with its version in ``ETag`` (what ``If-Match`` names on an update)."""
    return Response(
        status_code=status,
        content_type="application/json",
        body=agent.model_dump_json(),
        headers={"ETag": etag},
    )
