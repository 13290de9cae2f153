"""scripts/cognito_token.py against the server side of SRP: a stand-in for Cognito's two calls that
holds only the password's verifier (v = g^x) and checks the client's proof as Cognito does, so a
wrong constant, padding, hash or key derivation in the client fails here."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import importlib.util
import secrets
import sys
from typing import Any

import pytest

from local.invoke import ROOT

_spec = importlib.util.spec_from_file_location("cognito_token", ROOT / "scripts" / "cognito_token.py")
assert _spec is not None and _spec.loader is not None
cognito_token = importlib.util.module_from_spec(_spec)
sys.modules["cognito_token"] = cognito_token
_spec.loader.exec_module(cognito_token)

POOL_ID = "ap-southeast-2_AbCdEf123"
USER_ID = "3c1e7a52-0000-4000-8000-000000000001"  # Cognito signs in by the user's sub


def _pi_bits(bits: int) -> int:
    """floor(2**bits * pi), by Machin's formula in integers."""

    def arctan_inverse(x: int, one: int) -> int:
        total = term = one // x
        n, sign = 1, -1
        while term:
            term //= x * x
            total += sign * (term // (2 * n + 1))
            sign, n = -sign, n + 1
        return total

    extra = 64
    one = 1 << (bits + extra)
    return (4 * (4 * arctan_inverse(5, one) - arctan_inverse(239, one))) >> extra


def test_the_modulus_is_rfc_3526s_3072_bit_prime() -> None:
    # RFC 3526, section 4: p = 2^3072 - 2^3008 - 1 + 2^64 * { [2^2942 pi] + 1690314 }
    rfc_3526_prime = 2**3072 - 2**3008 - 1 + 2**64 * (_pi_bits(2942) + 1690314)
    assert rfc_3526_prime == cognito_token.N


class CognitoServer:
    """The server half of USER_SRP_AUTH for one user and password."""

    def __init__(self, password: str) -> None:
        self.salt = secrets.token_hex(16)
        identity = hashlib.sha256(f"{POOL_ID.split('_')[1]}{USER_ID}:{password}".encode()).hexdigest()
        x = int(cognito_token.hex_hash(cognito_token.pad_hex(self.salt) + identity), 16)
        self.verifier = pow(cognito_token.G, x, cognito_token.N)
        self.secret_block = base64.standard_b64encode(secrets.token_bytes(64)).decode()
        self.calls: list[str] = []

    def initiate_auth(self, **request: Any) -> dict[str, Any]:
        self.calls.append("initiate_auth")
        assert request["AuthFlow"] == "USER_SRP_AUTH"
        self.A = int(request["AuthParameters"]["SRP_A"], 16)
        self.b = secrets.randbits(1024)
        N, g, k = cognito_token.N, cognito_token.G, cognito_token.K
        self.B = (k * self.verifier + pow(g, self.b, N)) % N
        parameters = {"SALT": self.salt, "SRP_B": f"{self.B:x}", "SECRET_BLOCK": self.secret_block,
                      "USER_ID_FOR_SRP": USER_ID, "USERNAME": USER_ID}  # fmt: skip
        return {"ChallengeName": "PASSWORD_VERIFIER", "ChallengeParameters": parameters}

    def respond_to_auth_challenge(self, **request: Any) -> dict[str, Any]:
        self.calls.append("respond_to_auth_challenge")
        responses = request["ChallengeResponses"]
        N, pad = cognito_token.N, cognito_token.pad_hex
        u = int(cognito_token.hex_hash(pad(self.A) + pad(self.B)), 16)
        S = pow(self.A * pow(self.verifier, u, N), self.b, N)  # the server's side of the same secret
        prk = hmac.new(bytes.fromhex(pad(u)), bytes.fromhex(pad(S)), hashlib.sha256).digest()
        key = hmac.new(prk, b"Caldera Derived Key\x01", hashlib.sha256).digest()[:16]
        message = (
            (POOL_ID.split("_")[1] + USER_ID).encode()
            + base64.standard_b64decode(responses["PASSWORD_CLAIM_SECRET_BLOCK"])
            + responses["TIMESTAMP"].encode()
        )
        expected = base64.standard_b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(expected, responses["PASSWORD_CLAIM_SIGNATURE"]):
            raise PermissionError("NotAuthorizedException: Incorrect username or password.")
        return {"AuthenticationResult": {"AccessToken": "access", "IdToken": "id", "ExpiresIn": 3600}}


def test_the_right_password_signs_in() -> None:
    server = CognitoServer("correct horse battery staple")

    result = cognito_token.sign_in(
        server, POOL_ID, "client", "someone@example.com", "correct horse battery staple"
    )

    assert result["AccessToken"] == "access"
    assert server.calls == ["initiate_auth", "respond_to_auth_challenge"]


def test_a_wrong_password_is_refused_by_the_server() -> None:
    server = CognitoServer("correct horse battery staple")

    with pytest.raises(PermissionError):
        cognito_token.sign_in(server, POOL_ID, "client", "someone@example.com", "Tr0ub4dor&3")


def test_the_timestamp_is_cognitos_format_without_a_padded_day() -> None:
    client = cognito_token.SrpClient(POOL_ID, "someone", "pw", a=12345)
    server = CognitoServer("pw")
    parameters = server.initiate_auth(AuthFlow="USER_SRP_AUTH", AuthParameters={"SRP_A": client.srp_a})

    moment = datetime.datetime(2026, 11, 4, 9, 5, 1, tzinfo=datetime.UTC)
    response = client.verifier_response(parameters["ChallengeParameters"], moment)

    assert response["TIMESTAMP"] == "Wed Nov 4 09:05:01 UTC 2026"
    assert response["USERNAME"] == USER_ID


@pytest.mark.parametrize(("value", "padded"), [(0xABC, "0abc"), (0x7F, "7f"), (0x80, "0080"), ("ff", "00ff")])
def test_hex_is_padded_as_cognito_hashes_it(value: int | str, padded: str) -> None:
    assert cognito_token.pad_hex(value) == padded
