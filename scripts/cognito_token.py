"""A Cognito token from a shell: SRP sign-in (USER_SRP_AUTH) against the stack's app client.

    .venv/bin/python scripts/cognito_token.py --user-pool-id ap-southeast-2_AbC --client-id 1a2b... \
        --username you@example.com            (the password is asked for, or read from $COGNITO_PASSWORD)

Prints the access token (``--id-token`` for the ID token). The dashboard's app client allows SRP and
the OAuth code flow only, so `aws cognito-idp initiate-auth` cannot sign in with a password; this
does the SRP exchange Cognito's own SDKs do (RFC 5054's 3072-bit group, Cognito's key derivation),
with boto3. A user made by admin-create-user must first set a password (README, "Deployed use").
"""

from __future__ import annotations

import argparse
import base64
import datetime
import getpass
import hashlib
import hmac
import os
import secrets
import sys
from typing import Any

# RFC 3526's 3072-bit MODP prime (group 15), the modulus Cognito's SRP uses; generator 2.
N_HEX = (
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C"
    "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF"
)
N = int(N_HEX, 16)
G = 2
INFO = b"Caldera Derived Key\x01"


def pad_hex(value: int | str) -> str:
    """Hex of a positive number as Cognito hashes it: even length, a leading 00 when the top bit is set."""
    text = value if isinstance(value, str) else f"{value:x}"
    if len(text) % 2:
        return "0" + text
    return "00" + text if text[0] in "89abcdefABCDEF" else text


def hex_hash(hex_text: str) -> str:
    return hashlib.sha256(bytes.fromhex(hex_text)).hexdigest()


K = int(hex_hash("00" + N_HEX + "02"), 16)


class SrpClient:
    """The client side of one Cognito SRP exchange for ``username`` in ``user_pool_id``."""

    def __init__(self, user_pool_id: str, username: str, password: str, *, a: int | None = None) -> None:
        self.pool_name = user_pool_id.split("_", 1)[1]
        self.username = username
        self.password = password
        self.a = a if a is not None else secrets.randbits(1024) % N
        self.A = pow(G, self.a, N)

    @property
    def srp_a(self) -> str:
        return f"{self.A:x}"

    def password_key(self, user_id: str, salt_hex: str, srp_b_hex: str) -> bytes:
        """The 16-byte key both sides derive: HKDF(S, u), S = (B - k g^x)^(a + u x) mod N."""
        B = int(srp_b_hex, 16)
        if B % N == 0:
            raise ValueError("the server's SRP_B is 0 mod N")
        u = int(hex_hash(pad_hex(self.A) + pad_hex(B)), 16)
        identity = hashlib.sha256(f"{self.pool_name}{user_id}:{self.password}".encode()).hexdigest()
        x = int(hex_hash(pad_hex(salt_hex) + identity), 16)
        S = pow(B - K * pow(G, x, N), self.a + u * x, N)
        prk = hmac.new(bytes.fromhex(pad_hex(u)), bytes.fromhex(pad_hex(S)), hashlib.sha256).digest()
        return hmac.new(prk, INFO, hashlib.sha256).digest()[:16]

    def verifier_response(self, parameters: dict[str, str], now: datetime.datetime) -> dict[str, str]:
        """ChallengeResponses for PASSWORD_VERIFIER, from the challenge's parameters."""
        user_id = parameters["USER_ID_FOR_SRP"]
        key = self.password_key(user_id, parameters["SALT"], parameters["SRP_B"])
        # Cognito's format: "Tue Nov 4 09:05:01 UTC 2026" (the day not zero-padded).
        timestamp = now.strftime("%a %b ") + str(now.day) + now.strftime(" %H:%M:%S UTC %Y")
        message = (
            self.pool_name.encode()
            + user_id.encode()
            + base64.standard_b64decode(parameters["SECRET_BLOCK"])
            + timestamp.encode()
        )
        signature = base64.standard_b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
        return {
            "TIMESTAMP": timestamp,
            "USERNAME": user_id,
            "PASSWORD_CLAIM_SECRET_BLOCK": parameters["SECRET_BLOCK"],
            "PASSWORD_CLAIM_SIGNATURE": signature,
        }


def sign_in(cognito: Any, user_pool_id: str, client_id: str, username: str, password: str) -> dict[str, Any]:
    """AuthenticationResult (AccessToken, IdToken, RefreshToken, ExpiresIn) for this user."""
    client = SrpClient(user_pool_id, username, password)
    started = cognito.initiate_auth(
        AuthFlow="USER_SRP_AUTH",
        ClientId=client_id,
        AuthParameters={"USERNAME": username, "SRP_A": client.srp_a},
    )
    if started.get("ChallengeName") != "PASSWORD_VERIFIER":
        raise SystemExit(f"unexpected challenge {started.get('ChallengeName')!r}")
    now = datetime.datetime.now(datetime.UTC)
    request: dict[str, Any] = {
        "ClientId": client_id,
        "ChallengeName": "PASSWORD_VERIFIER",
        "ChallengeResponses": client.verifier_response(started["ChallengeParameters"], now),
    }
    if started.get("Session"):
        request["Session"] = started["Session"]
    answered = cognito.respond_to_auth_challenge(**request)
    if "AuthenticationResult" not in answered:
        raise SystemExit(
            f"Cognito asks for {answered.get('ChallengeName')!r} next: a new user sets a password first "
            "(README, Deployed use: admin-set-user-password --permanent)"
        )
    result: dict[str, Any] = answered["AuthenticationResult"]
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--user-pool-id", required=True, help="the stack's UserPoolId output")
    parser.add_argument("--client-id", required=True, help="the stack's UserPoolClientId output")
    parser.add_argument("--username", required=True)
    parser.add_argument("--region", help="default: the user pool id's region")
    parser.add_argument("--id-token", action="store_true", help="print the ID token, not the access token")
    args = parser.parse_args(argv)
    password = os.environ.get("COGNITO_PASSWORD") or getpass.getpass(f"Password for {args.username}: ")
    import boto3

    region = args.region or args.user_pool_id.split("_", 1)[0]
    cognito = boto3.client("cognito-idp", region_name=region)
    result = sign_in(cognito, args.user_pool_id, args.client_id, args.username, password)
    print(result["IdToken"] if args.id_token else result["AccessToken"])
    print(f"(expires in {result.get('ExpiresIn', '?')} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
