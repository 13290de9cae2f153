"""Whether a base URL is this deployment's, asked before anything is moved onto it.

Moving a number's VoiceUrl or a Retell agent's call-events URL onto another base sends every caller
there. A mistyped WEBHOOK_BASE_URL, a custom domain not mapped to this API yet, or another
deployment's API would each take the calls: the base must first answer GET /api/webhooks/health with
this deployment's tag (``flows.calls.health``). The tag is not a secret, so this guards against
mistakes, not against whoever controls the deployment's settings."""

from __future__ import annotations

import httpx

from voice_agents.core.observability import external_call
from voice_agents.core.retry import call_timeout
from voice_agents.core.tags import health_url
from voice_agents.flows.calls.health import answered_tag

# Enough for the webhook function's cold start (and its secret read), short enough for a run.
HEALTH_CHECK_TIMEOUT_SECONDS = 5.0


def base_problem(base_url: str, resource_tag: str) -> str | None:
    """Why ``base_url`` cannot be taken for this deployment's, or None when its health route
    answers with ``resource_tag``."""
    url = health_url(base_url)
    timeout = call_timeout(HEALTH_CHECK_TIMEOUT_SECONDS, "webhook_base.health")
    try:
        with external_call("webhook_base", "health"):
            # No redirects: a base that sends elsewhere is not the URL Twilio would sign over.
            answer = httpx.get(url, timeout=timeout, follow_redirects=False)
    except httpx.HTTPError as exc:
        return f"{url} did not answer ({type(exc).__name__}: {str(exc)[:200]})"
    if answer.status_code != 200:
        return f"{url} answered {answer.status_code}"
    try:
        tag = answered_tag(answer.json())
    except ValueError:
        return f"{url} answered something other than JSON"
    if tag is None:
        return f"{url} does not name the deployment serving it"
    if tag != resource_tag:
        return f"{url} is served by the deployment tagged '{tag}', not RESOURCE_TAG '{resource_tag}'"
    return None
