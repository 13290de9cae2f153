"""The provider adapters against the fakes over HTTP: TwilioNumbers (twilio SDK, redirected to the fake
Twilio) and RetellClient (httpx), including how every provider error becomes a domain error."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from twilio.http.http_client import TwilioHttpClient

from local.stack import RETELL_API_KEY, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, WEBHOOK_BASE_URL
from voice_agents.core.errors import (
    BillingError,
    ConfigurationError,
    DeadlineExceeded,
    NumberUnavailable,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamNotFound,
    UpstreamTimeout,
)
from voice_agents.core.retry import MIN_CALL_SECONDS, finish_by
from voice_agents.core.settings import Settings
from voice_agents.providers.retell import RetellClient
from voice_agents.providers.twilio import BudgetedHttpClient, RedirectingHttpClient, TwilioNumbers

pytestmark = pytest.mark.integration

AU_MOBILE = re.compile(r"\+614\d{8}")
VOICE_URL = f"{WEBHOOK_BASE_URL}/api/webhooks/twilio/6740a1b2c3d4e5f6a7b8c9d0"
TAG = "va-local:6740a1b2c3d4e5f6a7b8c9d0"
# The deployment's default pair with no bundle or address: TWILIO_BUNDLE_SID / TWILIO_ADDRESS_SID's.
ORDER = Settings().number_order("AU", "mobile")


def twilio_numbers(base_url: str, *, timeout_seconds: float = 3.0, **overrides: Any) -> TwilioNumbers:
    options: dict[str, Any] = {
        "account_sid": TWILIO_ACCOUNT_SID,
        "auth_token": TWILIO_AUTH_TOKEN,
        "base_url": base_url,
        "timeout_seconds": timeout_seconds,
        "sleep": lambda _seconds: None,  # retries without waiting
    }
    options.update(overrides)
    return TwilioNumbers(**options)


@pytest.fixture
def numbers(env) -> TwilioNumbers:
    return twilio_numbers(env.twilio.base_url)


@pytest.fixture
def retell(env) -> Iterator[RetellClient]:
    client = RetellClient(env.retell.base_url, RETELL_API_KEY, 3.0)
    yield client
    client.close()


class _Capture(BaseHTTPRequestHandler):
    """Records the request line and the Host header, answers an empty Twilio page."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.server.captured.append({"path": self.path, "host": self.headers.get("Host")})  # type: ignore[attr-defined]
        body = b'{"incoming_phone_numbers": [], "next_page_uri": null}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def capture_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Capture)
    server.captured = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


# --- TwilioNumbers reaches the fake -----------------------------------------------------------


def test_search_returns_au_mobile_numbers_from_the_fake(env, numbers):
    # When the adapter searches
    found = numbers.search(ORDER, limit=3)

    # Then the fake answered with voice-enabled AU mobile numbers
    assert len(found) == 3
    assert all(AU_MOBILE.fullmatch(number) for number in found)
    assert env.twilio.call_count("search_numbers") == 1


def test_buy_sets_the_voice_url_and_tag_on_the_fake(env, numbers):
    # Given a candidate from the search
    candidate = numbers.search(ORDER, limit=1)[0]

    # When it is bought with its webhook and tag
    owned = numbers.buy(candidate, order=ORDER, voice_url=VOICE_URL, tag=TAG)

    # Then the fake's account owns it, pointing at the webhook, named by the tag
    assert owned.phone_number == candidate and owned.sid.startswith("PN")
    assert (owned.voice_url, owned.friendly_name) == (VOICE_URL, TAG)
    number = env.twilio.owned[owned.sid]
    assert number["phone_number"] == candidate
    assert number["voice_url"] == VOICE_URL
    assert number["voice_method"] == "POST"
    assert number["friendly_name"] == TAG


