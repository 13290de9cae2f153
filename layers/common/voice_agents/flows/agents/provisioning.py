"""The create-agent saga: the purchase counted, journal first, two concurrent chains, compensation on
any failure.

    reserve purchase → journal ─┬─ Retell: create LLM (+ tool) → check LLM → create agent ─┬─ activate
                                └─ Twilio: search numbers → buy (webhook, fallback preset) ─┘
    any failure → the other chain stops at its next step boundary → remove what exists → failed

Every created id is written to the record the moment it exists, and the record carries a deadline
and a lease until then: if this process dies, the reconciler finishes the job from the record.
The purchase is reserved against the owner's budget before anything is written or bought
(``spending.reserve_purchase``: over the budget, a 429 and nothing else happens); it is given back only
by a create that failed before its first buy request, so a number bought and rolled back still counts.

The function's time is split when it starts (``TimeBudget``): the steps run until the work window
closes, every provider call's timeout cut to it; the rollback has the window after it, its removals
cut the same way; the answer margin is left for the last write and the answer. So a create answers
before the function's timeout however slow the providers are, with whatever it could not remove
listed as pending for the reconciler.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, TypeVar

from bson import ObjectId

from voice_agents.core.clock import now
from voice_agents.core.errors import (
    DomainError,
    NumberUnavailable,
    ProvisioningFailed,
    StoreError,
    UpstreamBadResponse,
    UpstreamTimeout,
)
from voice_agents.core.observability import count, logger
from voice_agents.core.retry import TimeBudget, finish_by
from voice_agents.core.statuses import AgentStatus
from voice_agents.core.tags import retell_agent_name, retell_webhook_url, tag_for, webhook_url
from voice_agents.data.agent_record import NUMBER, RETELL_AGENT, RETELL_LLM, AgentRecord
from voice_agents.data.deployment import ensure_marker
from voice_agents.flows.agents.cleanup import AgentResources, remove_resources
from voice_agents.flows.agents.retell_fields import llm_tools, post_call_analysis_data
from voice_agents.flows.agents.routing import number_fallback_url
from voice_agents.flows.agents.spending import release_purchase, reserve_purchase
from voice_agents.flows.agents.steps import (
    LEASE_GRACE,
    PROVIDER_STEP_MS,
    STORE_STEP_MS,
    StepFailed,
    as_answered,
    outcome_unknown,
    run_step,
)
from voice_agents.models.agents import Agent, CreateAgentRequest

if TYPE_CHECKING:
    from voice_agents.providers.twilio import OwnedNumber
    from voice_agents.runtime import Services

T = TypeVar("T")

# Share of the function's time (before the answer margin) kept for rolling back: as much as the
# steps had, so a rollback fits when the providers are as slow as they were while creating.
ROLLBACK_SHARE = 0.5
# Retell numbers a new agent's first version 0.
INITIAL_AGENT_VERSION = 0


class _Cancelled(Exception):
    """The other chain failed: this one stops at its next step boundary."""


def provision_agent(
    request: CreateAgentRequest,
    *,
    owner_id: str,
    webhook_base_url: str,
    services: Services,
    remaining_ms: Callable[[], int],
    worker: str,
) -> Agent:
    """Create the Retell LLM and agent and buy the number; return the active agent or raise
    ProvisioningFailed after rolling back (or handing the rollback to the reconciler)."""
    budget = TimeBudget.split(remaining_ms(), rollback_share=ROLLBACK_SHARE)
    return _Saga(request, owner_id, webhook_base_url, services, budget, worker).run()


@dataclass
class _Saga:
    request: CreateAgentRequest
    owner_id: str
    webhook_base_url: str
    services: Services
    budget: TimeBudget
    worker: str

    def __post_init__(self) -> None:
        self.agent_id = ObjectId()
        self.tag = tag_for(self.services.settings.resource_tag, self.agent_id)
        self.webhook_url = webhook_url(self.webhook_base_url, self.agent_id)
        # Where Twilio sends a call when the webhook fails: the request's fallback, without us.
        self.fallback_url = number_fallback_url(
            self.webhook_base_url, self.agent_id, self.request.model_dump()
        )
        self.resources = AgentResources(tag=self.tag)
        # The pair was checked and filled in before the saga (flows.agents.numbers).
        country, number_type = self.request.country, self.request.numberType
        assert country is not None
        assert number_type is not None
        self.order = self.services.settings.number_order(country, number_type)
        self.number: OwnedNumber | None = None
        self.purchase_started = False  # a number may have been bought from the first buy request on
        self.cancelled = threading.Event()
        self.failure: StepFailed | None = None
        self._lock = threading.Lock()

    def run(self) -> Agent:
        logger.append_keys(agent_id=str(self.agent_id))
        # Counted before anything is written or bought: a refusal leaves nothing behind, and a crash
        # from here on leaves the purchase counted.
        reserve_purchase(self.services, self.owner_id, self.agent_id)
        try:
            return self._provision()
        except ProvisioningFailed:
            if not self.purchase_started:
                release_purchase(self.services, self.agent_id)
            raise

    def _provision(self) -> Agent:
        self._journal()
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="saga") as chains:
            # Twilio first: the purchase makes it the longer chain, so it sets the critical path.
            chains_done = [
                chains.submit(self._chain, self._twilio_chain),
                chains.submit(self._chain, self._retell_chain),
            ]
            for future in chains_done:
                future.result()
        if self.failure is None:
            try:
                return self._activate()
            except StepFailed as failure:
                self.failure = failure
        return self._compensate(self.failure)

    # --- steps --------------------------------------------------------------------------------

    def _journal(self) -> None:
        created = now()
        deadline = created + timedelta(milliseconds=self.budget.remaining_ms())
        try:
            self.budget.ensure("journal", STORE_STEP_MS)
            store = self.services.store
            ensure_marker(store, self.services.settings.resource_tag)  # refuses another deployment's database
            # The record is its own lease (``leaseOwner``/``leaseUntil``, written with it): nobody can
            # hold a lease on an id that no record had, and claims skip a record whose lease is held.
            store.journal(
                self.agent_id,
                owner_id=self.owner_id,
                request=self.request.model_dump(),
                tag=self.tag,
                webhook_url=self.webhook_url,
                fallback_url=self.fallback_url,
                deadline=deadline,
                lease_until=deadline + LEASE_GRACE,
                worker=self.worker,
                created=created,
            )
        except DomainError as exc:
            count("ProvisioningFailures", step="journal")
            raise ProvisioningFailed(str(self.agent_id), "journal", exc) from exc
        logger.info("provisioning started", owner_id=self.owner_id, deadline=deadline.isoformat())

    def _retell_chain(self) -> None:
        retell, store, request = self.services.retell, self.services.store, self.request
        llm_id = self._step(
            "create_llm",
            PROVIDER_STEP_MS,
            lambda: retell.create_llm(
                prompt=request.prompt,
                begin_message=request.beginMessage,
                tag=self.tag,
                tools=llm_tools(request.transferNumber, self.webhook_base_url),
            ),
            unknown_outcome=RETELL_LLM,
        )
        self.resources.retell_llm_id = llm_id
        self._step(
            "record_llm", STORE_STEP_MS, lambda: store.record_resource(self.agent_id, RETELL_LLM, llm_id)
        )
        self._step("check_llm", PROVIDER_STEP_MS, lambda: retell.get_llm(llm_id))
        agent_id = self._step(
            "create_agent",
            PROVIDER_STEP_MS,
            lambda: retell.create_agent(
                llm_id=llm_id,
                voice_id=request.voiceId,
                language=request.language,
                agent_name=retell_agent_name(self.tag, request.name),
                webhook_url=retell_webhook_url(self.webhook_base_url),
                post_call_analysis_data=post_call_analysis_data(
                    field.model_dump() for field in request.postCallFields
                ),
            ),
            unknown_outcome=RETELL_AGENT,
        )
        self.resources.retell_agent_id = agent_id
        self._step(
            "record_agent",
            STORE_STEP_MS,
            lambda: store.record_resource(self.agent_id, RETELL_AGENT, agent_id),
        )
        # Calls are pinned to a published version (the record's retellAgentVersion), so that an
        # update's draft never reaches a caller before the record says so (voice_agents.flows.agents.update).
        self._step(
            "publish_agent_version",
            PROVIDER_STEP_MS,
            lambda: retell.publish_agent_version(agent_id, INITIAL_AGENT_VERSION),
        )

    def _twilio_chain(self) -> None:
        twilio, store = self.services.twilio, self.services.store
        candidates = self._step("search_numbers", PROVIDER_STEP_MS, lambda: twilio.search(self.order))
        number = None
        for candidate in candidates:
            try:
                number = self._step("buy_number", PROVIDER_STEP_MS, functools.partial(self._buy, candidate))
                break
            except StepFailed as failure:
                if not isinstance(failure.cause, NumberUnavailable) or candidate == candidates[-1]:
                    raise
                logger.info("number taken meanwhile, trying the next candidate", phone_number=candidate)
        assert number is not None
        self.number = number
        self.resources.number_sid = number.sid
        self._step(
            "record_number",
            STORE_STEP_MS,
            lambda: store.record_resource(
                self.agent_id, NUMBER, number.sid, phone_number=number.phone_number
            ),
        )

    def _buy(self, phone_number: str) -> OwnedNumber:
        twilio = self.services.twilio
        self.purchase_started = True
        try:
            return twilio.buy(
                phone_number,
                order=self.order,
                voice_url=self.webhook_url,
                tag=self.tag,
                fallback_url=self.fallback_url,
            )
        except (UpstreamTimeout, UpstreamBadResponse):
            # The purchase may have gone through: the tag (FriendlyName) tells.
            found = twilio.find_by_tag(self.tag)
            if not found:
                raise
            logger.info(
                "purchase response was lost; found the number by its tag", phone_number=found[0].phone_number
            )
            return found[0]

    def _activate(self) -> Agent:
        store = self.services.store
        assert self.number is not None
        number = self.number

        def activate() -> AgentRecord:
            try:
                record = store.activate(
                    self.agent_id,
                    self.worker,
                    phone_number=number.phone_number,
                    number_sid=number.sid,
                    retell_llm_id=self.resources.retell_llm_id,
                    retell_agent_id=self.resources.retell_agent_id,
                    retell_agent_version=INITIAL_AGENT_VERSION,
                )
            except StoreError as exc:
                if not exc.outcome_unknown:
                    raise
                record = self._settle_unknown_activation()
            if record is None:
                raise StoreError("the record changed under this request (lease lost)")
            return record

        record = self._step("activate", STORE_STEP_MS, activate, check_cancel=False)
        count("AgentsCreated")
        logger.info("agent active", phone_number=number.phone_number)
        return Agent.from_record(record, self.services.settings.default_pair)

    def _settle_unknown_activation(self) -> AgentRecord:
        """The activation write may or may not have landed (or may still land). Fence it: move
        the lease to a name the pending write does not expect. If the fence applies, the write
        never will, and rolling back is safe; if not, the record says what happened."""
        store = self.services.store
        if store.fence_activation(self.agent_id, self.worker):
            raise StoreError("the activation did not apply")
        record = store.get_record(self.agent_id)
        if record is not None and record.status == AgentStatus.ACTIVE.value:
            logger.info("activation reply was lost, but the record is active")
            return record
        raise StoreError("cannot tell whether the activation applied", outcome_unknown=True)

    # --- machinery ----------------------------------------------------------------------------

    def _step(
        self,
        name: str,
        needs_ms: int,
        action: Callable[[], T],
        *,
        unknown_outcome: str | None = None,
        check_cancel: bool = True,
    ) -> T:
        if check_cancel and self.cancelled.is_set():
            raise _Cancelled(name)
        try:
            return run_step(self.budget, name, needs_ms, action)
        except StepFailed as failure:
            if unknown_outcome and outcome_unknown(failure.cause):
                self._remember_unknown(unknown_outcome)
            raise

    def _chain(self, chain: Callable[[], None]) -> None:
        try:
            chain()
        except _Cancelled as cancelled:
            logger.info("chain stopped because the other chain failed", before_step=str(cancelled))
        except StepFailed as failure:
            with self._lock:
                if self.failure is None:
                    self.failure = failure
            self.cancelled.set()

    def _remember_unknown(self, resource: str) -> None:
        self.resources.unknown.add(resource)
        try:  # best effort: the reconciler's sweep finds tagged leftovers even without this
            self.services.store.record_unknown_outcomes(self.agent_id, sorted(self.resources.unknown))
        except StoreError:
            logger.warning("could not journal an unknown outcome", resource=resource)

    def _compensate(self, failure: StepFailed | None) -> Agent:
        assert failure is not None
        step, cause = failure.step, as_answered(failure, self.budget)
        count("ProvisioningFailures", step=step)
        logger.warning(
            "provisioning failed, rolling back", step=step, error=str(cause), error_type=type(cause).__name__
        )
        if step == "activate" and isinstance(cause, StoreError) and cause.outcome_unknown:
            # Neither the write nor the read-back answered: the record may be active, so
            # removing its resources could break a working agent. The reconciler settles it.
            raise ProvisioningFailed(
                str(self.agent_id), step, cause, cleanup_pending=[NUMBER, RETELL_AGENT, RETELL_LLM]
            )
        with finish_by(self.budget.answer_by):
            pending = remove_resources(
                self.resources, self.services.retell, self.services.twilio, reason="provisioning_failed"
            )
        try:
            self.services.store.mark_failed(
                self.agent_id, step=step, message=str(cause)[:500], pending=pending
            )
        except StoreError:
            # The record stays 'provisioning' with its deadline: the reconciler redoes the
            # (idempotent) removal and marks it failed.
            logger.warning("could not mark the record failed; the reconciler will")
        raise ProvisioningFailed(str(self.agent_id), step, cause, cleanup_pending=pending)
