"""The business's own webhook: where it may point, how a delivery is signed, and the POST itself.

An owner chooses the URL, so it is a way into our network if we let it be (server-side request
forgery): 169.254.169.254, the Lambda runtime API on 127.0.0.1:9001, a database in a VPC. So:

- ``check_url`` (when the owner saves it, and before each send): https only; no credentials in it;
  a host that is an IP literal must be public, and ``localhost`` is refused.
- ``resolve_target`` (at send time): the host is resolved once and *every* address checked
  (``refusal``: private, loopback, link-local, reserved, multicast, unspecified, shared, and the IPv4
  inside IPv4-mapped, NAT64, 6to4 and Teredo IPv6 forms), so a name that also resolves to a private
  address is refused whole.
- ``post`` connects to a checked address, never to the name: the URL is rewritten to the address,
  ``Host`` and TLS (SNI and the certificate's name, through httpcore's ``sni_hostname``) keep the
  name. DNS is not asked again, so there is no window in which the name can be pointed elsewhere.
  Redirects are not followed and no proxy is read from the environment.

``Targets.LOOPBACK`` (the setting ``NOTIFICATION_TARGETS=loopback``, set by the local stack and never
by the template) turns this round for tests: only this machine (a loopback literal or ``localhost``),
over http or https; any other host is refused without a DNS query.

Deliveries are signed with the Standard Webhooks library (``webhook-id``, ``webhook-timestamp``,
``webhook-signature``): one ``v1`` signature per secret in use, so a rotated secret's predecessor
still verifies while it lasts.
"""

from __future__ import annotations

import base64
import ipaddress
import secrets
import socket
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import httpx
from standardwebhooks import Webhook

from voice_agents.core.errors import TargetRefused
from voice_agents.core.observability import external_call

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2048
SECRET_PREFIX = "whsec_"  # noqa: S105 - Standard Webhooks' prefix, stripped by the library
SECRET_BYTES = 32
USER_AGENT = "voice-agents-webhooks/1"
# RFC 6052's well-known NAT64 prefix: the last 32 bits are an IPv4 address.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_LOCALHOST_NAMES = ("localhost", "localhost.")


class HostNotResolved(Exception):
    """DNS gave no answer for the host now: worth another try later, unlike a refused target."""


class Targets(StrEnum):
    PUBLIC = "public"
    LOOPBACK = "loopback"


@dataclass(frozen=True)
class WebhookTarget:
    """A checked URL, split into what the connection needs."""

    scheme: str
    host: str  # lower case; an IPv6 literal without brackets
    port: int
    path: str  # path and query, as given

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


@dataclass(frozen=True)
class Attempt:
    """One POST: the endpoint's status, or why there was none (a timeout, a refused connection)."""

    status: int | None
    error: str | None
    duration_ms: float

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def new_secret() -> str:
    """A signing secret in Standard Webhooks' format: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signature_headers(
    event_id: str, body: str, signing_secrets: list[str], moment: datetime
) -> dict[str, str]:
    """The Standard Webhooks headers for ``body``, signed with every secret in use (newest first)."""
    signatures = " ".join(Webhook(secret).sign(event_id, moment, body) for secret in signing_secrets)
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signatures,
    }


def check_url(url: str, targets: Targets) -> WebhookTarget:
    """The URL's parts if it may be sent to as far as can be told without DNS, else TargetRefused."""
    if len(url) > MAX_URL_LENGTH:
        raise TargetRefused(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"the URL is not valid ({exc})") from None
    allowed_schemes = ("https",) if targets is Targets.PUBLIC else ("https", "http")
    if parts.scheme not in allowed_schemes:
        raise TargetRefused("the URL must start with https://")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("the URL must not carry a user name or password")
    host = (parts.hostname or "").lower()
    if not host or any(character.isspace() for character in url):
        raise TargetRefused("the URL has no host")
    literal = _ip_literal(host)
    if literal is not None:
        _require_allowed(literal, targets)
    elif host in _LOCALHOST_NAMES:
        if targets is Targets.PUBLIC:
            raise TargetRefused("the URL's host is this machine (localhost)")
    elif targets is Targets.LOOPBACK:
        raise TargetRefused("the local stack sends only to this machine (localhost or 127.0.0.1)")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return WebhookTarget(parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path)