def test_buy_passes_the_configured_bundle_and_address(env):
    # Given an account that requires both, and an order that carries both
    env.twilio.configure(require_bundle=True, require_address=True)
    adapter = twilio_numbers(env.twilio.base_url)
    settings = Settings(TWILIO_BUNDLE_SID="BU" + "a1" * 16, TWILIO_ADDRESS_SID="AD" + "b2" * 16)
    order = settings.number_order("AU", "mobile")

    # When a number is bought
    owned = adapter.buy(adapter.search(order, limit=1)[0], order=order, voice_url=VOICE_URL, tag=TAG)

    # Then the purchase carried them
    number = env.twilio.owned[owned.sid]
    assert number["bundle_sid"] == "BU" + "a1" * 16
    assert number["address_sid"] == "AD" + "b2" * 16


def test_find_by_tag_finds_only_the_tagged_number(env, numbers):
    # Given two numbers bought under two tags
    first, second = numbers.search(ORDER, limit=2)
    mine = numbers.buy(first, order=ORDER, voice_url=VOICE_URL, tag=TAG)
    numbers.buy(second, order=ORDER, voice_url=VOICE_URL, tag="va-local:other")

    # When the adapter looks for the first tag
    found = numbers.find_by_tag(TAG)

    # Then exactly that number comes back
    assert [number.sid for number in found] == [mine.sid]
    assert numbers.find_by_tag("va-local:nobody") == []


def test_configure_webhook_changes_the_voice_url(env, numbers):
    # Given an owned number
    owned = numbers.buy(numbers.search(ORDER, limit=1)[0], order=ORDER, voice_url=VOICE_URL, tag=TAG)

    # When its webhook is re-pointed
    new_url = "https://api.example.test/api/webhooks/twilio/6740a1b2c3d4e5f6a7b8c9d0"
    updated = numbers.configure_webhook(owned.sid, new_url)

    # Then the fake's number now calls the new URL
    assert updated.voice_url == new_url
    assert env.twilio.owned[owned.sid]["voice_url"] == new_url
    assert env.twilio.owned[owned.sid]["voice_method"] == "POST"


def test_release_returns_true_then_false_once_already_released(env, numbers):
    # Given an owned number
    owned = numbers.buy(numbers.search(ORDER, limit=1)[0], order=ORDER, voice_url=VOICE_URL, tag=TAG)

    # When it is released twice
    first = numbers.release(owned.sid)
    second = numbers.release(owned.sid)

    # Then the first release frees it, the second finds it already gone (404/20404)
    assert first is True
    assert second is False
    assert owned.sid not in env.twilio.owned
    assert env.twilio.call_count("release_number") == 2


def test_a_page_of_tagged_numbers_holds_only_this_deployments_tags(env, numbers):
    # Given numbers tagged by this deployment and one that is not
    first, second, third = numbers.search(ORDER, limit=3)
    a = numbers.buy(first, order=ORDER, voice_url=VOICE_URL, tag="va-local:a")
    b = numbers.buy(second, order=ORDER, voice_url=VOICE_URL, tag="va-local:b")
    numbers.buy(third, order=ORDER, voice_url=VOICE_URL, tag="someone-else")

    # When the sweep lists a page by prefix
    page, next_cursor = numbers.tagged_numbers_page("va-local:", None, page_size=1000)

    # Then only the tagged ones are returned, and that page was the last
    assert {number.sid for number in page} == {a.sid, b.sid}
    assert next_cursor is None


# --- the redirection --------------------------------------------------------------------------


def test_redirecting_client_rewrites_scheme_and_host_but_keeps_path_and_query(capture_server):
    # Given a client redirected to a local server
    port = capture_server.server_address[1]
    client = RedirectingHttpClient(f"http://127.0.0.1:{port}", timeout=3)
    path = f"/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/IncomingPhoneNumbers.json"

    # When the SDK asks for Twilio's URL with a query string
    response = client.request("GET", f"https://api.twilio.com{path}?FriendlyName=va%3Ax&PageSize=50")

    # Then the request reached the local server, with Twilio's path and query untouched
    assert response.status_code == 200
    [request] = capture_server.captured
    assert request["path"] == f"{path}?FriendlyName=va%3Ax&PageSize=50"
    assert request["host"] == f"127.0.0.1:{port}"


