"""The one place where domain outcomes become HTTP responses, shared by every API function.

Bodies are JSON: ``{"error": <machine code>, "message": <sentence>, ...details}``. A client's
mistake is always a 4xx that names the field; provider and database trouble is a 5xx that names
the failed step; nothing leaks a stack trace.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from voice_agents.errors import (
    AgentNotFound,
    BillingError,
    ConfigurationError,
    DeadlineExceeded,
    IdempotencyKeyReused,
    InvalidRequest,
    ProvisioningFailed,
    RequestInProgress,
    StoreError,
    UpstreamError,
)
from voice_agents.observability import logger

IDEMPOTENCY_KEY_MAX_LENGTH = 255


def error_response(status: HTTPStatus, error: str, message: str, **details: Any) -> Response[str]:
    body = {
        "error": error,
        "message": message,
        **{key: value for key, value in details.items() if value is not None},
    }
    return Response(status_code=status.value, content_type="application/json", body=json.dumps(body))


def build_resolver() -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)

    @app.exception_handler(RequestValidationError)
    def invalid_body(exc: RequestValidationError) -> Response[str]:
        fields = [_describe(error) for error in exc.errors()]
        message = "; ".join(f"{field['field']}: {field['message']}" for field in fields)
        return error_response(HTTPStatus.BAD_REQUEST, "validation_error", message, fields=fields)

    @app.exception_handler(InvalidRequest)
    def invalid_request(exc: InvalidRequest) -> Response[str]:
        return error_response(
            HTTPStatus.BAD_REQUEST,
            "validation_error",
            f"{exc.field}: {exc}",
            fields=[{"field": exc.field, "message": str(exc)}],
        )

    @app.exception_handler(AgentNotFound)
    def not_found(exc: AgentNotFound) -> Response[str]:
        return error_response(HTTPStatus.NOT_FOUND, "not_found", str(exc))

    @app.exception_handler(IdempotencyKeyReused)
    def key_reused(exc: IdempotencyKeyReused) -> Response[str]:
        return error_response(HTTPStatus.UNPROCESSABLE_ENTITY, "idempotency_key_reused", str(exc))

    @app.exception_handler(RequestInProgress)
    def in_progress(exc: RequestInProgress) -> Response[str]:
        return error_response(HTTPStatus.CONFLICT, "request_in_progress", f"{exc}; retry shortly")

    @app.exception_handler(ProvisioningFailed)
    def provisioning_failed(exc: ProvisioningFailed) -> Response[str]:
        status, error = _status_for_cause(exc.cause)
        logger.warning(
            "create agent failed", step=exc.step, error=str(exc.cause), cleanup_pending=exc.cleanup_pending
        )
        return error_response(
            status,
            error,
            f"creating the agent failed at step '{exc.step}': {exc.cause}",
            step=exc.step,
            agentId=exc.agent_id,
            setting=getattr(exc.cause, "setting", None),
            rolledBack=not exc.cleanup_pending,
            cleanupPending=exc.cleanup_pending or None,
        )

    @app.exception_handler(ConfigurationError)
    def misconfigured(exc: ConfigurationError) -> Response[str]:
        logger.error("configuration error", setting=exc.setting, error=str(exc))
        return error_response(
            HTTPStatus.INTERNAL_SERVER_ERROR, "configuration_error", str(exc), setting=exc.setting
        )

    @app.exception_handler(StoreError)
    def store_failed(exc: StoreError) -> Response[str]:
        logger.error("database error", error=str(exc))
        return error_response(
            HTTPStatus.SERVICE_UNAVAILABLE, "database_unavailable", "the database is unavailable; retry"
        )

    @app.exception_handler(UpstreamError)
    def upstream_failed(exc: UpstreamError) -> Response[str]:
        return error_response(HTTPStatus.BAD_GATEWAY, "upstream_error", str(exc), provider=exc.provider)

    @app.exception_handler(Exception)
    def unexpected(exc: Exception) -> Response[str]:
        logger.exception("unexpected error")
        return error_response(
            HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error", "unexpected error; it has been logged"
        )

    return app


def owner_id(app: APIGatewayHttpResolver) -> str:
    """The caller, from the JWT authorizer's ``sub`` claim (API Gateway verified the token)."""
    authorizer = app.current_event.request_context.authorizer
    claims = authorizer.jwt_claim if authorizer else None
    subject = (claims or {}).get("sub")
    if not subject:
        # Only reachable if the route lost its authorizer: refuse rather than guess an owner.
        raise ConfigurationError("the request carries no JWT 'sub' claim: is the route's authorizer set?")
    return str(subject)


def idempotency_key(app: APIGatewayHttpResolver) -> str | None:
    key = app.current_event.headers.get("Idempotency-Key")  # Powertools headers ignore case
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > IDEMPOTENCY_KEY_MAX_LENGTH or not key.isprintable():
        raise InvalidRequest(
            "Idempotency-Key",
            f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} printable characters",
        )
    return key


def request_base_url(app: APIGatewayHttpResolver) -> str:
    """The public base URL this request came in on (stage included unless it is $default)."""
    context = app.current_event.request_context
    stage = context.stage
    return f"https://{context.domain_name}" + ("" if stage in (None, "", "$default") else f"/{stage}")


def _status_for_cause(cause: BaseException) -> tuple[HTTPStatus, str]:
    if isinstance(cause, ConfigurationError):
        return HTTPStatus.INTERNAL_SERVER_ERROR, "configuration_error"
    if isinstance(cause, BillingError):
        return HTTPStatus.BAD_GATEWAY, "billing_error"
    if isinstance(cause, DeadlineExceeded):
        return HTTPStatus.GATEWAY_TIMEOUT, "deadline_exceeded"
    if isinstance(cause, StoreError):
        return HTTPStatus.SERVICE_UNAVAILABLE, "database_unavailable"
    return HTTPStatus.BAD_GATEWAY, "provisioning_failed"


def _describe(error: dict[str, Any]) -> dict[str, str]:
    location = [str(part) for part in error.get("loc", ()) if part != "body"]
    if error.get("type") == "extra_forbidden":
        return {"field": ".".join(location), "message": "unknown field"}
    return {"field": ".".join(location) or "body", "message": str(error.get("msg", "invalid"))}
