"""The one place where domain outcomes become HTTP responses, shared by every API function.

Bodies are JSON: ``{"error": <machine code>, "message": <sentence>, "requestId": ..., ...details}``.
A client's mistake is always a 4xx that names the field; provider and database trouble is a 5xx
that names the failed step. The sentences for 5xx answers are chosen here, per error code and
step: hosts, URLs, account SIDs, ARNs and exception texts go to the log (under the same request
id, the logs' correlation id), never into an answer; nothing leaks a stack trace.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import ResponseBuilder
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from pydantic import BaseModel
from pymongo.errors import PyMongoError

from voice_agents.errors import (
    AgentDeleted,
    AgentNotActive,
    AgentNotFound,
    BillingError,
    ConfigurationError,
    DeadlineExceeded,
    IdempotencyKeyReused,
    InvalidRequest,
    PreconditionFailed,
    ProvisioningFailed,
    QuotaExceeded,
    RequestInProgress,
    StoreError,
    UpdateFailed,
    UpstreamError,
)
from voice_agents.observability import logger

IDEMPOTENCY_KEY_MAX_LENGTH = 255
# Printable ASCII: what the OpenAPI document declares, and what an HTTP header carries unaltered.
IDEMPOTENCY_KEY_PATTERN = r"^[ -~]+$"
# "*" or one or more entity tags, "…" or W/"…" (RFC 9110), separated by commas; a tag sent without
# its quotes (3 for "3") is taken as quoted, as clients often send it so.
_ENTITY_TAG = r'(?:(?:W/)?"[\x21\x23-\x7e]*"|[\x21\x23-\x2b\x2d-\x7e]+)'
IF_MATCH_PATTERN = rf"^\s*(?:\*|{_ENTITY_TAG}(?:\s*,\s*{_ENTITY_TAG})*)\s*$"
# The create body is one flat object; anything nested deeper than this is not a request of ours.
MAX_JSON_DEPTH = 32
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_STEP = re.compile(r"[a-z][a-z_]{0,39}")
_SETTING = re.compile(r"[A-Z][A-Z0-9_]{1,63}")

# Every error code the API answers, and its status: the answers below and the OpenAPI document's
# list of codes (scripts/generate_openapi.py) both read this table.
ERROR_STATUS: dict[str, HTTPStatus] = {
    "validation_error": HTTPStatus.BAD_REQUEST,
    "not_found": HTTPStatus.NOT_FOUND,
    "request_in_progress": HTTPStatus.CONFLICT,
    "agent_not_active": HTTPStatus.CONFLICT,
    "precondition_failed": HTTPStatus.PRECONDITION_FAILED,
    "agent_deleted": HTTPStatus.GONE,
    "unsupported_media_type": HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    "idempotency_key_reused": HTTPStatus.UNPROCESSABLE_ENTITY,
    "quota_exceeded": HTTPStatus.TOO_MANY_REQUESTS,
    "configuration_error": HTTPStatus.INTERNAL_SERVER_ERROR,
    "internal_error": HTTPStatus.INTERNAL_SERVER_ERROR,
    "provisioning_failed": HTTPStatus.BAD_GATEWAY,
    "billing_error": HTTPStatus.BAD_GATEWAY,
    "upstream_error": HTTPStatus.BAD_GATEWAY,
    "update_failed": HTTPStatus.BAD_GATEWAY,
    "database_unavailable": HTTPStatus.SERVICE_UNAVAILABLE,
    "deadline_exceeded": HTTPStatus.GATEWAY_TIMEOUT,
}

# What the OpenAPI document says of the answers most routes share (each route declares its own).
NOT_FOUND_ANSWER = "`not_found`: no such agent for this caller (another caller's agent is a 404 too)."
SERVER_ANSWERS = {
    500: "`configuration_error` (with `setting`) or `internal_error`.",
    503: "`database_unavailable`: MongoDB failed; retry.",
}
_ERROR_SCHEMA_REF = "#/components/schemas/Error"

DATABASE_UNAVAILABLE = "the database is unavailable; retry shortly"
MISCONFIGURED = "the service is misconfigured"


def error_response(error: str, message: str, request_id: str | None, **details: Any) -> Response[str]:
    """The answer for ``error`` (a code of ``ERROR_STATUS``), with its status from the table."""
    status = ERROR_STATUS[error]
    body = {
        "error": error,
        "message": message,
        "requestId": request_id,
        **{key: value for key, value in details.items() if value is not None},
    }
    return Response(status_code=status.value, content_type="application/json", body=json.dumps(body))


class RefusedBody(Exception):
    """The request's body cannot be read as JSON: refused before any route runs."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


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


