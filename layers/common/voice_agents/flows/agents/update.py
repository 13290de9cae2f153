"""Updating an agent in place (``PATCH /api/agents/{agentId}``), and the reconciler's repair of an
update that did not finish. Imported only by the update function and the reconciler.

Calls run the Retell agent version the record names (``retellAgentVersion``, published); a change
is made on a new draft and becomes live in the record's commit, so the API and the calls switch
together, and a half-made change never reaches a caller:

    journal pendingUpdate (lease) → [pin_version] → create_draft M → record_draft
        → update_llm ?version=M → update_agent ?version=M → publish M → commit (fields, version M)
    any failure before the commit → delete draft M, drop pendingUpdate → 5xx naming the step
    a lost reply → read M back: published means the change is complete → commit
    the process dies, or the undo fails → the reconciler settles it the same way (``settle_update``)

Only the fields that change are sent: Retell mints a draft for unchanged fields too. A change that
touches nothing on Retell (the routing settings but for adding or clearing ``transferNumber``, which
adds or removes the LLM's transfer tool) makes no version: it is journaled and committed the same way,
at the pinned version (journal → commit; a process that dies between them leaves no draft, so the
reconciler drops the journal). The routing settings as they would become are checked first
(``routing.refuse_unusable``): an unusable combination is a 400 and nothing is journaled.

The phone number, its webhook and the Retell ids never change. The number's VoiceFallbackUrl follows
``transferNumber`` and ``fallback``: re-pointed after the commit, best effort (a failure is counted as
``FallbackUrlRepairPending`` and the reconciler's sweep repairs it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools.utilities.idempotency import idempotent_function
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from pydantic import BaseModel

from voice_agents import runtime
from voice_agents.core.errors import (
    AgentNotActive,
    ConfigurationError,
    DomainError,
    PreconditionFailed,
    RequestInProgress,
    StoreError,
    UpdateFailed,
    UpstreamBadResponse,
    UpstreamNotFound,
)
from voice_agents.core.observability import count, logger
from voice_agents.core.retry import TimeBudget, finish_by
from voice_agents.core.statuses import AgentStatus
from voice_agents.core.tags import tag_for
from voice_agents.data.agent_record import NUMBER, RETELL_AGENT, RETELL_LLM, AgentRecord
from voice_agents.flows.agents.idempotent import (
    LambdaContextLike,
    answered_as_domain_errors,
    keyed_per_owner,
    persistence,
)
from voice_agents.flows.agents.reads import owned_record
from voice_agents.flows.agents.retell_fields import needs_base_url, retell_changes
from voice_agents.flows.agents.routing import (
    FALLBACK_FIELDS,
    expected_fallback_url,
    record_base_url,
    refuse_unusable,
    settings_after,
    touches_routing,
)
from voice_agents.flows.agents.steps import (
    LEASE_GRACE,
    PROVIDER_STEP_MS,
    STORE_STEP_MS,
    StepFailed,
    as_answered,
    outcome_unknown,
    run_step,
)
from voice_agents.flows.agents.voices import refuse_unlisted_voice
from voice_agents.models.agents import UpdateAgentRequest, VersionedAgent

if TYPE_CHECKING:
    from voice_agents.providers.retell import RetellClient
    from voice_agents.runtime import Services

T = TypeVar("T")

# Share of the function's time kept for undoing a failed update (deleting the draft, one write).
UNDO_SHARE = 0.3
# Journaled (``pendingUpdate``) by an update that makes no Retell version: it has no draft to find.
NO_RETELL_VERSION = "noRetellVersion"


# --- the request -------------------------------------------------------------------------------


class UpdateCommand(BaseModel):
    """What an Idempotency-Key covers: per owner; the agent and the change must match on replay."""

    ownerId: str
    idempotencyKey: str
    agentId: str
    changes: dict[str, Any]


class UpdateOutcome(BaseModel):
    """What the key keeps: the agent's id. A replay answers from the record as it is now."""

    agentId: str


idempotency_config = keyed_per_owner(validated_on="[agentId, changes]")


def update_agent(
    agent_id: str,
    request: UpdateAgentRequest,
    *,
    owner_id: str,
    if_match: str | None,
    idempotency_key: str | None,
    context: LambdaContextLike,
    services: Services,
) -> VersionedAgent:
    """Apply ``request`` to the agent; with an Idempotency-Key a replay answers the agent as it is
    now and changes nothing. A voice outside ALLOWED_VOICE_IDS is refused first (a 400), as create
    refuses it."""
    refuse_unlisted_voice(request.voiceId, services.settings)
    if idempotency_key is None:
        return _update(
            agent_id, request, owner_id=owner_id, if_match=if_match, context=context, services=services
        )
    idempotency_config.register_lambda_context(context)  # type: ignore[arg-type]
    command = UpdateCommand(
        ownerId=owner_id, idempotencyKey=idempotency_key, agentId=agent_id, changes=request.changes()
    )
    first_run: list[VersionedAgent] = []
    with answered_as_domain_errors(reused="a different agent or request body"):
        _update_once(
            command=command,
            request=request,
            if_match=if_match,
            context=context,
            services=services,
            first_run=first_run,
        )
    if first_run:
        return first_run[0]
    record = owned_record(services.store, agent_id, owner_id)
    return VersionedAgent.from_record(record, services.settings.default_pair)


