"""The one place where domain outcomes become HTTP answers, shared by every API function.

Bodies are JSON: ``{"error": <machine code>, "message": <sentence>, "requestId": ..., ...details}``.
A client's mistake is always a 4xx that names the field; provider and database trouble is a 5xx
that names the failed step. The sentences for 5xx answers are chosen here, per error code and
step: hosts, URLs, account SIDs, ARNs and exception texts go to the log (under the same request
id, the logs' correlation id), never into an answer; nothing leaks a stack trace.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pymongo.errors import PyMongoError

from voice_agents.core.clock import now
from voice_agents.core.errors import (
    AgentDeleted,
    AgentNotActive,
    AgentNotFound,
    BillingError,
    CallNotFound,
    ConfigurationError,
    CreationPaused,
    DeadlineExceeded,
    IdempotencyKeyReused,
    InvalidRequest,
    NotificationsNotSet,
    PreconditionFailed,
    ProvisioningFailed,
    PurchaseLimitReached,
    QuotaExceeded,
    RequestInProgress,
    StoreError,
    UpdateFailed,
    UpstreamError,
)
from voice_agents.core.observability import logger

if TYPE_CHECKING:
    from voice_agents.http.rate_limit import RateLimited

_STEP = re.compile(r"[a-z][a-z_]{0,39}")
_SETTING = re.compile(r"[A-Z][A-Z0-9_]{1,63}")

# Every error code the API answers, and its status: the answers below and the OpenAPI document's
# list of codes (scripts/generate_openapi.py) both read this table.
ERROR_STATUS: dict[str, HTTPStatus] = {
    "validation_error": HTTPStatus.BAD_REQUEST,
    "not_found": HTTPStatus.NOT_FOUND,
    "request_in_progress": HTTPStatus.CONFLICT,
    "agent_not_active": HTTPStatus.CONFLICT,
    "notifications_not_set": HTTPStatus.CONFLICT,
    "precondition_failed": HTTPStatus.PRECONDITION_FAILED,
    "agent_deleted": HTTPStatus.GONE,
    "unsupported_media_type": HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    "idempotency_key_reused": HTTPStatus.UNPROCESSABLE_ENTITY,
    "quota_exceeded": HTTPStatus.TOO_MANY_REQUESTS,
    "purchase_limit": HTTPStatus.TOO_MANY_REQUESTS,
    "rate_limited": HTTPStatus.TOO_MANY_REQUESTS,
    "configuration_error": HTTPStatus.INTERNAL_SERVER_ERROR,
    "internal_error": HTTPStatus.INTERNAL_SERVER_ERROR,
    "provisioning_failed": HTTPStatus.BAD_GATEWAY,
    "billing_error": HTTPStatus.BAD_GATEWAY,
    "upstream_error": HTTPStatus.BAD_GATEWAY,
    "update_failed": HTTPStatus.BAD_GATEWAY,
    "database_unavailable": HTTPStatus.SERVICE_UNAVAILABLE,
    "creation_paused": HTTPStatus.SERVICE_UNAVAILABLE,
    "deadline_exceeded": HTTPStatus.GATEWAY_TIMEOUT,
}

DATABASE_UNAVAILABLE = "the database is unavailable; retry shortly"
MISCONFIGURED = "the service is misconfigured"


def error_response(
    error: str, message: str, request_id: str | None, *, headers: dict[str, str] | None = None, **details: Any
) -> Response[str]:
    """The answer for ``error`` (a code of ``ERROR_STATUS``), with its status from the table."""
    status = ERROR_STATUS[error]
    body = {
        "error": error,
        "message": message,
        "requestId": request_id,
        **{key: value for key, value in details.items() if value is not None},
    }
    return Response(
        status_code=status.value, content_type="application/json", body=json.dumps(body), headers=headers
    )


def answer_headers(exc: Exception) -> dict[str, str] | None:
    """Headers an error answer carries besides its body: ``Retry-After`` (whole seconds, at least 1)
    when the caller is told when to come back."""
    if isinstance(exc, PurchaseLimitReached):
        wait = (exc.frees_at - now()).total_seconds()
        return {"Retry-After": str(max(1, math.ceil(wait)))}
    return None


def rate_limited_response(limited: RateLimited, request_id: str | None) -> Response[str]:
    """The 429 of an owner past a budget: ``Retry-After`` is when its minute ends."""
    message = (
        f"too many requests: at most {limited.limit} {limited.budget} a minute per user; "
        f"retry in {limited.retry_after} s"
    )
    response = error_response("rate_limited", message, request_id, limit=limited.limit)
    response.headers["Retry-After"] = str(limited.retry_after)
    return response


# What an error answer says: its code (a key of ERROR_STATUS), its message, and its details.
Translation = tuple[str, str, dict[str, Any]]


def _invalid_body(exc: RequestValidationError) -> Translation:
    fields = [_describe(error) for error in exc.errors()]
    message = "; ".join(f"{field['field']}: {field['message']}" for field in fields)
    return "validation_error", message, {"fields": fields}


# Client errors: their texts are sentences written for the caller where they are raised, and never
# wrap another error.
def _invalid_request(exc: InvalidRequest) -> Translation:
    fields = [{"field": field, "message": str(exc)} for field in exc.fields]
    return "validation_error", f"{', '.join(exc.fields)}: {exc}", {"fields": fields}


def _not_found(exc: AgentNotFound) -> Translation:
    if isinstance(exc, CallNotFound):
        return "not_found", "this agent of yours has no such call, or the call no recording", {}
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


def _notifications_not_set(exc: NotificationsNotSet) -> Translation:
    return "notifications_not_set", "no webhook URL and no email are set: set one first", {}


def _quota_exceeded(exc: QuotaExceeded) -> Translation:
    message = f"you already have the most agents allowed ({exc.limit}); delete one to create another"
    return "quota_exceeded", message, {"limit": exc.limit}


def _purchase_limit(exc: PurchaseLimitReached) -> Translation:
    retry_at = exc.frees_at.isoformat(timespec="seconds").replace("+00:00", "Z")
    message = (
        f"your agents bought the most phone numbers allowed in 24 hours ({exc.limit}), deleted ones "
        f"included; you can create another from {retry_at}"
    )
    return "purchase_limit", message, {"limit": exc.limit, "retryAt": retry_at}


def _creation_paused(exc: CreationPaused) -> Translation:
    message = "creating agents is paused by the operator (spending alarm); nothing was bought, retry later"
    return "creation_paused", message, {}


# Server errors: fixed sentences; the cause goes to the log only.
def _provisioning_failed(exc: ProvisioningFailed) -> Translation:
    error, step, setting = _failed_step(exc, "create agent failed", cleanup_pending=exc.cleanup_pending)
    message = _step_failure("creating", error, step)
    if setting:
        message += f"; an operator has to set or fix {setting}"
    if error == "database_unavailable" and step == "activate" and exc.cleanup_pending:
        message += (
            "; whether the agent became active is not known yet: retry with the same "
            "Idempotency-Key to learn it"
        )
    elif exc.cleanup_pending:
        message += "; what it created will be removed shortly"
    else:
        message += "; everything it created was removed"
    details = {
        "step": step,
        "agentId": exc.agent_id,
        "setting": setting,
        "rolledBack": not exc.cleanup_pending,
        "cleanupPending": exc.cleanup_pending or None,
    }
    return error, message, details


def _update_failed(exc: UpdateFailed) -> Translation:
    error, step, setting = _failed_step(exc, "update agent failed", pending=exc.pending)
    message = _step_failure("updating", error, step) + (
        "; the change will be finished or undone shortly, then the agent shows which"
        if exc.pending
        else "; nothing was changed"
    )
    code = "update_failed" if error == "provisioning_failed" else error
    return code, message, {"step": step, "agentId": exc.agent_id, "setting": setting, "pending": exc.pending}


# A flow that failed at a step, by the error code its cause gives: what it says after "creating the
# agent" or "updating the agent".
_STEP_FAILURES = {
    "configuration_error": "failed at step '{step}': the service is misconfigured",
    "billing_error": "failed at step '{step}': the provider account cannot pay",
    "deadline_exceeded": "ran out of time at step '{step}'",
    "database_unavailable": "failed at step '{step}': the database failed",
    "provisioning_failed": "failed at step '{step}': a provider failed",
}


def _failed_step(
    exc: ProvisioningFailed | UpdateFailed, event: str, **logged: Any
) -> tuple[str, str, str | None]:
    """The error code, the step as answered and the setting to fix of a flow that failed at a step;
    the cause itself goes to the log."""
    cause = exc.cause
    logger.warning(event, step=exc.step, error=str(cause), error_type=type(cause).__name__, **logged)
    return _error_for_cause(cause), _step(exc.step), _setting(cause)


def _step_failure(doing: str, error: str, step: str) -> str:
    return f"{doing} the agent " + _STEP_FAILURES[error].format(step=step)


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
    NotificationsNotSet: _notifications_not_set,
    QuotaExceeded: _quota_exceeded,
    PurchaseLimitReached: _purchase_limit,
    CreationPaused: _creation_paused,
    ProvisioningFailed: _provisioning_failed,
    UpdateFailed: _update_failed,
    ConfigurationError: _misconfigured,
    StoreError: _store_failed,
    PyMongoError: _driver_failed,
    UpstreamError: _upstream_failed,
    Exception: _unexpected,
}


def _error_for_cause(cause: BaseException) -> str:
    """The error code of a failed create or update, by what made it fail."""
    if isinstance(cause, ConfigurationError):
        return "configuration_error"
    if isinstance(cause, BillingError):
        return "billing_error"
    if isinstance(cause, DeadlineExceeded):
        return "deadline_exceeded"
    if isinstance(cause, StoreError):
        return "database_unavailable"
    return "provisioning_failed"


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