def test_twilio_numbers_requests_go_to_the_configured_base_url(capture_server):
    # Given the adapter pointed at a local server
    port = capture_server.server_address[1]
    adapter = twilio_numbers(f"http://127.0.0.1:{port}/")

    # When it lists numbers by tag
    assert adapter.find_by_tag(TAG) == []

    # Then the SDK's own path and query arrived at that server
    [request] = capture_server.captured
    assert request["path"].startswith(f"/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/IncomingPhoneNumbers.json?")
    assert "FriendlyName=va-local%3A6740a1b2c3d4e5f6a7b8c9d0" in request["path"]


@pytest.mark.parametrize("base_url", ["https://api.twilio.com", "https://api.twilio.com/"])
def test_the_default_base_url_uses_the_plain_twilio_client(base_url):
    # When the adapter is built for the real Twilio (no request is sent)
    adapter = twilio_numbers(base_url)

    # Then the SDK's own HTTP client (budgeting each request's timeout) is used: nothing is rewritten
    http_client = adapter._client.http_client
    assert type(http_client) is BudgetedHttpClient
    assert isinstance(http_client, TwilioHttpClient)
    assert not isinstance(http_client, RedirectingHttpClient)


def test_another_base_url_uses_the_redirecting_client(env):
    adapter = twilio_numbers(env.twilio.base_url)

    assert isinstance(adapter._client.http_client, RedirectingHttpClient)


# --- Twilio error translation -----------------------------------------------------------------


def test_buying_a_number_already_taken_is_number_unavailable(env, numbers):
    # Given a number somebody (here: us) already bought
    candidate = numbers.search(ORDER, limit=1)[0]
    numbers.buy(candidate, order=ORDER, voice_url=VOICE_URL, tag=TAG)

    # When it is bought again
    with pytest.raises(NumberUnavailable) as raised:
        numbers.buy(candidate, order=ORDER, voice_url=VOICE_URL, tag=TAG)

    # Then Twilio's 21422 became NumberUnavailable, not retried
    assert raised.value.code == 21422 and raised.value.status == 400
    assert env.twilio.call_count("buy_number") == 2


@pytest.mark.parametrize(
    ("requirement", "setting"),
    [({"require_bundle": True}, "TWILIO_BUNDLE_SID"), ({"require_address": True}, "TWILIO_ADDRESS_SID")],
)
def test_a_regulatory_requirement_is_a_configuration_error_naming_the_setting(
    env, numbers, requirement, setting
):
    # Given an account whose numbers need a bundle (21649) or an address (21631), and none configured
    env.twilio.configure(**requirement)
    candidate = numbers.search(ORDER, limit=1)[0]

    # When a number is bought
    with pytest.raises(ConfigurationError) as raised:
        numbers.buy(candidate, order=ORDER, voice_url=VOICE_URL, tag=TAG)

    # Then an operator is told which setting to fill; nothing was bought
    assert raised.value.setting == setting
    assert setting in str(raised.value)
    assert env.twilio.owned == {}


def test_too_many_requests_is_retried_then_succeeds(env, numbers):
    # Given Twilio answering one 429/20429 to the next search
    env.twilio.inject("search_numbers", status=429, code=20429, times=1)

    # When the adapter searches
    found = numbers.search(ORDER, limit=2)

    # Then it retried once and got the numbers
    assert len(found) == 2
    assert env.twilio.call_count("search_numbers") == 2


