"""Creating an agent (``POST /api/agents``): the routing settings' cross-field check and the voice
allow-list, the operator's kill switch, the owner's quota, then the saga
(``provisioning.provision_agent``, which counts the purchase against the owner's budget first),
idempotent with an ``Idempotency-Key``: a replay answers from the agent the first request made and
never provisions twice. Imported only by the create function."""

from __future__ import annotations

from dataclasses import dataclass

from aws_lambda_powertools.utilities.idempotency import idempotent_function
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from pydantic import AliasChoices, BaseModel, Field

from voice_agents import runtime
from voice_agents.core.errors import (
    AgentDeleted,
    DomainError,
    ProvisioningFailed,
    QuotaExceeded,
    RequestInProgress,
    StoreError,
)
from voice_agents.core.observability import logger
from voice_agents.core.statuses import AgentStatus
from voice_agents.data.agent_record import DELETED
from voice_agents.flows.agents.idempotent import (
    LambdaContextLike,
    answered_as_domain_errors,
    keyed_per_owner,
    persistence,
)
from voice_agents.flows.agents.numbers import with_offered_number
from voice_agents.flows.agents.provisioning import provision_agent
from voice_agents.flows.agents.reads import owned_record
from voice_agents.flows.agents.routing import refuse_unusable
from voice_agents.flows.agents.spending import refuse_while_paused
from voice_agents.flows.agents.voices import refuse_unlisted_voice
from voice_agents.models.agents import Agent, CreateAgentRequest
from voice_agents.runtime import Services


class CreateCommand(BaseModel):
    """What an Idempotency-Key covers: the key is per owner, and the body must match on replay."""

    ownerId: str
    idempotencyKey: str
    request: CreateAgentRequest


class CreateOutcome(BaseModel):
    """What an Idempotency-Key's record keeps: the id of the agent the first request made. A replay
    answers from that agent's record as it is now, never from a snapshot of the first answer."""

    # Records written before this model stored the whole agent: its "id" is the same value.
    agentId: str = Field(validation_alias=AliasChoices("agentId", "id"))


@dataclass
class _FirstRun:
    """What the idempotent function hands back to this request when it really ran (not a replay)."""

    agent: Agent | None = None
    failure: ProvisioningFailed | None = None


idempotency_config = keyed_per_owner(validated_on="request")


@idempotent_function(
    data_keyword_argument="command",
    persistence_store=persistence(),
    config=idempotency_config,
    output_serializer=PydanticSerializer(CreateOutcome),
)
def _provision_once(
    command: CreateCommand,
    *,
    webhook_base_url: str,
    context: LambdaContextLike,
    services: Services,
    first_run: _FirstRun,
) -> CreateOutcome:
    try:
        agent = _provision(command.request, command.ownerId, webhook_base_url, context, services)
    except ProvisioningFailed as failure:
        if not activation_unknown(failure):
            raise  # rolled back: the key is released and a retry provisions afresh
        # The agent may be active: complete the key with its id, so that a retry answers from its
        # record (active, still being settled, or failed) instead of buying a second number.
        first_run.failure = failure
        return CreateOutcome(agentId=failure.agent_id)
    first_run.agent = agent
    return CreateOutcome(agentId=agent.id)


def _provision(
    request: CreateAgentRequest,
    owner_id: str,
    webhook_base_url: str,
    context: LambdaContextLike,
    services: Services,
) -> Agent:
    refuse_while_paused(services)
    limit = services.settings.agent_limit_per_owner
    # Check-then-create: concurrent creates of one owner can each pass (see the decision log).
    if services.store.count_holding(owner_id, up_to=limit) >= limit:
        logger.warning("agent quota reached", owner_id=owner_id, limit=limit)
        raise QuotaExceeded(limit)
    return provision_agent(
        request,
        owner_id=owner_id,
        webhook_base_url=webhook_base_url,
        services=services,
        remaining_ms=context.get_remaining_time_in_millis,
        worker=runtime.WORKER_ID,
    )


def activation_unknown(failure: ProvisioningFailed) -> bool:
    """The final write may or may not have made the agent active."""
    cause = failure.cause
    return failure.step == "activate" and isinstance(cause, StoreError) and cause.outcome_unknown


def create_agent(
    request: CreateAgentRequest,
    *,
    owner_id: str,
    idempotency_key: str | None,
    request_base_url: str,
    context: LambdaContextLike,
    services: Services,
) -> Agent:
    """Provision an agent. With an Idempotency-Key, a replay answers from the agent the first
    request made and never provisions twice; WEBHOOK_BASE_URL wins over the request's base URL.
    Routing settings that cannot work together, and a voice outside ALLOWED_VOICE_IDS, are refused
    first (InvalidRequest, a 400 naming the field): nothing is counted, bought or keyed; so is a
    country and numberType this deployment does not offer (``numbers.with_offered_number``)."""
    refuse_unusable(request.model_dump())
    refuse_unlisted_voice(request.voiceId, services.settings)
    request = with_offered_number(request, services.settings)
    webhook_base_url = services.settings.webhook_base_url or request_base_url
    if idempotency_key is None:
        return _provision(request, owner_id, webhook_base_url, context, services)
    idempotency_config.register_lambda_context(context)  # type: ignore[arg-type]
    command = CreateCommand(ownerId=owner_id, idempotencyKey=idempotency_key, request=request)
    first_run = _FirstRun()
    with answered_as_domain_errors(reused="a different request body"):
        outcome: CreateOutcome = _provision_once(
            command=command,
            webhook_base_url=webhook_base_url,
            context=context,
            services=services,
            first_run=first_run,
        )
    if first_run.failure is not None:
        raise first_run.failure
    if first_run.agent is not None:
        return first_run.agent
    return _replayed(outcome.agentId, owner_id, services)


def _replayed(agent_id: str, owner_id: str, services: Services) -> Agent:
    """The answer to a replayed key: what became of the agent the first request made."""
    record = owned_record(services.store, agent_id, owner_id, deleted=True)
    status = record.status
    if status == DELETED:
        raise AgentDeleted(f"the agent {agent_id} this Idempotency-Key created has since been deleted")
    if status == AgentStatus.PROVISIONING.value:
        raise RequestInProgress(
            "the agent this Idempotency-Key created is still being settled; retry shortly"
        )
    if status == AgentStatus.FAILED.value:
        failure = record.failure or {}
        raise ProvisioningFailed(
            agent_id,
            str(failure.get("step") or "unknown"),
            DomainError(str(failure.get("message") or "failed")),
            cleanup_pending=list(record.cleanup_pending or []),
        )
    return Agent.from_record(record, services.settings.default_pair)
