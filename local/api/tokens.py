"""The token stub of the local HTTP API: unsigned local tokens, and a JWT authorizer that reads a
token's claims WITHOUT verifying it.

*************************************************************************************************
* LOCAL ONLY: JWT SIGNATURES ARE NOT VERIFIED. The token is only decoded: its signature, issuer  *
* and audience are NOT checked (there is no Cognito here), only its expiry when it has one.      *
* Anyone who can reach the local API can act as any user. Never expose it beyond 127.0.0.1.      *
*************************************************************************************************
"""

from __future__ import annotations

import time
from typing import Any

import jwt

from local.api.messages import HttpResponse
from local.api.responses import UNAUTHORIZED, json_response

NOT_VERIFIED_WARNING = (
    "WARNING: local HTTP API - JWT signatures are NOT verified (no Cognito here); any well-formed "
    "token is accepted and its claims passed on. Never expose this server beyond 127.0.0.1."
)
LOCAL_USER = "local-user"


def local_token(sub: str, **claims: Any) -> str:
    """An unsigned JWT (alg "none") for ``sub``: accepted by this local API only, never by AWS."""
    payload = {
        "sub": sub,
        "iss": "http://127.0.0.1/local-unverified",
        "token_use": "access",
        "iat": int(time.time()),
        **claims,
    }
    return jwt.encode(payload, "", algorithm="none")


def unverified_claims(token: str) -> dict[str, Any] | None:
    """The payload of a compact JWS, WITHOUT checking its signature; None when it is not a JWT."""
    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return None
    return claims


def authorize(header: str | None) -> tuple[dict[str, Any] | None, HttpResponse | None]:
    """The token's claims (UNVERIFIED), or the 401 API Gateway's JWT authorizer would answer."""
    if not header:
        return None, json_response(401, UNAUTHORIZED)
    scheme, _, rest = header.strip().partition(" ")
    # Like API Gateway, take the token with or without the "Bearer " prefix.
    token = rest.strip() if scheme.lower() == "bearer" else header.strip()
    claims = unverified_claims(token)
    challenge = 'Bearer scope="" error="invalid_token" error_description="{}"'
    if claims is None:
        return None, json_response(
            401, UNAUTHORIZED, ("www-authenticate", challenge.format("the token is not a JWT"))
        )
    expires = claims.get("exp")
    if isinstance(expires, int | float) and expires <= time.time():
        return None, json_response(
            401, UNAUTHORIZED, ("www-authenticate", challenge.format("the token has expired"))
        )
    return claims, None
