"""The fake Twilio answers Twilio's test credentials as Twilio documents them: the magic numbers of a
purchase, nothing kept, and 403 (20008) for every other resource."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from local.fakes import FakeTwilio
from local.fakes.twilio_test_credentials import (
    MAGIC_AVAILABLE,
    MAGIC_INVALID,
    MAGIC_UNAVAILABLE,
    TEST_ACCOUNT_SID,
    TEST_AUTH_TOKEN,
)

pytestmark = pytest.mark.integration
NUMBERS = f"/2010-04-01/Accounts/{TEST_ACCOUNT_SID}/IncomingPhoneNumbers.json"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as started:
        yield started


@pytest.fixture(scope="module")
def twilio(fake: FakeTwilio) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake.base_url, auth=(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN)) as http:
        yield http


@pytest.mark.parametrize(
    ("number", "status", "code"),
    [(MAGIC_AVAILABLE, 201, None), (MAGIC_UNAVAILABLE, 400, 21422), (MAGIC_INVALID, 400, 21421)],
)
def test_the_magic_numbers_answer_as_documented(
    twilio: httpx.Client, number: str, status: int, code: int | None
) -> None:
    answer = twilio.post(
        NUMBERS, data={"PhoneNumber": number, "VoiceUrl": "https://x.example/v", "FriendlyName": "t"}
    )
    assert answer.status_code == status
    assert answer.json().get("code") == code
    if status == 201:
        assert (
            answer.json() | {"phone_number": number, "voice_url": "https://x.example/v", "friendly_name": "t"}
            == answer.json()
        )
        assert answer.json()["account_sid"] == TEST_ACCOUNT_SID


def test_nothing_bought_is_kept_and_other_resources_are_forbidden(
    fake: FakeTwilio, twilio: httpx.Client
) -> None:
    assert twilio.post(NUMBERS, data={"PhoneNumber": MAGIC_AVAILABLE}).status_code == 201
    assert fake.owned == {}
    listing = twilio.get(NUMBERS)
    assert (listing.status_code, listing.json()["code"]) == (403, 20008)
    search = twilio.get(f"/2010-04-01/Accounts/{TEST_ACCOUNT_SID}/AvailablePhoneNumbers/US/Local.json")
    assert (search.status_code, search.json()["code"]) == (403, 20008)
