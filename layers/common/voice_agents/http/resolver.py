"""The resolver every API function builds: Powertools' HTTP API resolver with the body checked
before routing (``bodies``) and every domain error answered from one table (``errors``); and the
OpenAPI answers routes declare."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import ResponseBuilder
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from pydantic import BaseModel

from voice_agents.core.observability import logger
from voice_agents.http.bodies import RefusedBody, check_body
from voice_agents.http.errors import TRANSLATIONS, Translation, error_response
from voice_agents.http.requests import request_id

# What the OpenAPI document says of the answers most routes share (each route declares its own).
NOT_FOUND_ANSWER = "`not_found`: no such agent for this caller (another caller's agent is a 404 too)."
SERVER_ANSWERS = {
    500: "`configuration_error` (with `setting`) or `internal_error`.",
    503: "`database_unavailable`: MongoDB failed; retry.",
}
_ERROR_SCHEMA_REF = "#/components/schemas/Error"
NEXT_CURSOR_HEADER = "X-Next-Cursor"


class ApiResolver(APIGatewayHttpResolver):
    """Powertools' resolver, with every request's body checked once before routing: left to
    Powertools, an undecodable or over-deep body is a 500 with a stack trace, and invalid JSON a 422
    that names a field after the error's offset."""

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        try:
            event = check_body(event)
        except RefusedBody as refused:
            request_id = (event.get("requestContext") or {}).get("requestId")
            logger.info("request body refused", status=refused.status.value, reason=str(refused))
            error = "unsupported_media_type" if refused.status == HTTPStatus.UNSUPPORTED_MEDIA_TYPE else None
            response = error_response(
                error or "validation_error",
                str(refused),
                request_id,
                fields=None if error else [{"field": "body", "message": str(refused)}],
            )
            builder: ResponseBuilder[APIGatewayProxyEventV2] = ResponseBuilder(response)
            return builder.build(APIGatewayProxyEventV2(dict(event)))
        return super().resolve(event, context)


def build_resolver() -> APIGatewayHttpResolver:
    app = ApiResolver(enable_validation=True)

    def register(kind: type[Exception], translate: Callable[[Any], Translation]) -> None:
        @app.exception_handler(kind)
        def respond(exc: Exception) -> Response[str]:
            error, message, details = translate(exc)
            return error_response(error, message, request_id(app), **details)

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
    means."""
    documented: dict[int, OpenAPIResponse] = {}
    for status, description in success.items():
        documented[status] = {"description": description}
        if body is not None:
            documented[status]["content"] = {"application/json": {"model": body}}
        if csv is not None:
            content = documented[status].setdefault("content", {})
            content["text/csv"] = {"schema": {"type": "string", "description": csv}}
    for status, description in errors.items():
        documented[status] = {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": _ERROR_SCHEMA_REF}}},
        }
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
