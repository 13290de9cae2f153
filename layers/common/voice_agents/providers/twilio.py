"""Twilio adapter: search, buy, find, re-point and release phone numbers; redirect a live call, read
what a call cost, and fetch a recording (twilio SDK).

The SDK reaches the configured TWILIO_BASE_URL through ``RedirectingHttpClient``, which rewrites the
scheme and host of every request; with the default base URL nothing is rewritten. ``twilio.rest`` is
imported here only, so functions that never buy numbers (the webhook) do not pay its import cost.
Each request's timeout is the configured one cut to the caller's deadline (``retry.finish_by``): the
SDK calls ``BudgetedHttpClient.request`` in the caller's thread, which reads the deadline there.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from twilio.base import values
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from voice_agents.core.countries import NumberOrder
from voice_agents.core.errors import (
    BillingError,
    ConfigurationError,
    DomainError,
    NoNumbersAvailable,
    NumberUnavailable,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamNotFound,
    UpstreamTimeout,
)
from voice_agents.core.observability import external_call
from voice_agents.core.retry import call_timeout, with_retries

PROVIDER = "twilio"
DEFAULT_BASE_URL = "https://api.twilio.com"
T = TypeVar("T")


@dataclass(frozen=True)
class OwnedNumber:
    sid: str
    phone_number: str
    friendly_name: str
    voice_url: str | None
    # Twilio requests it when the voice webhook fails (None or "" when the number has none).
    voice_fallback_url: str | None = None


@dataclass(frozen=True)
class CallCharges:
    """What Twilio says a call cost: its status and duration (seconds), and the ``(price,
    price_unit)`` of the call and of each of its child legs (its <Dial>s), as Twilio writes them
    ("-0.01700", "USD"); a price is None until Twilio sets it, some time after the call ends."""

    status: str
    duration_seconds: int | None
    prices: tuple[tuple[str | None, str | None], ...]

    @property
    def legs(self) -> int:
        return len(self.prices) - 1


# A call's child legs read at most: a <Dial> per transfer or forward, a handful in practice.
MAX_CHILD_LEGS = 50


class BudgetedHttpClient(TwilioHttpClient):
    """Gives every SDK request the configured timeout cut to the time left before the deadline in
    scope; the configured timeout stays the upper bound."""

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        configured = kwargs.get("timeout") or self.timeout
        if configured is not None:
            # Named by provider only: the URL carries the account SID.
            kwargs["timeout"] = call_timeout(min(configured, self.timeout or configured), PROVIDER)
        return super().request(method, url, *args, **kwargs)


class RedirectingHttpClient(BudgetedHttpClient):
    """Sends every SDK request to ``base_url`` instead of Twilio's host (fakes, proxies)."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._base = urllib.parse.urlsplit(base_url)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        parts = urllib.parse.urlsplit(url)
        url = urllib.parse.urlunsplit((self._base.scheme, self._base.netloc, parts.path, parts.query, ""))
        return super().request(method, url, *args, **kwargs)