def test_too_many_requests_on_an_update_is_retried_then_succeeds(env, numbers):
    # Given an owned number, and Twilio answering one 429/20429 to the next update (a REST, not a list, error)
    owned = numbers.buy(numbers.search(ORDER, limit=1)[0], order=ORDER, voice_url=VOICE_URL, tag=TAG)
    env.twilio.inject("update_number", status=429, code=20429, times=1)

    # When the webhook is re-pointed
    updated = numbers.configure_webhook(owned.sid, VOICE_URL + "?v=2")

    # Then it retried once and the update happened
    assert updated.voice_url == VOICE_URL + "?v=2"
    assert env.twilio.call_count("update_number") == 2


def test_a_purchase_is_retried_after_too_many_requests(env, numbers):
    # Given Twilio answering 429 (20429: "not processed, safe to retry after backing off") once
    candidate = numbers.search(ORDER, limit=1)[0]
    env.twilio.inject("buy_number", status=429, code=20429, times=1)

    # When a number is bought
    bought = numbers.buy(candidate, order=ORDER, voice_url=VOICE_URL, tag=TAG)

    # Then the adapter backed off, bought it on the second try, and owns exactly one number
    assert env.twilio.call_count("buy_number") == 2
    assert list(env.twilio.owned) == [bought.sid]


def test_a_purchase_is_not_retried_on_a_server_error(env, numbers):
    # Given Twilio answering 500 to the next purchase: it may or may not have bought the number
    candidate = numbers.search(ORDER, limit=1)[0]
    env.twilio.inject("buy_number", status=500, code=20500, times=1)

    # When a number is bought
    with pytest.raises(UpstreamError) as raised:
        numbers.buy(candidate, order=ORDER, voice_url=VOICE_URL, tag=TAG)

    # Then the purchase is sent once only
    assert raised.value.status == 500
    assert env.twilio.call_count("buy_number") == 1


@pytest.mark.parametrize("status", [400, 401, 403])
def test_an_inactive_account_is_a_billing_error(env, numbers, status):
    # Given Twilio answering 20005 "Account not active" (Twilio does not document the HTTP status)
    candidate = numbers.search(ORDER, limit=1)[0]
    env.twilio.inject("buy_number", status=status, code=20005, message="Account not active", times=1)

    # When a number is bought
    with pytest.raises(BillingError) as raised:
        numbers.buy(candidate, order=ORDER, voice_url=VOICE_URL, tag=TAG)

    # Then it is a billing problem (the Twilio code decides, not the HTTP status), not retryable
    assert raised.value.code == 20005
    assert raised.value.retryable is False


def test_wrong_credentials_are_a_configuration_error(env):
    adapter = twilio_numbers(env.twilio.base_url, auth_token="wrong-token")

    with pytest.raises(ConfigurationError) as raised:
        adapter.find_by_tag(TAG)

    assert raised.value.setting == "TWILIO_AUTH_TOKEN"


def test_a_list_error_is_translated_with_the_twilio_code(env, numbers):
    # Given Twilio refusing the next list call (the SDK raises a plain TwilioException for pages)
    env.twilio.inject("list_numbers", status=400, code=20001, message="Invalid PageSize", times=1)

    # When the adapter lists numbers by tag
    with pytest.raises(UpstreamError) as raised:
        numbers.find_by_tag(TAG)

    # Then the domain error carries Twilio's status, code and message; a 400 is not retried
    assert type(raised.value) is UpstreamError
    assert (raised.value.status, raised.value.code) == (400, 20001)
    assert "Invalid PageSize" in str(raised.value)
    assert raised.value.retryable is False
    assert env.twilio.call_count("list_numbers") == 1


def test_a_list_server_error_is_retried_then_surfaces(env, numbers):
    # Given Twilio failing every list call with a 500
    env.twilio.inject("list_numbers", status=500, code=20500)

    # When the adapter lists numbers by tag
    with pytest.raises(UpstreamError) as raised:
        numbers.find_by_tag(TAG)

    # Then it tried three times and reports a retryable upstream error with the code
    assert (raised.value.status, raised.value.code, raised.value.retryable) == (500, 20500, True)
    assert env.twilio.call_count("list_numbers") == 3


