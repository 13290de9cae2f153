"""scripts/cognito_token.py against a stand-in for Cognito's hosted sign-in and token endpoint that
checks what Cognito checks: the app client, a registered callback URL, the PKCE proof (S256) and the
scopes the client may be granted. The access token it issues carries the scopes the sign-in asked for,
as Cognito's does."""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.util
import json
import secrets
import sys
import urllib.parse
from typing import Any

import pytest

from local.invoke import ROOT

_spec = importlib.util.spec_from_file_location("cognito_token", ROOT / "scripts" / "cognito_token.py")
assert _spec is not None and _spec.loader is not None
cognito_token = importlib.util.module_from_spec(_spec)
sys.modules["cognito_token"] = cognito_token
_spec.loader.exec_module(cognito_token)

DOMAIN = "https://voice-agents-dev-123456789012.auth.ap-southeast-2.amazoncognito.com"
CLIENT_ID = "1example23456789"
DASHBOARD = "https://dashboard.example.com/"
HOSTED = cognito_token.HostedSignIn(DOMAIN, CLIENT_ID, DASHBOARD, ("voice-agents/agents",))


def unsigned_jwt(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part(claims)}."


class FakeCognito:
    """The hosted sign-in page (a user who signs in at once) and the token endpoint of one app client."""

    def __init__(self, allowed_scopes: set[str]) -> None:
        self.allowed_scopes = allowed_scopes
        self.issued: dict[str, dict[str, str]] = {}  # code -> the authorize request it answers

    def sign_in(self, authorize_url: str) -> str:
        """The address the browser lands on after the user signs in at ``authorize_url``."""
        parts = urllib.parse.urlsplit(authorize_url)
        request = dict(urllib.parse.parse_qsl(parts.query))
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{DOMAIN}/oauth2/authorize"
        assert request["response_type"] == "code" and request["client_id"] == CLIENT_ID
        assert request["redirect_uri"] == DASHBOARD, "not a callback URL of the client"
        assert request["code_challenge_method"] == "S256"
        if not set(request["scope"].split()) <= self.allowed_scopes:
            return f"{DASHBOARD}?error=invalid_scope&state={request['state']}"
        code = secrets.token_urlsafe(8)
        self.issued[code] = request
        return f"{DASHBOARD}?code={code}&state={request['state']}"

    def post(self, url: str, form: dict[str, str]) -> dict[str, Any]:
        assert url == f"{DOMAIN}/oauth2/token"
        request = self.issued.pop(form["code"])  # a code is redeemed once
        assert form["grant_type"] == "authorization_code" and form["client_id"] == CLIENT_ID
        assert form["redirect_uri"] == request["redirect_uri"]
        proof = base64.urlsafe_b64encode(hashlib.sha256(form["code_verifier"].encode()).digest())
        if proof.rstrip(b"=").decode() != request["code_challenge"]:
            raise SystemExit("invalid_grant")
        access = unsigned_jwt({"sub": "someone", "token_use": "access", "scope": request["scope"]})
        return {"access_token": access, "id_token": unsigned_jwt({"aud": CLIENT_ID}), "expires_in": 3600}


def test_the_challenge_is_rfc_7636s_s256():
    # RFC 7636, appendix B
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

    assert cognito_token.code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_a_sign_in_gets_an_access_token_with_the_api_scope():
    cognito = FakeCognito({"openid", "email", "voice-agents/agents"})

    tokens = cognito_token.sign_in(HOSTED, cognito.sign_in, cognito.post)

    scopes = cognito_token.token_claims(tokens["access_token"])["scope"].split()
    assert "voice-agents/agents" in scopes
    assert cognito.issued == {}


def test_a_token_without_the_api_scope_is_not_printed():
    # Given a client Cognito would not grant the API's scope to (a stack from before it)
    cognito = FakeCognito({"openid", "email"})

    with pytest.raises(SystemExit, match="invalid_scope"):
        cognito_token.sign_in(HOSTED, cognito.sign_in, cognito.post)


def test_a_granted_token_without_the_api_scope_is_not_printed_either():
    cognito = FakeCognito({"openid", "voice-agents/agents"})

    def narrowed(url: str, form: dict[str, str]) -> dict[str, Any]:
        return {**cognito.post(url, form), "access_token": unsigned_jwt({"scope": "openid"})}

    with pytest.raises(SystemExit, match="did not grant voice-agents/agents"):
        cognito_token.sign_in(HOSTED, cognito.sign_in, narrowed)


def test_an_address_from_another_sign_in_is_refused():
    cognito = FakeCognito({"openid", "voice-agents/agents"})

    def another_sign_ins_answer(url: str) -> str:
        landed = cognito.sign_in(url)
        return landed.replace("state=", "state=forged")

    with pytest.raises(SystemExit, match="state differs"):
        cognito_token.sign_in(HOSTED, another_sign_ins_answer, cognito.post)
    assert len(cognito.issued) == 1  # the code was never redeemed


def test_the_token_endpoint_refuses_a_code_without_its_verifier():
    cognito = FakeCognito({"openid", "voice-agents/agents"})

    def stolen_code(url: str, form: dict[str, str]) -> dict[str, Any]:
        return cognito.post(url, {**form, "code_verifier": secrets.token_urlsafe(64)})

    with pytest.raises(SystemExit, match="invalid_grant"):
        cognito_token.sign_in(HOSTED, cognito.sign_in, stolen_code)


@pytest.mark.parametrize(
    ("landed", "problem"),
    [
        (f"{DASHBOARD}?error=access_denied&error_description=User+cancelled&state=s", "User cancelled"),
        (f"{DASHBOARD}?state=s", "no \\?code="),
    ],
)
def test_an_address_without_a_code_says_why(landed, problem):
    with pytest.raises(SystemExit, match=problem):
        cognito_token.code_from(landed, "s")


def test_the_sign_in_is_read_from_the_stacks_outputs_unless_given():
    outputs = {
        "UserPoolDomainUrl": DOMAIN,
        "UserPoolClientId": CLIENT_ID,
        "DashboardUrl": DASHBOARD,
        "ApiScopes": "voice-agents/agents",
    }
    flags = argparse.Namespace(domain=None, client_id=None, redirect_uri=None, scope=None)

    assert cognito_token.hosted_sign_in(flags, outputs) == HOSTED
    local = argparse.Namespace(domain=None, client_id=None, redirect_uri="http://localhost:5173/", scope=None)
    assert cognito_token.hosted_sign_in(local, outputs).redirect_uri == "http://localhost:5173/"
    with pytest.raises(SystemExit, match="ApiScopes"):
        cognito_token.hosted_sign_in(flags, {**outputs, "ApiScopes": ""})