class TwilioNumbers:
    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        base_url: str,
        timeout_seconds: float,
        sleep: Callable[[float], None] | None = None,
        on_unauthorized: Callable[[], None] | None = None,
    ) -> None:
        self._on_unauthorized = on_unauthorized  # a 401 may mean the token rotated: its owner re-reads it
        http_client = (
            BudgetedHttpClient(timeout=timeout_seconds)
            if base_url.rstrip("/") == DEFAULT_BASE_URL
            else RedirectingHttpClient(base_url, timeout=timeout_seconds)
        )
        self._client = Client(account_sid, auth_token, http_client=http_client, environment={})
        self._base_url = base_url.rstrip("/")
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._retry_kwargs: dict[str, Any] = {"sleep": sleep} if sleep else {}
        self._timeout_seconds = timeout_seconds

    def search(self, order: NumberOrder, limit: int = 5) -> list[str]:
        """Voice-enabled numbers of the order's country and type that can be bought now."""
        country = self._client.api.v2010.account.available_phone_numbers(order.country)
        listing = {"mobile": country.mobile, "local": country.local, "tollfree": country.toll_free}
        found = self._call(
            "search_numbers", lambda: listing[order.number_type].list(voice_enabled=True, limit=limit)
        )
        numbers = [number.phone_number for number in found if number.phone_number]
        if not numbers:
            raise NoNumbersAvailable(
                f"Twilio offers no voice-enabled {order.country} {order.number_type} numbers right now"
            )
        return numbers

    def buy(
        self,
        phone_number: str,
        *,
        order: NumberOrder,
        voice_url: str,
        tag: str,
        fallback_url: str | None = None,
    ) -> OwnedNumber:
        """Buy ``phone_number`` (of ``order``'s pair, with its bundle and address) with its voice
        webhook (and ``fallback_url``, its VoiceFallbackUrl)
        already set and ``tag`` as FriendlyName.

        Retried only when Twilio did not process it (20429): a purchase whose response was lost
        may have happened, and ``find_by_tag`` tells.
        """
        created = self._call(
            "buy_number",
            lambda: self._client.incoming_phone_numbers.create(
                phone_number=phone_number,
                voice_url=voice_url,
                voice_method="POST",
                **_fallback(fallback_url),
                friendly_name=tag,
                bundle_sid=order.regulation.bundle_sid or values.unset,
                address_sid=order.regulation.address_sid or values.unset,
            ),
            creates=True,
            order=order,
        )
        return _owned(created)

    def find_by_tag(self, tag: str) -> list[OwnedNumber]:
        found = self._call(
            "list_numbers", lambda: self._client.incoming_phone_numbers.list(friendly_name=tag)
        )
        return [_owned(number) for number in found if number.sid]

    def tagged_numbers_page(
        self, tag_prefix: str, cursor: dict[str, str] | None, *, page_size: int
    ) -> tuple[list[OwnedNumber], dict[str, str] | None]:
        """One page of the account's numbers from ``cursor`` (None: the first page), those whose
        FriendlyName starts with ``tag_prefix``, and the cursor of the next page (None after the last).
        The cursor is the ``PageToken`` and ``Page`` of Twilio's ``next_page_uri``."""
        resume = cursor or {}
        page = self._call(
            "list_numbers",
            lambda: self._client.incoming_phone_numbers.page(
                page_size=page_size,
                page_token=resume.get("PageToken", values.unset),
                page_number=int(resume["Page"]) if resume.get("Page", "").isdigit() else values.unset,
            ),
        )
        numbers = [
            _owned(number)
            for number in page
            if number.sid and (number.friendly_name or "").startswith(tag_prefix)
        ]
        return numbers, _next_page_cursor(page.next_page_url)

    def configure_webhook(self, sid: str, voice_url: str, *, fallback_url: str | None = None) -> OwnedNumber:
        """Point an owned number's voice webhook at ``voice_url``, and its VoiceFallbackUrl at
        ``fallback_url`` when given, in one update (the repair path)."""
        updated = self._call(
            "update_number",
            lambda: self._client.incoming_phone_numbers(sid).update(
                voice_url=voice_url, voice_method="POST", **_fallback(fallback_url)
            ),
        )
        return _owned(updated)

    def configure_fallback(self, sid: str, fallback_url: str) -> OwnedNumber:
        """Point an owned number's VoiceFallbackUrl at ``fallback_url``; its voice webhook stays (it is
        set on every number this code buys: Twilio refuses a fallback without one, 21405)."""
        updated = self._call(
            "update_number",
            lambda: self._client.incoming_phone_numbers(sid).update(**_fallback(fallback_url)),
        )
        return _owned(updated)

    def release(self, sid: str) -> bool:
        """Release a number; False when it was already released."""
        try:
            self._call("release_number", lambda: self._client.incoming_phone_numbers(sid).delete())
        except UpstreamNotFound:
            return False
        return True

    # --- live calls ---------------------------------------------------------------------------------

    def update_call(self, call_sid: str, twiml: str) -> None:
        """Give a live call new TwiML (what Twilio plays next: the agent's transfer). Not retried: the
        caller is waiting and the tool's answer is due; a call that already ended is a 4xx."""
        self._call_once("update_call", lambda: self._client.calls(call_sid).update(twiml=twiml))

    def call_charges(self, call_sid: str) -> CallCharges:
        """The call's status, duration and prices, with its child legs' (two requests)."""
        call = self._call("fetch_call", lambda: self._client.calls(call_sid).fetch())
        legs = self._call(
            "list_calls", lambda: self._client.calls.list(parent_call_sid=call_sid, limit=MAX_CHILD_LEGS)
        )
        duration = str(call.duration or "")
        return CallCharges(
            status=str(call.status or ""),
            duration_seconds=int(duration) if duration.isdigit() else None,
            prices=tuple((each.price, each.price_unit) for each in [call, *legs]),
        )

    def recording_audio(self, recording_sid: str) -> tuple[bytes, str]:
        """A recording's audio as MP3 (Twilio's media URL, the account's credentials) and its type."""
        url = f"{self._base_url}/2010-04-01/Accounts/{self._account_sid}/Recordings/{recording_sid}.mp3"

        def fetch() -> tuple[bytes, str]:
            response = requests.get(
                url,
                auth=(self._account_sid, self._auth_token),
                timeout=call_timeout(self._timeout_seconds, "recording_audio"),
            )
            if response.status_code == 404:
                raise UpstreamNotFound(PROVIDER, "recording_audio", "no such recording")
            response.raise_for_status()
            return response.content, response.headers.get("Content-Type", "audio/mpeg").split(";")[0]

        return self._call("recording_audio", fetch)

    def _call_once(self, operation: str, call: Callable[[], T]) -> T:
        return self._call(operation, call, retries=False)

    def _call(
        self,
        operation: str,
        call: Callable[[], T],
        *,
        creates: bool = False,
        retries: bool = True,
        order: NumberOrder | None = None,
    ) -> T:
        def attempt() -> T:
            call_timeout(self._timeout_seconds, operation)  # not started at all when it cannot finish
            with external_call(PROVIDER, operation):
                try:
                    return call()
                except (TwilioRestException, TwilioException, requests.RequestException) as exc:
                    error = _translate(operation, exc, order)
                    unauthorized = (
                        isinstance(error, ConfigurationError) and error.setting == "TWILIO_AUTH_TOKEN"
                    )
                    if unauthorized and self._on_unauthorized is not None:
                        self._on_unauthorized()
                    raise error from exc
                except (ValueError, KeyError) as exc:  # the SDK could not parse a success's body
                    raise UpstreamBadResponse(
                        PROVIDER, operation, "answered without a readable body"
                    ) from exc

        return with_retries(attempt, creates=creates, **self._retry_kwargs) if retries else attempt()