def test_releasing_an_unknown_sid_is_not_found_not_an_error(env, numbers):
    assert numbers.release("PN" + "0" * 32) is False
    assert env.twilio.call_count("release_number") == 1


def test_a_purchase_whose_response_is_lost_is_an_upstream_timeout(env):
    # Given an adapter with a short timeout, and Twilio acting on the next purchase but holding the answer
    adapter = twilio_numbers(env.twilio.base_url, timeout_seconds=0.3)
    candidate = adapter.search(ORDER, limit=1)[0]
    env.twilio.inject("buy_number", drop=True, hold_ms=1200, times=1)

    # When a number is bought
    with pytest.raises(UpstreamTimeout) as raised:
        adapter.buy(candidate, order=ORDER, voice_url=VOICE_URL, tag=TAG)

    # Then the outcome is unknown (not retryable), and the tag finds the number Twilio did buy
    assert raised.value.retryable is False
    assert env.twilio.call_count("buy_number") == 1
    assert [number.phone_number for number in adapter.find_by_tag(TAG)] == [candidate]


def test_a_connection_closed_without_an_answer_is_an_upstream_timeout(env, numbers):
    # Given Twilio acting on the next purchase, then closing the connection without answering
    candidate = numbers.search(ORDER, limit=1)[0]
    env.twilio.inject("buy_number", drop=True, hold_ms=0, times=1)

    # When a number is bought
    with pytest.raises(UpstreamTimeout):
        numbers.buy(candidate, order=ORDER, voice_url=VOICE_URL, tag=TAG)

    # Then the purchase did happen on Twilio's side (so "unknown" was the right answer)
    assert [number["phone_number"] for number in env.twilio.owned.values()] == [candidate]


def test_an_unreachable_twilio_is_a_retryable_upstream_error(env):
    # Given the adapter pointed at a port where nothing listens
    with ThreadingHTTPServer(("127.0.0.1", 0), _Capture) as server:
        port = server.server_address[1]
    adapter = twilio_numbers(f"http://127.0.0.1:{port}")

    # When it searches
    with pytest.raises(UpstreamError) as raised:
        adapter.search(ORDER)

    # Then the request never left: it is safe to retry (not an unknown outcome)
    assert type(raised.value) is UpstreamError
    assert raised.value.retryable is True


# --- RetellClient against the fake ------------------------------------------------------------


def test_retell_create_get_and_delete_round_trip(env, retell):
    # Given an LLM and an agent created through the adapter
    llm_id = retell.create_llm(prompt="Be brief.", begin_message="Hello", tag="va-local:x")
    agent_id = retell.create_agent(llm_id=llm_id, voice_id="11labs-Adrian", language="en-AU", agent_name="x")

    # Then the fake holds them as sent
    assert retell.get_llm(llm_id)["default_dynamic_variables"] == {"voice_agents_tag": "va-local:x"}
    assert env.retell.agents[agent_id]["response_engine"]["llm_id"] == llm_id

    # When both are deleted
    assert retell.delete_agent(agent_id) is True
    assert retell.delete_llm(llm_id) is True

    # Then the fake holds nothing
    assert env.retell.agents == {} and env.retell.llms == {}


def test_retell_delete_of_an_unknown_id_returns_false(env, retell):
    # When unknown ids are deleted (Retell answers 422 "Cannot find requested asset")
    # Then the adapter reports "already gone", without retrying
    assert retell.delete_agent("agent_00000000000000000000000") is False
    assert retell.delete_llm("llm_00000000000000000000000") is False
    assert env.retell.call_count("delete_agent") == 1
    assert env.retell.call_count("delete_llm") == 1


