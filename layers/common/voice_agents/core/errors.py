"""Domain exceptions. Domain code raises these; ``voice_agents.http.resolver`` maps them to HTTP once."""

from __future__ import annotations

from datetime import datetime


class DomainError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigurationError(DomainError):
    """The deployment is misconfigured: an operator, not the caller, has to act.

    ``setting`` names the variable to set or fix when one is known.
    """

    def __init__(self, message: str, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


class UpstreamError(DomainError):
    """A call to Retell or Twilio failed.

    ``retryable``: an idempotent request (read, delete, update) may be sent again (429, 5xx,
    connect errors). ``unprocessed``: the provider certainly did not act (429: "not processed";
    the connection never opened), so even a create may be sent again.
    """

    def __init__(
        self,
        provider: str,
        operation: str,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        retryable: bool = False,
        unprocessed: bool = False,
    ) -> None:
        super().__init__(f"{provider} {operation} failed: {message}")
        self.provider = provider
        self.operation = operation
        self.status = status
        self.code = code
        self.retryable = retryable or unprocessed
        self.unprocessed = unprocessed


class UpstreamTimeout(UpstreamError):
    """No answer in time: the provider may or may not have acted (the outcome is unknown)."""

    def __init__(self, provider: str, operation: str, message: str) -> None:
        super().__init__(provider, operation, message, retryable=False)


class UpstreamNotFound(UpstreamError):
    """The provider does not know the resource (already deleted, or never existed)."""


class BillingError(UpstreamError):
    """The provider account cannot pay (Retell 402, Twilio 20005): not retryable, an operator must act."""


class UpstreamBadResponse(UpstreamError):
    """The provider answered success with a body that is not JSON or lacks the id asked for. For a
    create, the resource may exist (the outcome is unknown): it is found by its tag."""


class NumberUnavailable(UpstreamError):
    """Twilio 21422: somebody else bought the number between search and purchase."""


class NoNumbersAvailable(DomainError):
    """The search found no number that could be bought."""


class StoreError(DomainError):
    """MongoDB failed or could not be reached.

    ``outcome_unknown`` is true when a write may have been applied (a network error after sending).
    """

    def __init__(self, message: str, *, outcome_unknown: bool = False) -> None:
        super().__init__(message)
        self.outcome_unknown = outcome_unknown


class AgentNotFound(DomainError):
    """No agent with that id belongs to the caller."""


class CallNotFound(AgentNotFound):
    """The caller's agent has no such call, or the call no such recording: a 404 like an agent's."""


class DeadlineExceeded(DomainError):
    """Too little time is left to start the named step safely."""

    def __init__(self, step: str, remaining_ms: int, message: str | None = None) -> None:
        super().__init__(message or f"not enough time left to start {step} ({remaining_ms} ms remaining)")
        self.step = step
        self.remaining_ms = remaining_ms


class ProvisioningFailed(DomainError):
    """Creating an agent failed at ``step``; everything already created was rolled back
    (or, when ``cleanup_pending`` is not empty, handed to the reconciler)."""

    def __init__(
        self, agent_id: str, step: str, cause: BaseException, cleanup_pending: list[str] | None = None
    ) -> None:
        super().__init__(f"provisioning failed at {step}: {cause}")
        self.agent_id = agent_id
        self.step = step
        self.cause = cause
        self.cleanup_pending = cleanup_pending or []


class RequestInProgress(DomainError):
    """Another request with the same Idempotency-Key is still running."""


class IdempotencyKeyReused(DomainError):
    """The Idempotency-Key was used before with a different request body."""


class InvalidRequest(DomainError):
    """The caller sent something the API cannot accept; ``field`` names it (``also``: other fields
    the same refusal is about, e.g. a country and a numberType that go together)."""

    def __init__(self, field: str, message: str, *, also: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.field = field
        self.fields = (field, *also)


class QuotaExceeded(DomainError):
    """The owner already has ``limit`` agents that hold (or will hold) paid resources."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the limit of {limit} agents per owner is reached")
        self.limit = limit


class PurchaseLimitReached(DomainError):
    """The owner's creates bought ``limit`` numbers in the last 24 hours; the oldest of those
    purchases leaves the window at ``frees_at``."""

    def __init__(self, limit: int, frees_at: datetime) -> None:
        super().__init__(f"the limit of {limit} number purchases per owner in 24 hours is reached")
        self.limit = limit
        self.frees_at = frees_at


class CreationPaused(DomainError):
    """The operator's kill switch (CREATION_PAUSED_PARAMETER) is on: no agent is created."""


class AgentDeleted(DomainError):
    """The agent an Idempotency-Key created has since been deleted."""


class PreconditionFailed(DomainError):
    """The caller's ``If-Match`` names a version of the agent that is no longer current."""

    def __init__(self, current: str) -> None:
        super().__init__(f"the agent changed since you read it; its version is now {current}")
        self.current = current


class AgentNotActive(DomainError):
    """The agent cannot be changed in its present status (provisioning, deleting or failed)."""

    def __init__(self, status: str) -> None:
        super().__init__(f"the agent is {status}; only an active agent can be changed")
        self.status = status


class UpdateFailed(DomainError):
    """Updating an agent failed at ``step``. ``pending``: what was left for the reconciler to
    finish or undo (empty when the change was undone here, and the agent is as it was)."""

    def __init__(self, agent_id: str, step: str, cause: BaseException, pending: bool = False) -> None:
        super().__init__(f"update failed at {step}: {cause}")
        self.agent_id = agent_id
        self.step = step
        self.cause = cause
        self.pending = pending


class TargetRefused(DomainError):
    """An owner's webhook URL may not be sent to: not https, or a host that is (or resolves to) a
    private, loopback, link-local or otherwise non-public address. The message says which."""


class NotificationsNotSet(DomainError):
    """The owner has no webhook URL and no email to send a notification to."""