@idempotent_function(
    data_keyword_argument="command",
    persistence_store=persistence(),
    config=idempotency_config,
    output_serializer=PydanticSerializer(UpdateOutcome),
)
def _update_once(
    command: UpdateCommand,
    *,
    request: UpdateAgentRequest,
    if_match: str | None,
    context: LambdaContextLike,
    services: Services,
    first_run: list[VersionedAgent],
) -> UpdateOutcome:
    # A failure raises: the key is released and a retry runs afresh.
    first_run.append(
        _update(
            command.agentId,
            request,
            owner_id=command.ownerId,
            if_match=if_match,
            context=context,
            services=services,
        )
    )
    return UpdateOutcome(agentId=command.agentId)


def _update(
    agent_id: str,
    request: UpdateAgentRequest,
    *,
    owner_id: str,
    if_match: str | None,
    context: LambdaContextLike,
    services: Services,
) -> VersionedAgent:
    record = owned_record(services.store, agent_id, owner_id)
    _check_preconditions(record, if_match)
    changes = record.differs(request.changes())
    if not changes:
        # nothing changes: no draft, no new version
        return VersionedAgent.from_record(record, services.settings.default_pair)
    if touches_routing(changes):
        refuse_unusable(settings_after(record, changes))
    retell = plan_retell_changes(record, changes, services)
    budget = TimeBudget.split(context.get_remaining_time_in_millis(), rollback_share=UNDO_SHARE)
    lease = timedelta(milliseconds=budget.remaining_ms()) + LEASE_GRACE
    worker = runtime.WORKER_ID
    claimed = services.store.begin_update(
        record.id,
        owner_id,
        revision=record.revision,
        worker=worker,
        lease=lease,
        pending={"changes": changes, **({} if any(retell) else {NO_RETELL_VERSION: True})},
    )
    if claimed is None:
        # Changed since the read above: answer why, as if it had been read now.
        _check_preconditions(owned_record(services.store, agent_id, owner_id), if_match)
        raise RequestInProgress("the agent is being updated or repaired right now")
    logger.append_keys(agent_id=agent_id)
    logger.info("updating agent", fields=sorted(changes), new_retell_version=any(retell))
    return _Update(claimed, changes, services, budget, worker, *retell).run()