def test_retell_get_llm_is_retried_on_429(env, retell):
    # Given an LLM, and Retell rate-limiting the next read
    llm_id = retell.create_llm(prompt="Be brief.", begin_message=None, tag="va-local:x")
    env.retell.inject("get_llm", status=429, times=1)

    # When the adapter reads it
    llm = retell.get_llm(llm_id)

    # Then it retried once and got it
    assert llm["llm_id"] == llm_id
    assert env.retell.call_count("get_llm") == 2


def test_retell_rejected_key_is_a_configuration_error_naming_it(env):
    # Given a client with the wrong key
    client = RetellClient(env.retell.base_url, "key_wrong", 3.0)

    # When it creates an LLM
    with pytest.raises(ConfigurationError) as raised:
        client.create_llm(prompt="p", begin_message=None, tag="t")
    client.close()

    # Then the error names RETELL_API_KEY; nothing was created
    assert raised.value.setting == "RETELL_API_KEY"
    assert "RETELL_API_KEY" in str(raised.value)
    assert env.retell.llms == {}


def test_retell_create_llm_is_not_retried_on_500(env, retell):
    # Given Retell failing every LLM create with a 500
    env.retell.inject("create_llm", status=500)

    # When the adapter creates an LLM
    with pytest.raises(UpstreamError) as raised:
        retell.create_llm(prompt="p", begin_message=None, tag="t")

    # Then exactly one request was sent (a retry could create a second LLM)
    assert raised.value.status == 500
    assert env.retell.call_count("create_llm") == 1


def test_retell_create_agent_is_not_retried_on_500(env, retell):
    # Given an LLM, and Retell failing every agent create with a 500
    llm_id = retell.create_llm(prompt="p", begin_message=None, tag="t")
    env.retell.inject("create_agent", status=500)

    # When the adapter creates an agent
    with pytest.raises(UpstreamError) as raised:
        retell.create_agent(llm_id=llm_id, voice_id="11labs-Adrian", language="en-AU", agent_name="x")

    # Then exactly one request was sent (a retry could create a second agent)
    assert raised.value.status == 500
    assert env.retell.call_count("create_agent") == 1
    assert env.retell.agents == {}


def test_retell_payment_required_is_a_billing_error(env, retell):
    env.retell.inject("create_llm", status=402, times=1)

    with pytest.raises(BillingError):
        retell.create_llm(prompt="p", begin_message=None, tag="t")


def test_retell_register_call_timeout_is_an_upstream_timeout(env, retell):
    # Given an agent, and Retell taking longer than the register timeout to answer
    llm_id = retell.create_llm(prompt="p", begin_message=None, tag="t")
    agent_id = retell.create_agent(llm_id=llm_id, voice_id="11labs-Adrian", language="en-AU", agent_name="x")
    env.retell.inject("register_call", delay_ms=800, times=1)

    # When a call is registered with a short timeout
    with pytest.raises(UpstreamTimeout):
        retell.register_phone_call(
            agent_id=agent_id, from_number="+61298765432", to_number="+61412345678",
            metadata={"twilio_call_sid": "CA1"}, timeout_seconds=0.2,
        )  # fmt: skip

    # Then it was sent once, never retried
    assert env.retell.call_count("register_call") == 1


def test_retell_unknown_agent_on_get_is_not_found(env, retell):
    with pytest.raises(UpstreamNotFound):
        retell.get_llm("llm_00000000000000000000000")


def test_retell_create_is_retried_after_a_rate_limit(env, retell):
    # Given Retell rate-limiting (429: not processed) the next agent create
    llm_id = retell.create_llm(prompt="Be brief.", begin_message=None, tag="va-local:x")
    env.retell.inject("create_agent", status=429, times=1)

    # When an agent is created
    agent_id = retell.create_agent(llm_id=llm_id, voice_id="11labs-Adrian", language="en-AU", agent_name="x")

    # Then it was sent twice and exactly one agent exists
    assert env.retell.call_count("create_agent") == 2
    assert list(env.retell.agents) == [agent_id]


# --- time budgets: each call's timeout is the configured one cut to the caller's deadline ----------