def resolve_target(target: WebhookTarget, targets: Targets) -> list[IPAddress]:
    """Every address the host has now, each checked: TargetRefused if any one may not be sent to,
    HostNotResolved if it has none."""
    literal = _ip_literal(target.host)
    found = [literal] if literal is not None else resolve(target.host, target.port)
    if not found:
        raise HostNotResolved(f"{target.host} has no address")
    for address in found:
        _require_allowed(address, targets)
    return found


def resolve(host: str, port: int) -> list[IPAddress]:
    """The host's addresses, as the system resolver gives them (tests replace this function)."""
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise HostNotResolved(f"{host} does not resolve ({exc})") from None
    addresses: list[IPAddress] = []
    for _family, _type, _protocol, _name, sockaddr in answers:
        # An IPv6 scope ("fe80::1%eth0") is dropped: it can only make a refused address look different.
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def refusal(address: IPAddress, targets: Targets) -> str | None:
    """Why ``address`` may not be sent to (naming the address at fault), or None. Loopback is allowed
    only with Targets.LOOPBACK, and then nothing else is. An IPv6 address carrying an IPv4 one is
    judged by both, the IPv4 first (so the reason names 169.254.169.254, not ::ffff:a9fe:a9fe)."""
    embedded = _embedded_ipv4(address)
    if targets is Targets.LOOPBACK:
        loopback = (address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None) or address
        return None if loopback.is_loopback else f"not this machine ({address})"
    for each in [*embedded, address]:
        for reason, applies in (
            ("unspecified", each.is_unspecified),
            ("loopback", each.is_loopback),
            ("link-local", each.is_link_local),
            ("private", each.is_private),
            ("multicast", each.is_multicast),
            ("reserved", each.is_reserved),  # NAT64's prefix among them, whatever it carries
            ("not public", not each.is_global),  # shared (100.64/10), benchmarking, documentation...
        ):
            if applies:
                return f"{reason} ({each})"
    return None


def post(
    target: WebhookTarget,
    addresses: list[IPAddress],
    body: str,
    headers: Mapping[str, str],
    *,
    timeout_seconds: float,
    transport: httpx.BaseTransport | None = None,
) -> Attempt:
    """POST ``body`` to the target at its first checked address that accepts a connection (the next
    only when one refuses). The answer's body is never read."""
    started = time.perf_counter()
    sent_headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        **headers,
        "host": target.host_header,
    }
    error = "no address"
    with (
        external_call("webhook", "post"),
        httpx.Client(
            timeout=timeout_seconds, follow_redirects=False, trust_env=False, transport=transport
        ) as client,
    ):
        for address in addresses:
            url = f"{target.scheme}://{_url_host(address)}:{target.port}{target.path}"
            request = client.build_request("POST", url, content=body.encode(), headers=sent_headers)
            # TLS is checked against the name the owner gave, on the connection to the checked address.
            request.extensions["sni_hostname"] = target.host
            try:
                response = client.send(request, stream=True)
            except httpx.ConnectError as exc:
                error = f"connection failed: {_reason(exc)}"
                continue
            except httpx.TimeoutException:
                return Attempt(None, f"no answer within {timeout_seconds:g} s", _since(started))
            except httpx.HTTPError as exc:
                return Attempt(None, f"request failed: {_reason(exc)}", _since(started))
            response.close()
            return Attempt(response.status_code, None, _since(started))
    return Attempt(None, error, _since(started))


def _require_allowed(address: IPAddress, targets: Targets) -> None:
    reason = refusal(address, targets)
    if reason is not None:
        raise TargetRefused(f"the URL's host is or resolves to an address that is {reason}")


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def _embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, NAT64, 6to4, Teredo): each checked too."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    embedded: list[ipaddress.IPv4Address | None] = [address.ipv4_mapped, address.sixtofour]
    if address.teredo is not None:
        embedded.extend(address.teredo)
    if address in _NAT64:
        embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [each for each in embedded if each is not None]


def _url_host(address: IPAddress) -> str:
    return f"[{address}]" if isinstance(address, ipaddress.IPv6Address) else str(address)


def _reason(exc: Exception) -> str:
    return str(exc)[:200] or type(exc).__name__


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def describe(target: WebhookTarget) -> dict[str, Any]:
    """What a log line may say of a target: scheme, host and port (never the path or query, which
    may hold the owner's own token)."""
    return {"scheme": target.scheme, "host": target.host, "port": target.port}
