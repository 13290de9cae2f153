"""Requests Retell signs: its call events and its calls of the agent's custom functions (the
transfer tool). ``x-retell-signature: v={timestamp_ms},d={hex}``, where hex = HMAC-SHA256(key =
RETELL_API_KEY, msg = raw body + str(timestamp_ms)). The check runs over the raw body (base64-decoded
when API Gateway encoded it), before anything is parsed or read: a missing, malformed, wrong or stale
(more than 5 minutes off) signature costs no database read. A failed check re-reads the secret once
(rate-limited): the key may have rotated."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from typing import TYPE_CHECKING

from voice_agents.core.observability import count, logger

if TYPE_CHECKING:
    from voice_agents.runtime import Runtime

SIGNATURE_HEADER = "x-retell-signature"
# ASCII digits only, and no more than a millisecond timestamp needs: a longer number is refused by
# the pattern instead of being converted (Python refuses to convert over 4,300 digits).
SIGNATURE_FORMAT = re.compile(r"v=([0-9]{1,15}),d=([0-9a-f]{64})")
MAX_CLOCK_SKEW_MS = 5 * 60 * 1000


def signature_digest(body: bytes, timestamp_ms: str, api_key: str) -> str:
    """Retell's digest of ``body`` sent at ``timestamp_ms`` (the ``d`` of the header)."""
    return hmac.new(api_key.encode(), body + timestamp_ms.encode(), hashlib.sha256).hexdigest()


def sign(body: bytes, api_key: str, timestamp_ms: int) -> str:
    """The ``x-retell-signature`` value Retell sends for ``body`` (the local fake signs with it)."""
    return f"v={timestamp_ms},d={signature_digest(body, str(timestamp_ms), api_key)}"


def signed_body(
    body: str | None, is_base64: bool, headers: dict[str, str], process: Runtime, now_ms: int
) -> bytes | None:
    """The raw body when Retell signed it, else None (the reason logged and counted)."""
    raw = _raw_body(body, is_base64)
    header = next((value for key, value in headers.items() if key.lower() == SIGNATURE_HEADER), None)
    signed = SIGNATURE_FORMAT.fullmatch(header or "")
    if raw is None or signed is None:
        _refused("missing or malformed signature")
        return None
    timestamp, digest = signed.groups()
    if abs(now_ms - int(timestamp)) > MAX_CLOCK_SKEW_MS:
        _refused("signature timestamp more than 5 minutes off")
        return None

    def signed_with(key: str) -> bool:
        return hmac.compare_digest(signature_digest(raw, timestamp, key), digest)

    if process.signed_with_secret("RETELL_API_KEY", signed_with) is None:
        _refused("invalid signature")
        return None
    return raw


def _raw_body(body: str | None, is_base64: bool) -> bytes | None:
    text = body or ""
    if not is_base64:
        return text.encode("utf-8", errors="surrogatepass")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        return None


def _refused(reason: str) -> None:
    logger.warning("Retell request refused", reason=reason)
    count("RetellSignatureRejected")
