"""What bounds a create's spending, checked before anything is bought (docs/architecture.md,
"Spending bounds"): the operator's kill switch and the owner's purchase budget; and the switch's
other end, turned on when the spending alarm goes off."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bson import ObjectId

from voice_agents.core.errors import ConfigurationError, CreationPaused, PurchaseLimitReached, StoreError
from voice_agents.core.observability import count, logger

if TYPE_CHECKING:
    from voice_agents.providers.creation_switch import CreationSwitch
    from voice_agents.runtime import Services

ALARM = "ALARM"
# Counted for every create refused while paused: its 503 is on purpose, and Api5xxAlarm subtracts it.
REFUSED_WHILE_PAUSED = "CreatesRefusedWhilePaused"


def refuse_while_paused(services: Services) -> None:
    """CreationPaused while the operator's switch is on (never when there is no switch)."""
    switch = services.creation_switch
    if switch is not None and switch.paused():
        logger.warning("create refused: creating agents is paused", parameter=switch.name)
        count(REFUSED_WHILE_PAUSED)
        raise CreationPaused("creating agents is paused by the operator")


def reserve_purchase(services: Services, owner_id: str, agent_id: ObjectId) -> None:
    """Count this create's purchase against the owner's budget before anything is bought, or raise
    PurchaseLimitReached (nothing stays reserved then)."""
    budget = services.settings.purchase_budget_per_day
    spent = services.store.purchases.reserve(agent_id, owner_id, budget=budget)
    if spent is not None:
        logger.warning(
            "purchase budget reached", owner_id=owner_id, limit=budget, frees_at=spent.frees_at.isoformat()
        )
        raise PurchaseLimitReached(budget, spent.frees_at)


def release_purchase(services: Services, agent_id: ObjectId) -> None:
    """Give back the reservation of a create that failed before it started buying. Best effort: a
    reservation left behind only counts a purchase that was not made, until it leaves the window."""
    try:
        services.store.purchases.release(agent_id)
    except StoreError as exc:
        logger.warning("could not release the purchase reservation; it counts for 24 hours", error=str(exc))


def pause_for_alarm(event: Mapping[str, Any], switch: CreationSwitch | None) -> dict[str, Any]:
    """EventBridge's "CloudWatch Alarm State Change" of the spending alarm: turn creates off when it
    enters ALARM (its other states change nothing; turning creates back on is the operator's)."""
    detail = event.get("detail") or {}
    alarm = detail.get("alarmName")
    state = (detail.get("state") or {}).get("value")
    if state != ALARM:
        logger.info("alarm state change ignored", alarm=alarm, state=state)
        return {"paused": False, "alarm": alarm, "state": state}
    if switch is None:
        raise ConfigurationError(
            "CREATION_PAUSED_PARAMETER is not set: there is no switch to pause creates with",
            "CREATION_PAUSED_PARAMETER",
        )
    switch.set(paused=True)
    count("CreationPaused")
    logger.warning("creating agents paused by the spending alarm", alarm=alarm, parameter=switch.name)
    return {"paused": True, "alarm": alarm, "state": state}
