"""Twilio's test credentials, as the fake Twilio answers them: a second credential pair that buys
nothing and reaches nothing of the account.

What Twilio documents for test credentials ("Test Credentials" in Twilio's IAM docs):
    - They may only buy numbers (POST IncomingPhoneNumbers), send messages and place calls; the fake
      serves the purchase only. Any other request is 403 (code 20008, "Resource not accessible with
      Test Account Credentials").
    - A purchase is validated as a live one would be, but nothing is bought or kept: the answer echoes
      the parameters given (VoiceUrl, FriendlyName ...), and the number never appears in a listing.
    - The magic PhoneNumbers: +15005550006 is available (201), +15005550000 is unavailable (21422),
      +15005550001 is invalid (21421). The fake treats every other number as unavailable (the test
      account owns no inventory).
"""

from __future__ import annotations

from collections.abc import Callable

from local.fakes.server import JsonObject, ProviderError, Request, Response, json_response

TEST_ACCOUNT_SID = "AC" + "fedcba9876543210" * 2
TEST_AUTH_TOKEN = "local-test-auth-token"

MAGIC_AVAILABLE = "+15005550006"
MAGIC_UNAVAILABLE = "+15005550000"
MAGIC_INVALID = "+15005550001"

NOT_ACCESSIBLE = 20008
_PURCHASE_PATH = f"/2010-04-01/Accounts/{TEST_ACCOUNT_SID}/IncomingPhoneNumbers.json"


def test_credentials_environment() -> dict[str, str]:
    """What a smoke run reads for the test pair (the local stack's ready file carries it)."""
    return {"TWILIO_TEST_ACCOUNT_SID": TEST_ACCOUNT_SID, "TWILIO_TEST_AUTH_TOKEN": TEST_AUTH_TOKEN}


def is_test_pair(credentials: tuple[str, str] | None) -> bool:
    return credentials == (TEST_ACCOUNT_SID, TEST_AUTH_TOKEN)


def answer_test_request(
    request: Request, new_number: Callable[[str], JsonObject], settings_of: Callable[[], JsonObject]
) -> Response:
    """The fake's answer to a request made with the test pair (ProviderError for a refusal).
    ``new_number(phone)`` builds a number resource as a live purchase would, ``settings_of()`` the
    parameters the form sets on it (validated as for a live purchase)."""
    if (request.method, request.path) != ("POST", _PURCHASE_PATH):
        raise ProviderError(403, "Resource not accessible with Test Account Credentials", NOT_ACCESSIBLE)
    phone_number = request.form().get("PhoneNumber", "").strip()
    if phone_number[:1].isdigit():  # a "+" sent unescaped reads as a space
        phone_number = f"+{phone_number}"
    settings = settings_of()
    if phone_number == MAGIC_INVALID:
        raise ProviderError(400, f"The phone number {phone_number} is invalid.", 21421)
    if phone_number != MAGIC_AVAILABLE:
        raise ProviderError(400, f"The phone number {phone_number} is not available.", 21422)
    resource = new_number(phone_number) | settings
    # Nothing is kept: the answer names the test account, and no listing will show the number.
    resource["account_sid"] = TEST_ACCOUNT_SID
    resource["uri"] = f"/2010-04-01/Accounts/{TEST_ACCOUNT_SID}/IncomingPhoneNumbers/{resource['sid']}.json"
    return json_response(201, resource)
