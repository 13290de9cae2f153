"""Where an owner's webhook may point, how it is signed, and what the business is told, without a
network: the address rules (every form of a private or loopback address refused), the URL rules, the
connection pinned to the checked address, Standard Webhooks signatures verified by the library, the
back-off, and the email's plain text."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from voice_agents.core.errors import TargetRefused
from voice_agents.core.settings import load_settings
from voice_agents.flows.notifications import content
from voice_agents.flows.notifications.delivery import MAX_BACKOFF_SECONDS, backoff_seconds
from voice_agents.flows.notifications.messages import QueuedNotification
from voice_agents.providers import webhooks
from voice_agents.providers.webhooks import Targets

PUBLIC = Targets.PUBLIC
LOOPBACK = Targets.LOOPBACK

REFUSED_ADDRESSES = [
    "127.0.0.1",
    "127.1.2.3",
    "0.0.0.0",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",  # EC2's instance metadata
    "100.64.0.1",  # shared address space (carrier NAT)
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.2.1",  # documentation
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd00:ec2::254",  # EC2's instance metadata over IPv6
    "ff02::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:169.254.169.254",
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b::808:808",  # NAT64 at all (reserved): Lambda has no NAT64 to reach a public host through
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "2001:0:4136:e378:8000:63bf:56ff:fe56",  # Teredo (its server and client addresses are judged too)
]
PUBLIC_ADDRESSES = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"]


@pytest.mark.parametrize("text", REFUSED_ADDRESSES)
def test_every_non_public_address_is_refused(text):
    assert webhooks.refusal(ipaddress.ip_address(text), PUBLIC) is not None


@pytest.mark.parametrize("text", PUBLIC_ADDRESSES)
def test_public_addresses_are_allowed(text):
    assert webhooks.refusal(ipaddress.ip_address(text), PUBLIC) is None


@pytest.mark.parametrize("text", ["127.0.0.1", "::1", "::ffff:127.0.0.1"])
def test_the_loopback_setting_allows_this_machine(text):
    assert webhooks.refusal(ipaddress.ip_address(text), LOOPBACK) is None


@pytest.mark.parametrize("text", ["169.254.169.254", "10.0.0.1", "93.184.216.34", "::ffff:169.254.169.254"])
def test_the_loopback_setting_allows_nothing_else(text):
    assert webhooks.refusal(ipaddress.ip_address(text), LOOPBACK) is not None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/calls", "https"),
        ("ftp://hooks.example.com/calls", "https"),
        ("https://user:secret@hooks.example.com/", "user name or password"),
        ("https://127.0.0.1/", "loopback"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://[::ffff:a9fe:a9fe]/", r"link-local \(169\.254\.169\.254\)"),
        ("https://[fd00:ec2::254]/", "private"),
        ("https://localhost:8443/", "localhost"),
        ("https:///calls", "no host"),
        ("https://hooks.example.com:99999/", "not valid"),
        ("https://hooks.example.com/" + "a" * 2100, "longer"),
    ],
)
def test_urls_that_may_not_be_sent_to_are_refused_before_any_dns(url, reason, no_network):
    with pytest.raises(TargetRefused, match=reason):
        webhooks.check_url(url, PUBLIC)


def test_a_public_url_is_split_for_the_connection(no_network):
    target = webhooks.check_url("https://Hooks.Example.com:8443/calls?token=abc", PUBLIC)

    assert (target.scheme, target.host, target.port, target.path) == (
        "https", "hooks.example.com", 8443, "/calls?token=abc",
    )  # fmt: skip
    assert target.host_header == "hooks.example.com:8443"
    assert webhooks.describe(target) == {"scheme": "https", "host": "hooks.example.com", "port": 8443}


def test_the_local_stack_may_name_only_this_machine_and_asks_no_dns(no_network, monkeypatch):
    monkeypatch.setattr(webhooks, "resolve", _no_dns)
    assert webhooks.check_url("http://127.0.0.1:9000/hooks", LOOPBACK).port == 9000
    assert webhooks.check_url("http://localhost:9000/hooks", LOOPBACK).host == "localhost"
    with pytest.raises(TargetRefused, match="only to this machine"):
        webhooks.check_url("https://hooks.example.com/", LOOPBACK)


def _no_dns(host: str, port: int) -> list[Any]:
    raise AssertionError(f"resolved {host}")


def test_every_resolved_address_is_checked_so_one_private_answer_refuses_the_name(monkeypatch):
    answers = [ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("169.254.169.254")]
    monkeypatch.setattr(webhooks, "resolve", lambda host, port: answers)
    target = webhooks.check_url("https://rebinding.example/hooks", PUBLIC)

    with pytest.raises(TargetRefused, match=r"link-local \(169\.254\.169\.254\)"):
        webhooks.resolve_target(target, PUBLIC)


def test_the_post_goes_to_the_checked_address_with_the_name_kept_for_host_and_tls(monkeypatch, no_network):
    resolutions: list[str] = []

    def resolve(host: str, port: int) -> list[Any]:
        resolutions.append(host)
        return [ipaddress.ip_address("93.184.216.34")]

    seen: list[httpx.Request] = []

    def endpoint(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    monkeypatch.setattr(webhooks, "resolve", resolve)
    target = webhooks.check_url("https://hooks.example.com/calls?token=abc", PUBLIC)
    addresses = webhooks.resolve_target(target, PUBLIC)

    attempt = webhooks.post(
        target, addresses, "{}", {"webhook-id": "evt_1"}, timeout_seconds=5,
        transport=httpx.MockTransport(endpoint),
    )  # fmt: skip

    assert attempt.delivered and attempt.status == 204
    [request] = seen
    assert (request.url.host, request.url.port or 443) == ("93.184.216.34", 443)  # the checked address
    assert request.url.raw_path == b"/calls?token=abc"
    assert request.headers["host"] == "hooks.example.com"
    assert request.extensions["sni_hostname"] == "hooks.example.com"  # TLS checks the name's certificate
    assert request.headers["webhook-id"] == "evt_1"
    assert resolutions == ["hooks.example.com"]  # once: nothing resolves it again before connecting


def test_an_ipv6_target_is_bracketed(no_network):
    seen: list[httpx.Request] = []

    def endpoint(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    target = webhooks.check_url("https://[2606:4700:4700::1111]:8443/x", PUBLIC)
    addresses = webhooks.resolve_target(target, PUBLIC)
    webhooks.post(target, addresses, "{}", {}, timeout_seconds=5, transport=httpx.MockTransport(endpoint))

    assert str(seen[0].url) == "https://[2606:4700:4700::1111]:8443/x"
    assert seen[0].headers["host"] == "[2606:4700:4700::1111]:8443"


def test_a_redirect_is_not_followed_and_is_no_delivery(no_network):
    target = webhooks.check_url("https://[2606:4700:4700::1111]/x", PUBLIC)
    answer = httpx.MockTransport(
        lambda request: httpx.Response(302, headers={"location": "http://10.0.0.1/"})
    )
    attempt = webhooks.post(
        target, webhooks.resolve_target(target, PUBLIC), "{}", {}, timeout_seconds=5, transport=answer
    )
    assert (attempt.delivered, attempt.status) == (False, 302)


# ---------------------------------------------------------------- signatures


def test_a_delivery_verifies_with_the_standard_webhooks_library_and_only_with_its_secret():
    secret, other = webhooks.new_secret(), webhooks.new_secret()
    body = '{"type":"call.analyzed"}'
    headers = webhooks.signature_headers("evt_1", body, [secret], datetime.now(UTC))

    assert secret.startswith("whsec_") and secret != other
    assert Webhook(secret).verify(body, headers) == {"type": "call.analyzed"}
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace("analyzed", "started"), headers)


def test_during_a_rotation_either_secret_verifies():
    new, old = webhooks.new_secret(), webhooks.new_secret()
    body = "{}"
    headers = webhooks.signature_headers("evt_1", body, [new, old], datetime.now(UTC))

    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(new).verify(body, headers) == Webhook(old).verify(body, headers) == {}


def test_a_stale_signature_is_refused_by_the_receiver():
    secret = webhooks.new_secret()
    headers = webhooks.signature_headers("evt_1", "{}", [secret], datetime.now(UTC) - timedelta(minutes=6))
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify("{}", headers)


# ---------------------------------------------------------------- retries and messages


@pytest.mark.parametrize(
    ("receives", "low", "high"), [(1, 15, 30), (2, 30, 60), (4, 120, 240), (12, 1800, 3600)]
)
def test_the_back_off_doubles_per_receive_with_jitter_up_to_an_hour(receives, low, high):
    settings = load_settings({"NOTIFICATION_RETRY_BASE_SECONDS": "30"})
    delays = {backoff_seconds(receives, settings) for _ in range(50)}
    assert all(low <= delay <= high for delay in delays)
    assert max(delays) <= MAX_BACKOFF_SECONDS


def test_a_queued_message_reads_back_and_anything_else_is_dropped():
    moment = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    message = QueuedNotification("evt_CA1_analyzed", "email", "CA1", "owner", moment)
    import json

    assert QueuedNotification.read(json.dumps(message.body())) == message
    for text in ("not json", "{}", json.dumps({**message.body(), "channel": "sms"}), "[]"):
        assert QueuedNotification.read(text) is None


# ---------------------------------------------------------------- the email


def test_the_email_is_plain_text_with_the_summary_the_caller_and_the_answers():
    analysed = content.sample(datetime(2026, 11, 25, 10, 3, tzinfo=UTC))

    subject, text = content.email_subject(analysed), content.email_text(analysed)

    assert subject == "Call from +61298765432 to Sample agent"
    assert "Caller: +61298765432\n" in text
    assert "Time: 2026-11-25 10:00 UTC\n" in text
    assert "Duration: 1 min 13 s\n" in text
    assert "Summary:\nThis is a test notification" in text
    assert "Answers:\n- callback_requested: no\n- reason_for_call: opening hours\n" in text


def test_nothing_a_caller_controls_can_add_a_header_or_a_line():
    analysed = content.sample(datetime.now(UTC))
    forged = content.AnalysedCall(
        analysed.call.model_copy(update={"from_": "+61 2\r\nBcc: victim@example.com"}),
        "Front desk\nX-Injected: 1",
        {"note\nline": "two\nlines", "nested": {"a": [1, 2]}},
    )

    subject, text = content.email_subject(forged), content.email_text(forged)

    assert "\n" not in subject and "\r" not in subject
    assert "- note line: two lines\n" in text
    assert '- nested: {"a": [1, 2]}\n' in text
