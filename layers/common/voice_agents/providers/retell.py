"""Retell AI adapter (httpx, Bearer auth): the LLM and agent lifecycle and call registration.

Creates are never retried blindly (Retell has no idempotency key, a retry could make a second
resource): only after a 429 or a connection that never opened. Reads and deletes are also retried
on 5xx. Every error becomes a domain error, a success without a readable body or the id asked for
included. Each call's timeout is the configured one cut to the caller's deadline (``retry.finish_by``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from voice_agents.core.errors import (
    BillingError,
    ConfigurationError,
    DomainError,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamNotFound,
    UpstreamTimeout,
)
from voice_agents.core.observability import external_call
from voice_agents.core.retry import call_timeout, with_retries
from voice_agents.core.tags import llm_dynamic_variables
from voice_agents.providers.retell_rules import start_speaker

PROVIDER = "retell"
# Retell answers 422 "Cannot find requested asset under given api key." for unknown ids.
_NOT_FOUND_STATUSES = {404, 422}
PAGE_LIMIT = 1000  # the most a list page may hold


class RetellClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        timeout_seconds: float,
        *,
        connect_timeout_seconds: float = 3.0,
        transport: httpx.BaseTransport | None = None,
        on_unauthorized: Callable[[], None] | None = None,
    ) -> None:
        self._timeout_seconds = timeout_seconds
        self._connect_timeout_seconds = connect_timeout_seconds
        self._on_unauthorized = on_unauthorized  # a 401 may mean the key rotated: its owner re-reads it
        self._http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
            timeout=httpx.Timeout(timeout_seconds, connect=connect_timeout_seconds),
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    # --- LLMs -----------------------------------------------------------------------------------

    def create_llm(
        self,
        *,
        prompt: str,
        begin_message: str | None,
        tag: str,
        tools: list[dict[str, Any]] | None = None,
    ) -> str:
        """``tools`` become the LLM's ``general_tools`` (Retell's Tool shapes, e.g. a custom tool)."""
        body: dict[str, Any] = {
            "start_speaker": start_speaker(begin_message),
            "general_prompt": prompt,
            "default_dynamic_variables": llm_dynamic_variables(tag),
        }
        if begin_message:
            body["begin_message"] = begin_message
        if tools:
            body["general_tools"] = tools
        created = with_retries(
            lambda: self._send("create_llm", "POST", "/create-retell-llm", json=body), creates=True
        )
        return _required_id(created, "llm_id", "create_llm")

    def get_llm(self, llm_id: str) -> dict[str, Any]:
        return with_retries(lambda: self._send("get_llm", "GET", f"/get-retell-llm/{llm_id}"))

    def delete_llm(self, llm_id: str) -> bool:
        """Delete an LLM; False when it was already gone."""
        return self._delete("delete_llm", f"/delete-retell-llm/{llm_id}")

    def list_llms(self) -> Iterator[dict[str, Any]]:
        """Newest first, so a tag search in compensation meets the recent ones early."""
        return self._paginate(self.llms_page)

    def llms_page(
        self, pagination_key: str | None = None, *, limit: int = PAGE_LIMIT
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of LLMs, newest first, and the next page's key (None after the last page)."""
        return self._page(
            lambda: self._send(
                "list_llms",
                "GET",
                "/v2/list-retell-llms",
                params={"limit": limit, "sort_order": "descending"} | _key(pagination_key),
            )
        )

    # --- agents ---------------------------------------------------------------------------------

    def create_agent(
        self,
        *,
        llm_id: str,
        voice_id: str,
        language: str,
        agent_name: str,
        webhook_url: str | None = None,
        post_call_analysis_data: list[dict[str, Any]] | None = None,
    ) -> str:
        """``webhook_url`` receives the agent's call events (call_started, call_ended, call_analyzed);
        ``post_call_analysis_data`` is what Retell extracts from each call (``custom_analysis_data``)."""
        body: dict[str, Any] = {
            "response_engine": {"type": "retell-llm", "llm_id": llm_id},
            "voice_id": voice_id,
            "language": language,
            "agent_name": agent_name,
        }
        if webhook_url:
            body["webhook_url"] = webhook_url
        if post_call_analysis_data:
            body["post_call_analysis_data"] = post_call_analysis_data
        created = with_retries(
            lambda: self._send("create_agent", "POST", "/create-agent", json=body), creates=True
        )
        return _required_id(created, "agent_id", "create_agent")

    def get_agent(self, agent_id: str, version: int | None = None) -> dict[str, Any]:
        """One version of an agent (the latest when ``version`` is None), with ``is_published``."""
        params = {"version": version} if version is not None else {}
        return with_retries(lambda: self._send("get_agent", "GET", f"/get-agent/{agent_id}", params=params))

    # --- versions: calls run a published version; a change is a new draft, then published -------

    def create_agent_version(self, agent_id: str, *, base_version: int) -> int:
        """A new draft of the agent and its LLM, copied from ``base_version``; returns its number."""
        created = with_retries(
            lambda: self._send(
                "create_agent_version",
                "POST",
                f"/create-agent-version/{agent_id}",
                json={"base_version": base_version},
            ),
            creates=True,
        )
        version = created.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise UpstreamBadResponse(PROVIDER, "create_agent_version", "answered without a version")
        return version

    def update_llm(self, llm_id: str, *, version: int, changes: dict[str, Any]) -> None:
        """Change one draft version of an LLM: send only what changes (unchanged fields mint drafts)."""
        with_retries(
            lambda: self._send(
                "update_llm",
                "PATCH",
                f"/update-retell-llm/{llm_id}",
                params={"version": version},
                json=changes,
            )
        )

    def update_agent(self, agent_id: str, *, version: int, changes: dict[str, Any]) -> None:
        """Change one draft version of an agent: send only what changes."""
        with_retries(
            lambda: self._send(
                "update_agent",
                "PATCH",
                f"/update-agent/{agent_id}",
                params={"version": version},
                json=changes,
            )
        )

    def publish_agent_version(self, agent_id: str, version: int) -> None:
        """Publish a draft in place. Not repeated on a 5xx: a second publish of a published version
        is refused, so whether it applied is read back instead (``get_agent``)."""
        with_retries(
            lambda: self._send(
                "publish_agent_version",
                "POST",
                f"/publish-agent-version/{agent_id}",
                json={"version": version},
                expect_body=False,
            ),
            creates=True,
        )

    def delete_agent_version(self, agent_id: str, version: int) -> bool:
        """Delete a draft version; False when it was already gone."""
        return self._delete("delete_agent_version", f"/delete-agent-version/{agent_id}?version={version}")

    def delete_agent(self, agent_id: str) -> bool:
        """Delete an agent; False when it was already gone."""
        return self._delete("delete_agent", f"/delete-agent/{agent_id}")

    def list_agents(self) -> Iterator[dict[str, Any]]:
        return self._paginate(self.agents_page)

    def agents_page(
        self, pagination_key: str | None = None, *, limit: int = PAGE_LIMIT
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of agents and the next page's key (None after the last page)."""
        return self._page(
            lambda: self._send(
                "list_agents", "POST", "/v2/list-agents", json={"limit": limit} | _key(pagination_key)
            )
        )

    # --- calls ----------------------------------------------------------------------------------

    def register_phone_call(
        self,
        *,
        agent_id: str,
        from_number: str,
        to_number: str,
        metadata: dict[str, str],
        timeout_seconds: float,
        agent_version: int | None = None,
        dynamic_variables: dict[str, str] | None = None,
    ) -> str:
        """Register an inbound call; returns the call id to dial over SIP. Never retried here:
        Twilio retries the webhook itself, and the caller is waiting. ``agent_version`` pins the
        call to that version (else Retell runs the latest); ``dynamic_variables`` (strings) fill the
        prompt's {{placeholders}} for this call."""
        body: dict[str, Any] = {
            "agent_id": agent_id,
            "from_number": from_number,
            "to_number": to_number,
            "direction": "inbound",
            "metadata": metadata,
        }
        if agent_version is not None:
            body["agent_version"] = agent_version
        if dynamic_variables:
            body["retell_llm_dynamic_variables"] = dynamic_variables
        response = self._send(
            "register_call", "POST", "/v2/register-phone-call", json=body, timeout=timeout_seconds
        )
        return _required_id(response, "call_id", "register_call")

    # --- plumbing -------------------------------------------------------------------------------

    def _paginate(
        self, fetch_page: Callable[[str | None], tuple[list[dict[str, Any]], str | None]]
    ) -> Iterator[dict[str, Any]]:
        """Items of every page, following each page's ``pagination_key``."""
        key: str | None = None
        while True:
            items, key = fetch_page(key)
            yield from items
            if key is None:
                return

    def _page(self, fetch: Callable[[], dict[str, Any]]) -> tuple[list[dict[str, Any]], str | None]:
        page = with_retries(fetch)
        items = page.get("items") or []
        if not isinstance(items, list):
            raise UpstreamBadResponse(PROVIDER, "list", "answered a page whose items are not a list")
        more = page.get("has_more") and page.get("pagination_key")
        return [item for item in items if isinstance(item, dict)], str(
            page["pagination_key"]
        ) if more else None

    def _delete(self, operation: str, path: str) -> bool:
        def attempt() -> bool:
            try:
                self._send(operation, "DELETE", path, expect_body=False)
            except UpstreamNotFound:
                return False
            return True

        return with_retries(attempt)

    def _send(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        timeout: float | None = None,
        expect_body: bool = True,
        **kwargs: Any,
    ) -> dict[str, Any]:
        seconds = call_timeout(min(timeout or self._timeout_seconds, self._timeout_seconds), operation)
        limits = httpx.Timeout(seconds, connect=min(self._connect_timeout_seconds, seconds))
        with external_call(PROVIDER, operation):
            try:
                response = self._http.request(method, path, timeout=limits, **kwargs)
            except httpx.TimeoutException as exc:
                if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
                    # The request never reached Retell: safe to send again.
                    raise UpstreamError(PROVIDER, operation, "connect timeout", unprocessed=True) from exc
                raise UpstreamTimeout(
                    PROVIDER, operation, f"no response in time ({type(exc).__name__})"
                ) from exc
            except httpx.ConnectError as exc:
                raise UpstreamError(PROVIDER, operation, f"cannot connect: {exc}", unprocessed=True) from exc
            except httpx.TransportError as exc:
                # The connection broke after the request was sent: Retell may have acted.
                raise UpstreamTimeout(PROVIDER, operation, f"connection lost ({type(exc).__name__})") from exc
        if not response.is_success:
            if response.status_code == 401 and self._on_unauthorized is not None:
                self._on_unauthorized()
            raise _error_for(operation, response)
        if not expect_body:
            return {}
        try:
            body = response.json()
        except ValueError:  # a proxy's page, a truncated body
            body = None
        if not isinstance(body, dict):
            # Retryable for reads; for a create this is an unknown outcome, never repeated blindly.
            raise UpstreamBadResponse(
                PROVIDER, operation, f"answered {response.status_code} without a JSON object", retryable=True
            )
        return body


@dataclass(frozen=True)
class RecordingDownload:
    """A recording as it downloads: its media type, its length when announced, and its bytes."""

    content_type: str | None
    length: int | None
    chunks: Iterator[bytes]


@contextmanager
def download_recording(url: str, *, timeout_seconds: float) -> Iterator[RecordingDownload]:
    """Retell's recording at ``url`` (``recording_url``): a storage link, public or signed in itself,
    so Retell's API key is never sent with it. Missing, refused or expired (403, 404, 410: what a
    storage service answers for all three) is UpstreamNotFound; anything else an UpstreamError."""
    operation = "download_recording"
    seconds = call_timeout(timeout_seconds, operation)  # cut to the caller's deadline
    limits = httpx.Timeout(seconds, connect=min(3.0, seconds))
    with external_call(PROVIDER, operation):
        try:
            with httpx.stream("GET", url, timeout=limits, follow_redirects=False) as response:
                if response.status_code in (403, 404, 410):
                    raise UpstreamNotFound(PROVIDER, operation, "no recording at the link (yet, or any more)")
                if not response.is_success:
                    raise UpstreamError(
                        PROVIDER, operation, f"answered {response.status_code}", status=response.status_code
                    )
                length = response.headers.get("content-length")
                yield RecordingDownload(
                    content_type=response.headers.get("content-type"),
                    length=int(length) if length and length.isdigit() else None,
                    chunks=response.iter_bytes(64 * 1024),
                )
        except httpx.HTTPError as exc:
            raise UpstreamError(PROVIDER, operation, f"{type(exc).__name__}", retryable=True) from exc


def _key(pagination_key: str | None) -> dict[str, str]:
    return {"pagination_key": pagination_key} if pagination_key else {}


def _required_id(body: dict[str, Any], key: str, operation: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise UpstreamBadResponse(PROVIDER, operation, f"answered without {key}")
    return value


def _error_for(operation: str, response: httpx.Response) -> DomainError:
    status = response.status_code
    try:
        message = str(response.json().get("message") or response.reason_phrase)
    except ValueError:
        message = response.reason_phrase
    # Error bodies may echo request fields (callers' numbers): keep only Retell's message.
    message = re.sub(r"\s+", " ", message)[:200]
    if status == 401:
        return ConfigurationError(
            f"Retell rejected the API key ({message}): check RETELL_API_KEY", "RETELL_API_KEY"
        )
    if status == 402:
        return BillingError(PROVIDER, operation, message, status=status)
    if status in _NOT_FOUND_STATUSES:
        return UpstreamNotFound(PROVIDER, operation, message, status=status)
    return UpstreamError(
        PROVIDER, operation, message, status=status, retryable=status >= 500, unprocessed=status == 429
    )
