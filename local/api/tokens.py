"""The token stub of the local HTTP API: unsigned local access tokens, and a JWT authorizer that reads
a token's claims WITHOUT verifying it, then requires the route's scopes as API Gateway does.

*************************************************************************************************
* LOCAL ONLY: JWT SIGNATURES ARE NOT VERIFIED. The token is only decoded: its signature, issuer  *
* and audience are NOT checked (there is no Cognito here), only its expiry when it has one and   *
* the scopes the route requires. Anyone who can reach the local API can act as any user.         *
* Never expose it beyond 127.0.0.1.                                                              *
*************************************************************************************************
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from functools import cache
from typing import Any

import jwt

from local.api.messages import HttpResponse
from local.api.responses import FORBIDDEN, UNAUTHORIZED, json_response
from local.template import http_routes, load_template, required_scopes

NOT_VERIFIED_WARNING = (
    "WARNING: local HTTP API - JWT signatures are NOT verified (no Cognito here); any well-formed "
    "token with the route's scope is accepted and its claims passed on. Never expose this server "
    "beyond 127.0.0.1."
)
LOCAL_USER = "local-user"


@cache
def template_scopes() -> tuple[str, ...]:
    """The scopes template.yaml's routes require: what Cognito's code flow grants the dashboard."""
    return required_scopes(http_routes(load_template()))


def local_token(sub: str, **claims: Any) -> str:
    """An unsigned access token (alg "none") for ``sub`` with the scopes template.yaml's routes require,
    as the dashboard's sign-in gets one: accepted by this local API only, never by AWS. ``claims``
    add to or replace its claims; a claim given as None is left out (``scope=None``: no scope)."""
    payload = {
        "sub": sub,
        "iss": "http://127.0.0.1/local-unverified",
        "token_use": "access",
        "scope": " ".join(template_scopes()),
        "iat": int(time.time()),
        **claims,
    }
    return jwt.encode(
        {name: value for name, value in payload.items() if value is not None}, "", algorithm="none"
    )


def unverified_claims(token: str) -> dict[str, Any] | None:
    """The payload of a compact JWS, WITHOUT checking its signature; None when it is not a JWT."""
    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return None
    return claims


def token_scopes(claims: dict[str, Any]) -> list[str] | None:
    """The token's scopes as API Gateway reads them: its ``scope`` claim, else ``scp``, as a
    space-separated string or a list; None when it has neither (an ID token)."""
    scope = claims.get("scope", claims.get("scp"))
    if isinstance(scope, str):
        return scope.split()
    if isinstance(scope, list):
        return [str(item) for item in scope]
    return None


def authorize(
    header: str | None, scopes: Iterable[str] = ()
) -> tuple[dict[str, Any] | None, HttpResponse | None]:
    """The token's claims (UNVERIFIED), or what API Gateway's JWT authorizer answers instead: 401 for
    no usable token, 403 for one that carries none of the route's ``scopes`` (any token if none)."""
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
    required = set(scopes)
    # AWS documents a valid token without any of the route's scopes as 403 Forbidden (an ID token
    # carries no scope at all); the body is API Gateway's own 403.
    if required and not required & set(token_scopes(claims) or ()):
        return None, json_response(403, FORBIDDEN)
    return claims, None