SLOW_MS = 1500  # the fakes' answer comes later than the deadlines below, sooner than the configured timeout


def in_one_second() -> float:
    return time.monotonic() + 1.0


def test_a_twilio_call_times_out_at_the_deadline_not_at_its_configured_timeout(env):
    # Given a configured timeout longer than Twilio takes to answer
    adapter = twilio_numbers(env.twilio.base_url, timeout_seconds=5)
    adapter.search(ORDER)  # the SDK loads its modules on first use: not on the deadline's time
    env.twilio.inject("search_numbers", delay_ms=SLOW_MS, times=2)

    # When it is called with a deadline one second away, it gives up at the deadline
    with finish_by(in_one_second()), pytest.raises(UpstreamTimeout):
        adapter.search(ORDER)
    # And without a deadline it waits up to its configured timeout, long enough for the answer
    assert adapter.search(ORDER)


def test_a_twilio_call_that_cannot_finish_in_time_is_not_sent(env, numbers):
    # Given less time before the deadline than a call needs, when a list is asked for
    with finish_by(time.monotonic() + MIN_CALL_SECONDS / 2), pytest.raises(DeadlineExceeded) as raised:
        numbers.find_by_tag(TAG)

    # Then it was refused before anything was sent
    assert raised.value.step == "list_numbers"
    assert env.twilio.call_count("list_numbers") == 0


def test_twilio_deadlines_are_per_thread_on_one_shared_client(env):
    # Given one adapter (one SDK client, one HTTP client) shared by two threads
    adapter = twilio_numbers(env.twilio.base_url, timeout_seconds=5)
    adapter.search(ORDER)  # the SDK loads its modules on first use: not on the deadline's time
    env.twilio.inject("search_numbers", delay_ms=SLOW_MS, times=2)

    def search(deadline: float | None) -> str:
        with finish_by(deadline):
            try:
                return f"found {len(adapter.search(ORDER))}"
            except UpstreamTimeout:
                return "timed out"

    # When one thread has a deadline one second away and the other none, at the same time
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(search, [in_one_second(), None]))

    # Then only the thread with the deadline gave up
    assert outcomes == ["timed out", "found 5"]


def test_a_retry_that_cannot_finish_in_time_is_not_started(env, numbers):
    # Given Twilio failing every list with a retryable 503 after 150 ms, and time for one call only
    numbers.find_by_tag(TAG)  # the SDK loads its modules on first use: not on the deadline's time
    env.twilio.inject("list_numbers", status=503, delay_ms=150)

    with finish_by(time.monotonic() + MIN_CALL_SECONDS + 0.1), pytest.raises(UpstreamError) as raised:
        numbers.find_by_tag(TAG)

    # Then it was tried once, not three times (after the first, unhurried list)
    assert raised.value.retryable is True
    assert env.twilio.call_count("list_numbers") == 2


def test_a_retell_call_times_out_at_the_deadline_not_at_its_configured_timeout(env, retell):
    # Given Retell answering reads later than a deadline, sooner than the configured timeout (3 s)
    llm_id = retell.create_llm(prompt="p", begin_message=None, tag="t")
    env.retell.inject("get_llm", delay_ms=SLOW_MS, times=2)

    # Then a read gives up at the deadline, and without one waits for the answer
    with finish_by(in_one_second()), pytest.raises(UpstreamTimeout):
        retell.get_llm(llm_id)
    assert retell.get_llm(llm_id)["llm_id"] == llm_id


def test_a_retell_call_that_cannot_finish_in_time_is_not_sent(env, retell):
    # Given less time than a call needs, a delete is refused before anything is sent
    with finish_by(time.monotonic() + MIN_CALL_SECONDS / 2), pytest.raises(DeadlineExceeded):
        retell.delete_llm("llm_00000000000000000000000")

    assert env.retell.call_count("delete_llm") == 0


# --- Retell answering success with a body it cannot have meant ------------------------------------

