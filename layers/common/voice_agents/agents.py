"""The domain functions behind the agent routes: create (idempotent), get and list."""

from __future__ import annotations

import base64
from typing import Protocol

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from pydantic import BaseModel

from voice_agents import runtime
from voice_agents.errors import (
    AgentNotFound,
    IdempotencyKeyReused,
    InvalidRequest,
    RequestInProgress,
    StoreError,
)
from voice_agents.idempotency import MongoPersistenceLayer
from voice_agents.models import Agent, AgentPage, CreateAgentRequest
from voice_agents.provisioning import provision_agent
from voice_agents.store import IDEMPOTENCY, object_id

IDEMPOTENCY_TTL_SECONDS = 24 * 3600


class LambdaContextLike(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


class CreateCommand(BaseModel):
    """What an Idempotency-Key covers: the key is per owner, and the body must match on replay."""

    ownerId: str
    idempotencyKey: str
    request: CreateAgentRequest


idempotency_config = IdempotencyConfig(
    event_key_jmespath="[ownerId, idempotencyKey]",
    payload_validation_jmespath="request",
    expires_after_seconds=IDEMPOTENCY_TTL_SECONDS,
    raise_on_no_idempotency_key=True,
)
_persistence = MongoPersistenceLayer(lambda: runtime.store().database[IDEMPOTENCY])


@idempotent_function(
    data_keyword_argument="command",
    persistence_store=_persistence,
    config=idempotency_config,
    output_serializer=PydanticSerializer(Agent),
)
def _provision_once(command: CreateCommand, *, webhook_base_url: str, context: LambdaContextLike) -> Agent:
    return _provision(command.request, command.ownerId, webhook_base_url, context)


def _provision(
    request: CreateAgentRequest, owner_id: str, webhook_base_url: str, context: LambdaContextLike
) -> Agent:
    return provision_agent(
        request,
        owner_id=owner_id,
        webhook_base_url=webhook_base_url,
        services=runtime.services(),
        remaining_ms=context.get_remaining_time_in_millis,
        worker=runtime.WORKER_ID,
    )


def create_agent(
    request: CreateAgentRequest,
    *,
    owner_id: str,
    idempotency_key: str | None,
    request_base_url: str,
    context: LambdaContextLike,
) -> Agent:
    """Provision an agent. With an Idempotency-Key, a replay returns the first result and never
    provisions twice; WEBHOOK_BASE_URL wins over the base URL the request came in on."""
    webhook_base_url = runtime.settings().webhook_base_url or request_base_url
    if idempotency_key is None:
        return _provision(request, owner_id, webhook_base_url, context)
    idempotency_config.register_lambda_context(context)  # type: ignore[arg-type]
    command = CreateCommand(ownerId=owner_id, idempotencyKey=idempotency_key, request=request)
    try:
        result: Agent = _provision_once(command=command, webhook_base_url=webhook_base_url, context=context)
    except IdempotencyValidationError as exc:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was already used with a different request body"
        ) from exc
    except IdempotencyAlreadyInProgressError as exc:
        raise RequestInProgress("a request with this Idempotency-Key is still in progress") from exc
    except IdempotencyPersistenceLayerError as exc:
        raise StoreError(f"idempotency store failed: {exc}") from exc
    return result


def get_agent(agent_id: str, *, owner_id: str) -> Agent:
    document = runtime.store().get_for_owner(agent_id, owner_id)
    if document is None:
        raise AgentNotFound(f"agent {agent_id} not found")
    return Agent.from_document(document)


def list_agents(*, owner_id: str, limit: int, cursor: str | None) -> AgentPage:
    after = _decode_cursor(cursor) if cursor else None
    documents = runtime.store().list_for_owner(owner_id, limit=limit + 1, after=after)
    items = [Agent.from_document(document) for document in documents[:limit]]
    next_cursor = _encode_cursor(items[-1].id) if len(documents) > limit else None
    return AgentPage(items=items, nextCursor=next_cursor)


def _encode_cursor(agent_id: str) -> str:
    return base64.urlsafe_b64encode(agent_id.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        agent_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        agent_id = ""
    if object_id(agent_id) is None:
        raise InvalidRequest("cursor", "cursor is not one this API returned")
    return agent_id