def _fallback(fallback_url: str | None) -> dict[str, Any]:
    """The SDK's arguments that set a number's VoiceFallbackUrl (nothing when None)."""
    if fallback_url is None:
        return {}
    return {"voice_fallback_url": fallback_url, "voice_fallback_method": "POST"}


def _owned(number: Any) -> OwnedNumber:
    if not number.sid or not number.phone_number:
        raise UpstreamBadResponse(PROVIDER, "numbers", "answered a number without its sid")
    return OwnedNumber(
        sid=number.sid, phone_number=number.phone_number, friendly_name=number.friendly_name or "",
        voice_url=number.voice_url, voice_fallback_url=number.voice_fallback_url or None,
    )  # fmt: skip


def _next_page_cursor(next_page_url: str | None) -> dict[str, str] | None:
    if not next_page_url:
        return None
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(next_page_url).query)
    cursor = {name: query[name][0] for name in ("PageToken", "Page") if query.get(name)}
    if "PageToken" not in cursor:
        raise UpstreamBadResponse(PROVIDER, "list_numbers", "answered a next page without its PageToken")
    return cursor


def _translate(operation: str, exc: Exception, order: NumberOrder | None = None) -> DomainError:
    if isinstance(exc, requests.ConnectTimeout | requests.ConnectionError) and not isinstance(
        exc, requests.ReadTimeout
    ):
        if _request_was_sent(exc):
            return UpstreamTimeout(PROVIDER, operation, f"connection lost ({type(exc).__name__})")
        return UpstreamError(PROVIDER, operation, f"cannot connect: {exc}", unprocessed=True)
    if isinstance(exc, requests.RequestException):
        return UpstreamTimeout(PROVIDER, operation, f"no response in time ({type(exc).__name__})")
    status, code, message = _status_code_message(exc)
    if code == 21422:
        return NumberUnavailable(PROVIDER, operation, message, status=status, code=code)
    if code == 21649:
        setting = order.regulation.bundle_setting if order else "TWILIO_BUNDLE_SID"
        where = order.setting_of("bundleSid") if order else setting
        return ConfigurationError(
            f"Twilio requires an approved regulatory bundle for {_pair(order)}: set {where} to a "
            f"twilio-approved bundle ({message})",
            setting,
        )
    if code in (21631, 21615):
        setting = order.regulation.address_setting if order else "TWILIO_ADDRESS_SID"
        where = order.setting_of("addressSid") if order else setting
        in_country = "in the number's country " if code == 21615 else ""
        return ConfigurationError(
            f"Twilio requires an address {in_country}for {_pair(order)}: set {where} ({message})",
            setting,
        )
    if code in (20005, 10001):
        return BillingError(PROVIDER, operation, message, status=status, code=code)
    if code == 20003 or status == 401:
        return ConfigurationError(
            "Twilio rejected the credentials: check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN",
            "TWILIO_AUTH_TOKEN",
        )
    if status == 404 or code == 20404:
        return UpstreamNotFound(PROVIDER, operation, message, status=status, code=code)
    # 20429/429: "aren't processed and are safe to retry after backing off".
    unprocessed = code == 20429 or status == 429
    retryable = (status or 0) >= 500
    return UpstreamError(
        PROVIDER, operation, message, status=status, code=code, retryable=retryable, unprocessed=unprocessed
    )


def _pair(order: NumberOrder | None) -> str:
    return f"{order.country} {order.number_type} numbers" if order else "these numbers"


def _status_code_message(exc: Exception) -> tuple[int | None, int | None, str]:
    if isinstance(exc, TwilioRestException):
        return exc.status, exc.code, str(exc.msg)
    # List and page calls raise a plain TwilioException("Unable to fetch page", response).
    response = exc.args[1] if len(exc.args) > 1 else None
    status = getattr(response, "status_code", None)
    try:
        body = json.loads(getattr(response, "text", "") or "{}")
    except ValueError:
        body = {}
    return status, body.get("code") or status, str(body.get("message") or exc.args[0])


def _request_was_sent(exc: requests.RequestException) -> bool:
    # A ConnectionError that is not a connect failure (reset, closed mid-response) came after sending.
    text = str(exc)
    return "RemoteDisconnected" in text or "Connection aborted" in text