def plan_retell_changes(
    record: AgentRecord, changes: dict[str, Any], services: Services
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What ``changes`` change on the Retell LLM and on the Retell agent (both empty: no version is
    made). Raises before anything is journaled when the transfer tool's URL has no base to be built
    on (a record whose webhook URL is not ours, and no WEBHOOK_BASE_URL)."""
    had_transfer = record.routing.transfer_number is not None
    base = record_base_url(record, services.settings.webhook_base_url)
    if base is None and needs_base_url(changes, had_transfer=had_transfer):
        raise ConfigurationError(
            "the transfer tool's URL needs WEBHOOK_BASE_URL: the agent's webhook URL names no base",
            "WEBHOOK_BASE_URL",
        )
    tag = record.tag or tag_for(services.settings.resource_tag, record.id)
    return retell_changes(tag, changes, had_transfer=had_transfer, base_url=base)


def _check_preconditions(record: AgentRecord, if_match: str | None) -> None:
    if record.status != AgentStatus.ACTIVE.value:
        raise AgentNotActive(str(record.status))
    if if_match is not None and not _matches(if_match, record.entity_tag):
        raise PreconditionFailed(record.entity_tag)
    if record.pending_update is not None:
        raise RequestInProgress("an earlier update of this agent is still being applied")


def _matches(if_match: str, etag: str) -> bool:
    """RFC 9110 If-Match: ``*`` or a list of tags (an unquoted one taken as quoted); a weak tag
    (W/) never matches."""
    tags = [tag.strip() for tag in if_match.split(",")]
    quoted = [tag if tag.startswith(('"', "W/")) else f'"{tag}"' for tag in tags]
    return "*" in tags or etag in quoted


@dataclass
class _Update:
    record: AgentRecord
    changes: dict[str, Any]
    services: Services
    budget: TimeBudget
    worker: str
    # ``plan_retell_changes``: what changes on the Retell LLM and agent (neither: no new version).
    llm_changes: dict[str, Any] = field(default_factory=dict)
    agent_changes: dict[str, Any] = field(default_factory=dict)

    def run(self) -> VersionedAgent:
        try:
            committed = self._apply() if self.llm_changes or self.agent_changes else self._commit_only()
        except StepFailed as failure:
            committed = self._recover(failure)
        if any(name in self.changes for name in FALLBACK_FIELDS):
            self._repoint_fallback(committed)
        return VersionedAgent.from_record(committed, self.services.settings.default_pair)

    def _commit(self, *, version: int | None) -> AgentRecord:
        """The switch: the record shows the change and calls run ``version`` (None: the pinned one)."""
        committed = self._step(
            "commit",
            STORE_STEP_MS,
            lambda: self.services.store.commit_update(
                self.record, self.worker, changes=self.changes, version=version
            ),
        )
        if committed is None:
            raise StepFailed("commit", StoreError("the record's lease was lost before the commit"))
        count("AgentsUpdated")
        return committed

    def _commit_only(self) -> AgentRecord:
        """A change Retell does not hold: committed at the pinned version, under the same lease."""
        record = self.record
        committed = self._commit(version=None)
        logger.info(
            "agent updated; no Retell version needed", retell_agent_version=record.retell_agent_version
        )
        return committed

    def _repoint_fallback(self, committed: AgentRecord) -> None:
        """Point the number's VoiceFallbackUrl where the committed settings send a caller, best
        effort: the change is committed whatever happens here, and the sweep repairs a number left
        behind (``FallbackUrlRepairPending`` counts them)."""
        expected = expected_fallback_url(committed, self.services.settings.webhook_base_url)
        sid = committed.resource_id(NUMBER)
        if expected is None or sid is None or committed.fallback_url == expected:
            return
        try:
            self.budget.ensure("repoint_fallback", PROVIDER_STEP_MS)
            with finish_by(self.budget.answer_by):
                self.services.twilio.configure_fallback(sid, expected)
                self.services.store.record_fallback_url(committed.id, expected, revision=committed.revision)
        except DomainError as exc:
            count("FallbackUrlRepairPending")
            logger.warning(
                "could not re-point the number's fallback URL; the reconciler will",
                error=str(exc),
                error_type=type(exc).__name__,
            )
            return
        logger.info("number's fallback URL re-pointed", fallback_url=expected)

    def _apply(self) -> AgentRecord:
        retell, store, record = self.services.retell, self.services.store, self.record
        agent_id = str(record.stored_resource_id(RETELL_AGENT))
        base = record.retell_agent_version
        if base is None:
            base = self._step(
                "pin_version",
                PROVIDER_STEP_MS,
                lambda: pin_current_version(record, self.services, self.worker),
            )
        draft = self._step(
            "create_draft", PROVIDER_STEP_MS, lambda: retell.create_agent_version(agent_id, base_version=base)
        )
        self._step(
            "record_draft", STORE_STEP_MS, lambda: store.record_update_draft(record.id, self.worker, draft)
        )
        llm_changes, agent_changes = self.llm_changes, self.agent_changes
        if llm_changes:
            llm_id = str(record.stored_resource_id(RETELL_LLM))
            self._step(
                "update_llm",
                PROVIDER_STEP_MS,
                lambda: retell.update_llm(llm_id, version=draft, changes=llm_changes),
            )
        if agent_changes:
            self._step(
                "update_agent",
                PROVIDER_STEP_MS,
                lambda: retell.update_agent(agent_id, version=draft, changes=agent_changes),
            )
        self._step("publish", PROVIDER_STEP_MS, lambda: retell.publish_agent_version(agent_id, draft))
        committed = self._commit(version=draft)
        logger.info("agent updated", retell_agent_version=draft)
        return committed

    def _recover(self, failure: StepFailed) -> AgentRecord:
        """Undo the draft, or finish the change when it was in fact published (a lost reply)."""
        step, cause = failure.step, as_answered(failure, self.budget)
        count("UpdateFailures", step=step)
        logger.warning("update failed", step=step, error=str(cause), error_type=type(cause).__name__)
        if step == "commit" or (step == "create_draft" and outcome_unknown(failure.cause)):
            # At the commit the draft is published and only the record is behind. A draft whose
            # creation went unanswered may still appear: it is looked for once this request's lease
            # has lapsed. Either way the reconciler settles it.
            raise UpdateFailed(str(self.record.id), step, cause, pending=True)
        try:
            with finish_by(self.budget.answer_by):
                record = self.services.store.get_record(self.record.id)
                if record is None or record.pending_update is None:
                    raise StoreError("the update's journal is gone")
                committed = settle_update(record, self.services, self.worker)
        except Exception as undo_error:
            logger.warning("could not settle the update; the reconciler will", error=str(undo_error))
            try:
                self.services.store.leave_update_pending(self.record.id, self.worker)
            except StoreError:
                logger.warning("could not hand the update over; its lease expires instead")
            raise UpdateFailed(str(self.record.id), step, cause, pending=True) from undo_error
        if committed is not None:
            logger.info("the change was published although its reply was lost; committed", step=step)
            return committed
        raise UpdateFailed(str(self.record.id), step, cause)

    def _step(self, name: str, needs_ms: int, action: Callable[[], T]) -> T:
        return run_step(self.budget, name, needs_ms, action, failures=DomainError)


# --- shared by the request and the reconciler -----------------------------------------------------


def pin_current_version(record: AgentRecord, services: Services, worker: str) -> int:
    """A record from before versions were pinned: publish the version its calls run now (the
    latest), and pin the record to it, before any draft exists that calls could pick up."""
    retell = services.retell
    agent_id = str(record.stored_resource_id(RETELL_AGENT))
    current = retell.get_agent(agent_id)
    version = _version_number(current)
    if not current.get("is_published"):
        retell.publish_agent_version(agent_id, version)
    services.store.record_agent_version(record.id, worker, version)
    return version


def settle_update(record: AgentRecord, services: Services, worker: str) -> AgentRecord | None:
    """Finish or undo the update ``record`` journals (under ``worker``'s lease): commit it when its
    draft was published, else delete the draft and drop the journal. The committed record, or None
    when undone."""
    pending = record.pending_update or {}
    stored = pending.get("changes")
    changes: dict[str, Any] = stored if isinstance(stored, dict) else {}
    if pending.get(NO_RETELL_VERSION) is True:
        # Only the commit could have applied it, and a commit drops the journal: nothing to undo.
        services.store.abandon_update(record.id, worker)
        return None
    draft = _find_draft(services.retell, record, pending)
    if draft is not None and draft.get("is_published"):
        committed = services.store.commit_update(
            record, worker, changes=changes, version=_version_number(draft)
        )
        if committed is None:
            raise StoreError("the record's lease was lost before the commit")
        return committed
    if draft is not None:
        services.retell.delete_agent_version(
            str(record.stored_resource_id(RETELL_AGENT)), _version_number(draft)
        )
    services.store.abandon_update(record.id, worker)
    return None


def repoint_call_events(
    record: AgentRecord, url: str, services: Services, worker: str, remaining_ms: int
) -> bool:
    """The reconciler's repair of a Retell agent whose call-events URL (``webhook_url``) drifted, or
    that predates it: the same versioned update as a request's, so calls switch with the record. False
    when the record changed since it was read (the next run looks again)."""
    changes = {"retellWebhookUrl": url}
    retell = plan_retell_changes(record, changes, services)
    budget = TimeBudget.split(remaining_ms, rollback_share=UNDO_SHARE)
    claimed = services.store.begin_update(
        record.id,
        str(record.owner_id),
        revision=record.revision,
        worker=worker,
        lease=timedelta(milliseconds=budget.remaining_ms()) + LEASE_GRACE,
        pending={"changes": changes},
    )
    if claimed is None:
        return False
    _Update(claimed, changes, services, budget, worker, *retell).run()
    return True


def repair_update(record: AgentRecord, services: Services, worker: str) -> str:
    """The reconciler's repair of an update whose request died or could not undo it."""
    committed = settle_update(record, services, worker)
    logger.info("unfinished update settled", outcome="committed" if committed else "undone")
    return "update_committed" if committed else "update_undone"


def _find_draft(retell: RetellClient, record: AgentRecord, pending: dict[str, Any]) -> dict[str, Any] | None:
    """The update's draft: the journaled version, else (its number was never journaled) the
    latest version when it is newer than the pinned one and unpublished. While the update holds
    the lease nothing else makes versions of this agent."""
    agent_id = str(record.stored_resource_id(RETELL_AGENT))
    journaled = pending.get("draftVersion")
    if isinstance(journaled, int) and not isinstance(journaled, bool):
        try:
            return retell.get_agent(agent_id, journaled)
        except UpstreamNotFound:
            return None
    base = record.retell_agent_version
    if base is None:
        return None  # died while pinning: no draft was made
    latest = retell.get_agent(agent_id)
    newer = _version_number(latest) > base and not latest.get("is_published")
    return latest if newer else None


def _version_number(agent: dict[str, Any]) -> int:
    version = agent.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise UpstreamBadResponse("retell", "get_agent", "answered an agent without a version")
    return version
