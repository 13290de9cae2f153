"""Delete an agent: journal 'deleting', release the number first (it is what bills), delete the
Retell agent and LLM, then soft-delete the record. Safe to repeat at any point; what fails is left
on the record for the reconciler and reported as pending. The removals get the function's time
less the answer margin, each call's timeout cut to it: a removal that does not fit is skipped and
left pending, so the answer (202) always comes before the function's timeout."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from bson import ObjectId

from voice_agents.core.clock import object_id
from voice_agents.core.errors import AgentNotFound, RequestInProgress
from voice_agents.core.observability import count, logger
from voice_agents.core.retry import TimeBudget, finish_by
from voice_agents.core.statuses import AgentStatus
from voice_agents.data.agent_record import DELETED, AgentRecord
from voice_agents.flows.agents.cleanup import AgentResources, remove_resources
from voice_agents.models.agents import DeleteOutcome

if TYPE_CHECKING:
    from voice_agents.runtime import Services

DELETE_LEASE = timedelta(seconds=60)
# When a removal fails, the reconciler retries after this pause rather than at once.
RETRY_AFTER = timedelta(minutes=1)


def delete_agent(
    agent_id: str,
    *,
    owner_id: str,
    services: Services,
    worker: str,
    remaining_ms: Callable[[], int] | None = None,
) -> DeleteOutcome:
    """``remaining_ms`` (the Lambda context's) bounds the removals; without it they are unbounded."""
    budget = TimeBudget.split(remaining_ms()) if remaining_ms else None
    store = services.store
    oid = object_id(agent_id)
    if oid is None:
        raise AgentNotFound(f"agent {agent_id} not found")
    current = store.get_record(oid)
    if current is None or current.owner_id != owner_id:
        raise AgentNotFound(f"agent {agent_id} not found")
    if current.status == DELETED:
        return DeleteOutcome(id=agent_id, status="deleted")
    if current.status == AgentStatus.PROVISIONING.value:
        raise RequestInProgress("the agent is still being created; delete it once it is active or failed")

    # Journal first: from here on, a crash leaves a 'deleting' record the reconciler finishes.
    claimed = store.begin_delete(
        oid, owner_id, worker=worker, lease=DELETE_LEASE, statuses=[s.value for s in _DELETABLE]
    )
    if claimed is None:
        return _busy(agent_id, oid, services)

    logger.append_keys(agent_id=agent_id)
    logger.info("deleting agent", previous_status=current.status)
    with finish_by(budget.answer_by if budget else None):
        pending = remove_resources(
            AgentResources.from_record(claimed, prefix=services.settings.resource_tag),
            services.retell,
            services.twilio,
            reason="deleted",
        )
    outcome = finish_deletion(claimed, pending, services, worker)
    count("AgentsDeleted" if outcome.status == "deleted" else "DeletionsPending")
    return outcome


def finish_deletion(
    record: AgentRecord, pending: list[str], services: Services, worker: str
) -> DeleteOutcome:
    """Soft-delete the record when nothing is pending, else leave it 'deleting' for the reconciler."""
    agent_id = str(record.id)
    if pending:
        services.store.leave_pending(record.id, worker, pending, retry_after=RETRY_AFTER)
        logger.warning("deletion incomplete; the reconciler will finish it", pending=pending)
        return DeleteOutcome(id=agent_id, status="deleting", pending=pending)
    services.store.soft_delete(record.id, worker)
    logger.info("agent deleted")
    return DeleteOutcome(id=agent_id, status="deleted")


_DELETABLE = (AgentStatus.ACTIVE, AgentStatus.FAILED, AgentStatus.DELETING)


def _busy(agent_id: str, oid: ObjectId, services: Services) -> DeleteOutcome:
    """Someone else (the reconciler, a concurrent delete) holds the record: report, do not wait."""
    record = services.store.get_record(oid)
    status = record.status if record else None
    if status == DELETED:
        return DeleteOutcome(id=agent_id, status="deleted")
    if status == AgentStatus.DELETING.value:
        assert record is not None
        return DeleteOutcome(
            id=agent_id, status="deleting", pending=list(record.cleanup_pending or ["in progress"])
        )
    raise RequestInProgress(
        "the agent is being updated or repaired right now; retry the delete in a few seconds"
    )