UNREADABLE_BODIES = {
    "html": "<html><body>502 Bad Gateway</body></html>",
    "no id": '{"status": "ok"}',
    "not an object": '["llm_1"]',
    "empty id": '{"llm_id": "", "agent_id": "", "call_id": ""}',
}


@pytest.mark.parametrize("body", UNREADABLE_BODIES.values(), ids=UNREADABLE_BODIES.keys())
def test_retell_creates_answered_without_an_id_are_unknown_outcomes_never_repeated(env, retell, body):
    # Given Retell creating the LLM but answering without a readable id
    env.retell.inject("create_llm", body=body, times=1)

    # When an LLM is created
    with pytest.raises(UpstreamBadResponse) as raised:
        retell.create_llm(prompt="p", begin_message=None, tag="va-local:x")

    # Then it is an upstream error, not retried (the LLM was created), and the LLM is found by its tag
    assert env.retell.call_count("create_llm") == 1
    assert raised.value.provider == "retell" and raised.value.unprocessed is False
    assert [llm["default_dynamic_variables"] for llm in retell.list_llms()] == [
        {"voice_agents_tag": "va-local:x"}
    ]


@pytest.mark.parametrize("body", UNREADABLE_BODIES.values(), ids=UNREADABLE_BODIES.keys())
def test_retell_register_call_without_a_call_id_is_an_upstream_error(env, retell, body):
    llm_id = retell.create_llm(prompt="p", begin_message=None, tag="t")
    agent_id = retell.create_agent(llm_id=llm_id, voice_id="11labs-Adrian", language="en-AU", agent_name="x")
    env.retell.inject("register_call", body=body, times=1)

    # Then a registration without its call id is an upstream error (the webhook apologises)
    with pytest.raises(UpstreamBadResponse):
        retell.register_phone_call(
            agent_id=agent_id, from_number="+61298765432", to_number="+61412345678",
            metadata={"twilio_call_sid": "CA1"}, timeout_seconds=2,
        )  # fmt: skip


def test_retell_reads_answered_unreadably_are_retried(env, retell):
    # Given one unreadable answer to a read and to a list
    llm_id = retell.create_llm(prompt="p", begin_message=None, tag="t")
    env.retell.inject("get_llm", body=UNREADABLE_BODIES["html"], times=1)
    env.retell.inject("list_agents", body=UNREADABLE_BODIES["not an object"], times=1)

    # Then each is sent again and the second answer is used
    assert retell.get_llm(llm_id)["llm_id"] == llm_id
    assert list(retell.list_agents()) == []
    assert env.retell.call_count("get_llm") == 2 and env.retell.call_count("list_agents") == 2


def test_retell_deletes_need_no_body(env, retell):
    # Given a delete that succeeds with a proxy's page as its body
    llm_id = retell.create_llm(prompt="p", begin_message=None, tag="t")
    env.retell.inject("delete_llm", body=UNREADABLE_BODIES["html"], times=1)

    # Then the success status is enough
    assert retell.delete_llm(llm_id) is True
    assert env.retell.llms == {}


@pytest.mark.parametrize("body", ["<html><body>502 Bad Gateway</body></html>", '{"status": "ok"}'])
def test_a_purchase_answered_unreadably_is_an_unknown_outcome_found_by_tag(env, numbers, body):
    # Given Twilio buying the number but answering without a readable number
    candidate = numbers.search(ORDER, limit=1)[0]
    env.twilio.inject("buy_number", body=body, times=1)

    # When it is bought, the outcome is unknown (an upstream error, not a ValueError), never repeated
    with pytest.raises(UpstreamBadResponse):
        numbers.buy(candidate, order=ORDER, voice_url=VOICE_URL, tag=TAG)

    # And the tag finds the number Twilio did buy
    assert env.twilio.call_count("buy_number") == 1
    assert [number.phone_number for number in numbers.find_by_tag(TAG)] == [candidate]
