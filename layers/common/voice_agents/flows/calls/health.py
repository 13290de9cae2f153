"""GET /api/webhooks/health: which deployment serves this base URL. No JWT, and nothing secret in the
answer: the deployment's tag prefix (RESOURCE_TAG), which its numbers' FriendlyNames show anyway.
The sweep asks a base URL before it moves any number or Retell agent onto it (``repair.base_check``;
docs/architecture.md, "Repair rules"). It reads the settings and nothing else, so it imports neither
the database driver nor a provider client."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from voice_agents.core.errors import ConfigurationError
from voice_agents.core.observability import logger
from voice_agents.core.settings import Settings
from voice_agents.core.tags import HEALTH_PATH

HEALTH_ROUTE = f"GET {HEALTH_PATH}"
OK = "ok"


def health_response(settings: Callable[[], Settings]) -> dict[str, Any]:
    """The route's whole answer (API Gateway's shape): 200 with this deployment's tag, or 503 when
    its settings cannot be read (such a deployment cannot check a signature either)."""
    try:
        tag = settings().resource_tag
    except ConfigurationError as exc:
        logger.error("health check: the settings cannot be read", setting=exc.setting, error=str(exc))
        return _answer(503, {"status": "misconfigured"})
    return _answer(200, {"status": OK, "resourceTag": tag})


def answered_tag(payload: Any) -> str | None:
    """The tag a health answer names, or None when it is not a healthy deployment's answer."""
    if not isinstance(payload, dict) or payload.get("status") != OK:
        return None
    tag = payload.get("resourceTag")
    return tag if isinstance(tag, str) and tag else None


def _answer(status: int, body: dict[str, str]) -> dict[str, Any]:
    # no-store: a cache in front of a custom domain must never answer for another deployment.
    headers = {"Content-Type": "application/json", "Cache-Control": "no-store"}
    return {"statusCode": status, "headers": headers, "body": json.dumps(body)}