def check_body(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """Raise RefusedBody unless a request that carries a body carries readable JSON; return the
    event with its Content-Type spelt as Powertools compares it (case-sensitively)."""
    method = str(((event.get("requestContext") or {}).get("http") or {}).get("method", "")).upper()
    body = event.get("body")
    if method not in BODY_METHODS or not body:
        return event
    headers = {str(key).lower(): str(value) for key, value in (event.get("headers") or {}).items()}
    _check_content_type(headers.get("content-type"))
    text = _decoded(body, bool(event.get("isBase64Encoded")))
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RefusedBody(
            HTTPStatus.BAD_REQUEST,
            f"the body is not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
        ) from None
    except RecursionError:
        raise RefusedBody(HTTPStatus.BAD_REQUEST, _too_deep()) from None
    except ValueError:  # e.g. an integer longer than Python converts
        raise RefusedBody(HTTPStatus.BAD_REQUEST, "the body is not valid JSON: a value is too long") from None
    _check_parsed(parsed)
    return {**event, "headers": {**headers, "content-type": "application/json"}}


def _check_content_type(content_type: str | None) -> None:
    if content_type is None:  # as Powertools does: no Content-Type is read as JSON
        return
    media_type, *parameters = (part.strip().lower() for part in content_type.split(";"))
    charset = next((p.split("=", 1)[1].strip('"') for p in parameters if p.startswith("charset=")), "utf-8")
    if media_type != "application/json" or charset not in ("utf-8", "utf8"):
        raise RefusedBody(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "the body must be JSON: send Content-Type: application/json"
        )


def _decoded(body: Any, is_base64: bool) -> str:
    if not isinstance(body, str):
        raise RefusedBody(HTTPStatus.BAD_REQUEST, "the body is not valid JSON")
    try:
        raw = base64.b64decode(body, validate=True) if is_base64 else body.encode("utf-8")
    except binascii.Error:
        raise RefusedBody(HTTPStatus.BAD_REQUEST, "the body is not valid base64") from None
    except UnicodeEncodeError:  # a lone surrogate: the text was not UTF-8
        raise RefusedBody(HTTPStatus.BAD_REQUEST, "the body is not valid UTF-8") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        message = f"the body is not valid UTF-8 at byte {exc.start}"
        raise RefusedBody(HTTPStatus.BAD_REQUEST, message) from None


def _check_parsed(parsed: Any) -> None:
    """Depth, and strings that cannot be stored: JSON escapes can spell a lone surrogate."""
    pending: list[tuple[Any, int]] = [(parsed, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise RefusedBody(HTTPStatus.BAD_REQUEST, _too_deep())
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            pending.extend((item, depth + 1) for item in items)
        elif isinstance(value, str) and not _is_utf8(value):
            raise RefusedBody(HTTPStatus.BAD_REQUEST, "the body is not valid UTF-8 (a lone surrogate)")


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _too_deep() -> str:
    return f"the body is nested deeper than {MAX_JSON_DEPTH} levels"


# What an error answer says: its code (a key of ERROR_STATUS), its message, and its details.
Translation = tuple[str, str, dict[str, Any]]


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


def _invalid_body(exc: RequestValidationError) -> Translation:
    fields = [_describe(error) for error in exc.errors()]
    message = "; ".join(f"{field['field']}: {field['message']}" for field in fields)
    return "validation_error", message, {"fields": fields}


# Client errors: their texts are sentences written for the caller where they are raised, and never
# wrap another error.
def _invalid_request(exc: InvalidRequest) -> Translation:
    return "validation_error", f"{exc.field}: {exc}", {"fields": [{"field": exc.field, "message": str(exc)}]}


def _not_found(exc: AgentNotFound) -> Translation:
    return "not_found", "no agent with this id belongs to you", {}


def _deleted(exc: AgentDeleted) -> Translation:
    message = (
        "the agent this Idempotency-Key created has since been deleted; "
        "use a new Idempotency-Key to create another"
    )
    return "agent_deleted", message, {}


def _key_reused(exc: IdempotencyKeyReused) -> Translation:
    return "idempotency_key_reused", str(exc), {}


def _in_progress(exc: RequestInProgress) -> Translation:
    return "request_in_progress", f"{exc}; retry shortly", {}


def _precondition_failed(exc: PreconditionFailed) -> Translation:
    message = f"{exc}; read the agent again and retry with its ETag in If-Match"
    return "precondition_failed", message, {"etag": exc.current}


def _not_active(exc: AgentNotActive) -> Translation:
    return "agent_not_active", str(exc), {"status": exc.status}


def _quota_exceeded(exc: QuotaExceeded) -> Translation:
    message = f"you already have the most agents allowed ({exc.limit}); delete one to create another"
    return "quota_exceeded", message, {"limit": exc.limit}


# Server errors: fixed sentences; the cause goes to the log only.
def _provisioning_failed(exc: ProvisioningFailed) -> Translation:
    error = _error_for_cause(exc.cause)
    logger.warning(
        "create agent failed",
        step=exc.step,
        error=str(exc.cause),
        error_type=type(exc.cause).__name__,
        cleanup_pending=exc.cleanup_pending,
    )
    setting = _setting(exc.cause)
    details = {
        "step": _step(exc.step),
        "agentId": exc.agent_id,
        "setting": setting,
        "rolledBack": not exc.cleanup_pending,
        "cleanupPending": exc.cleanup_pending or None,
    }
    return error, _failure_message(error, _step(exc.step), setting, exc), details


_UPDATE_FAILURES = {
    "configuration_error": "updating the agent failed at step '{step}': the service is misconfigured",
    "billing_error": "updating the agent failed at step '{step}': the provider account cannot pay",
    "deadline_exceeded": "updating the agent ran out of time at step '{step}'",
    "database_unavailable": "updating the agent failed at step '{step}': the database failed",
    "provisioning_failed": "updating the agent failed at step '{step}': a provider failed",
}


def _update_failed(exc: UpdateFailed) -> Translation:
    error = _error_for_cause(exc.cause)
    logger.warning(
        "update agent failed",
        step=exc.step,
        error=str(exc.cause),
        error_type=type(exc.cause).__name__,
        pending=exc.pending,
    )
    step = _step(exc.step)
    message = _UPDATE_FAILURES[error].format(step=step)
    message += (
        "; the change will be finished or undone shortly, then the agent shows which"
        if exc.pending
        else "; nothing was changed"
    )
    code = "update_failed" if error == "provisioning_failed" else error
    details = {"step": step, "agentId": exc.agent_id, "setting": _setting(exc.cause), "pending": exc.pending}
    return code, message, details


def _misconfigured(exc: ConfigurationError) -> Translation:
    logger.error("configuration error", setting=exc.setting, error=str(exc))
    setting = _setting(exc)
    action = f"an operator has to set or fix {setting}" if setting else "an operator has to fix it"
    return "configuration_error", f"{MISCONFIGURED}: {action}", {"setting": setting}


def _store_failed(exc: StoreError) -> Translation:
    logger.error("database error", error=str(exc))
    return "database_unavailable", DATABASE_UNAVAILABLE, {}


def _driver_failed(exc: PyMongoError) -> Translation:
    # A driver error that escaped the store's translation (e.g. from building the client).
    logger.error("database error", error=str(exc), error_type=type(exc).__name__)
    return "database_unavailable", DATABASE_UNAVAILABLE, {}


def _upstream_failed(exc: UpstreamError) -> Translation:
    logger.error("provider error", provider=exc.provider, error=str(exc), status=exc.status)
    return "upstream_error", f"the provider {exc.provider} failed; retry shortly", {"provider": exc.provider}


def _unexpected(exc: Exception) -> Translation:
    logger.exception("unexpected error")
    return "internal_error", "unexpected error; it has been logged", {}


# Each exception the routes may raise, and its answer (the most specific class wins).
TRANSLATIONS: dict[type[Exception], Callable[[Any], Translation]] = {
    RequestValidationError: _invalid_body,
    InvalidRequest: _invalid_request,
    AgentNotFound: _not_found,
    AgentDeleted: _deleted,
    IdempotencyKeyReused: _key_reused,
    RequestInProgress: _in_progress,
    PreconditionFailed: _precondition_failed,
    AgentNotActive: _not_active,
    QuotaExceeded: _quota_exceeded,
    ProvisioningFailed: _provisioning_failed,
    UpdateFailed: _update_failed,
    ConfigurationError: _misconfigured,
    StoreError: _store_failed,
    PyMongoError: _driver_failed,
    UpstreamError: _upstream_failed,
    Exception: _unexpected,
}


def answers(
    success: dict[int, str], errors: dict[int, str], *, body: type[BaseModel] | None = None
) -> dict[int, OpenAPIResponse]:
    """A route's answers for its OpenAPI document: each success (its body the route's return type,
    or ``body``) and each error (an ``Error`` body) with what it means."""
    documented: dict[int, OpenAPIResponse] = {}
    for status, description in success.items():
        documented[status] = {"description": description}
        if body is not None:
            documented[status]["content"] = {"application/json": {"model": body}}
    for status, description in errors.items():
        documented[status] = {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": _ERROR_SCHEMA_REF}}},
        }
    return documented


def agent_response(agent: BaseModel, etag: str, status: int = 200) -> Response[str]:
    """An agent with its version in ``ETag`` (what ``If-Match`` names on an update)."""
    return Response(
        status_code=status,
        content_type="application/json",
        body=agent.model_dump_json(),
        headers={"ETag": etag},
    )


def if_match(app: APIGatewayHttpResolver) -> str | None:
    """The ``If-Match`` header: ``*`` or a list of entity tags (RFC 9110), else a 400."""
    value = app.current_event.headers.get("If-Match")  # Powertools headers ignore case
    if value is not None and not re.fullmatch(IF_MATCH_PATTERN, value):
        raise InvalidRequest(
            "If-Match", 'If-Match must be "*" or entity tags such as "3", as ETag gives them'
        )
    return value


def request_id(app: APIGatewayHttpResolver) -> str | None:
    """API Gateway's id of this request: the logs' correlation id too, so an answer leads to its log."""
    event = app.current_event
    context = event.raw_event.get("requestContext") or {}
    return context.get("requestId") or getattr(app.lambda_context, "aws_request_id", None)


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
    if not key or len(key) > IDEMPOTENCY_KEY_MAX_LENGTH or not re.fullmatch(IDEMPOTENCY_KEY_PATTERN, key):
        raise InvalidRequest(
            "Idempotency-Key",
            f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters",
        )
    return key


def request_base_url(app: APIGatewayHttpResolver) -> str:
    """The public base URL this request came in on (stage included unless it is $default)."""
    context = app.current_event.request_context
    stage = context.stage
    return f"https://{context.domain_name}" + ("" if stage in (None, "", "$default") else f"/{stage}")


def _error_for_cause(cause: BaseException) -> str:
    """The error code of a failed create, by what made it fail."""
    if isinstance(cause, ConfigurationError):
        return "configuration_error"
    if isinstance(cause, BillingError):
        return "billing_error"
    if isinstance(cause, DeadlineExceeded):
        return "deadline_exceeded"
    if isinstance(cause, StoreError):
        return "database_unavailable"
    return "provisioning_failed"


_FAILURE_MESSAGES = {
    "configuration_error": "creating the agent failed at step '{step}': the service is misconfigured",
    "billing_error": "creating the agent failed at step '{step}': the provider account cannot pay",
    "deadline_exceeded": "creating the agent ran out of time before step '{step}'",
    "database_unavailable": "creating the agent failed at step '{step}': the database failed",
    "provisioning_failed": "creating the agent failed at step '{step}': a provider failed",
}


def _failure_message(error: str, step: str, setting: str | None, failure: ProvisioningFailed) -> str:
    message = _FAILURE_MESSAGES[error].format(step=step)
    if setting:
        message += f"; an operator has to set or fix {setting}"
    if error == "database_unavailable" and step == "activate" and failure.cleanup_pending:
        return message + (
            "; whether the agent became active is not known yet: retry with the same "
            "Idempotency-Key to learn it"
        )
    if failure.cleanup_pending:
        return message + "; what it created will be removed shortly"
    return message + "; everything it created was removed"


def _step(step: str) -> str:
    return step if _STEP.fullmatch(step) else "unknown"


def _setting(exc: BaseException) -> str | None:
    """The environment variable to fix, when the error names one (never free text)."""
    setting = getattr(exc, "setting", None)
    return setting if isinstance(setting, str) and _SETTING.fullmatch(setting) else None


def _describe(error: dict[str, Any]) -> dict[str, str]:
    location = [str(part) for part in error.get("loc", ()) if part != "body"]
    if error.get("type") == "extra_forbidden":
        return {"field": ".".join(location), "message": "unknown field"}
    return {"field": ".".join(location) or "body", "message": str(error.get("msg", "invalid"))}
