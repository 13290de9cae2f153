"""Retell's webhook signature: the published test vector, and the local fake signing the same way."""

from __future__ import annotations

from local.fakes.retell import retell_signature
from voice_agents.flows.calls.retell_signature import SIGNATURE_FORMAT, sign, signature_digest

# Retell's published test vector (its SDK's webhook verification test).
VECTOR_BODY = b'{"event":"call_ended"}'
VECTOR_KEY = "test-api-key"
VECTOR_TIMESTAMP = 1700000000000
VECTOR_DIGEST = "07024cabe7dd8f6d1c6e4a8324ca92c812e6ad4a7ee506c04f7e462e3321823e"


def test_the_digest_matches_retells_published_vector():
    assert signature_digest(VECTOR_BODY, str(VECTOR_TIMESTAMP), VECTOR_KEY) == VECTOR_DIGEST


def test_a_signature_names_its_timestamp_and_digest_in_the_strict_format():
    header = sign(VECTOR_BODY, VECTOR_KEY, VECTOR_TIMESTAMP)

    assert header == f"v={VECTOR_TIMESTAMP},d={VECTOR_DIGEST}"
    assert SIGNATURE_FORMAT.fullmatch(header)


def test_the_local_fake_signs_as_retell_does():
    # The fake's signer is written separately: both agreeing on the vector checks each against Retell.
    assert (
        retell_signature(VECTOR_BODY, VECTOR_KEY, VECTOR_TIMESTAMP)
        == f"v={VECTOR_TIMESTAMP},d={VECTOR_DIGEST}"
    )


def test_the_format_refuses_what_retell_never_sends():
    for header in (
        f"v={VECTOR_TIMESTAMP},d={VECTOR_DIGEST.upper()}",  # upper-case hex
        f"v={VECTOR_TIMESTAMP},d={VECTOR_DIGEST[:-1]}",  # a digit short
        f"v={VECTOR_TIMESTAMP}, d={VECTOR_DIGEST}",  # a space
        f"d={VECTOR_DIGEST},v={VECTOR_TIMESTAMP}",  # the other order
        f"v=-1,d={VECTOR_DIGEST}",
        f"v={VECTOR_TIMESTAMP},d={VECTOR_DIGEST},x=1",
        VECTOR_DIGEST,
    ):
        assert SIGNATURE_FORMAT.fullmatch(header) is None, header
