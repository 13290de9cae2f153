"""An access token for the API from a shell, signed in at the stack's hosted sign-in page.

The authorization code flow with PKCE, as the dashboard signs in:

    .venv/bin/python scripts/cognito_token.py --stack-name voice-agents-dev

Reads the stack's outputs (UserPoolDomainUrl, UserPoolClientId, DashboardUrl, ApiScopes; or give them
as --domain, --client-id, --redirect-uri and --scope, without AWS credentials), prints a sign-in URL
to open in a browser, and asks for the address the browser lands on after the sign-in: the dashboard's
URL with `?code=...&state=...` (the dashboard there cannot finish a sign-in it did not start and says
so; the code in its address is still unused). Prints the access token, which carries the API's scope.

Not a password sign-in (SRP through InitiateAuth): Cognito grants custom scopes only through its
OAuth endpoints, so such a token is refused by the API (403); the hosted page also asks for the
authenticator code when the user has MFA.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import secrets
import sys
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PostForm = Callable[[str, dict[str, str]], dict[str, Any]]


@dataclass(frozen=True)
class HostedSignIn:
    """The stack's sign-in: its Cognito domain, the dashboard's app client, where Cognito returns the
    code (one of the client's callback URLs), and the API's scopes."""

    domain: str
    client_id: str
    redirect_uri: str
    api_scopes: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.domain.startswith("https://"):
            raise SystemExit(f"the sign-in domain must be https://..., got {self.domain!r}")

    @property
    def token_url(self) -> str:
        return f"{self.domain.rstrip('/')}/oauth2/token"

    def authorize_url(self, state: str, challenge: str) -> str:
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": " ".join(("openid", *self.api_scopes)),
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        return f"{self.domain.rstrip('/')}/oauth2/authorize?{urllib.parse.urlencode(query)}"


def code_challenge(verifier: str) -> str:
    """RFC 7636's S256 challenge: base64url(SHA-256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def code_from(landed: str, state: str) -> str:
    """The authorization code in the address the browser landed on, after checking it answers this
    sign-in (its ``state``)."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(landed.strip()).query)
    if "error" in query:
        reason = query.get("error_description", query["error"])[0]
        raise SystemExit(f"the sign-in did not complete: {reason}")
    if query.get("state") != [state]:
        raise SystemExit("that address is not the answer to this sign-in (its state differs): sign in again")
    if not query.get("code"):
        raise SystemExit("that address carries no ?code=: paste the whole address the browser landed on")
    return query["code"][0]


def token_claims(token: str) -> dict[str, Any]:
    """A JWT's claims, read WITHOUT checking its signature: only to say what Cognito granted."""
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


def sign_in(hosted: HostedSignIn, ask: Callable[[str], str], post: PostForm) -> dict[str, Any]:
    """The token endpoint's answer (access_token, id_token, refresh_token, expires_in) for the user who
    signs in at the URL ``ask`` is given; ``ask`` answers the address the browser landed on."""
    verifier = secrets.token_urlsafe(64)  # 86 characters, within RFC 7636's 43 to 128
    state = secrets.token_urlsafe(16)
    landed = ask(hosted.authorize_url(state, code_challenge(verifier)))
    tokens = post(
        hosted.token_url,
        {
            "grant_type": "authorization_code",
            "client_id": hosted.client_id,
            "code": code_from(landed, state),
            "redirect_uri": hosted.redirect_uri,
            "code_verifier": verifier,
        },
    )
    granted = str(token_claims(tokens["access_token"]).get("scope", "")).split()
    missing = [scope for scope in hosted.api_scopes if scope not in granted]
    if missing:
        raise SystemExit(f"Cognito did not grant {' '.join(missing)}: the API would refuse this token")
    return tokens


def post_form(url: str, form: dict[str, str]) -> dict[str, Any]:
    """POST a form to Cognito's token endpoint (a public client: no secret) and read its JSON."""
    import httpx

    response = httpx.post(url, data=form, timeout=30)
    if response.is_error:
        raise SystemExit(f"the token endpoint refused the code ({response.status_code}): {response.text}")
    answer: dict[str, Any] = response.json()
    return answer


def ask_in_terminal(url: str) -> str:
    print(
        f"Open this URL in a browser and sign in:\n\n  {url}\n\n"
        "Then paste the whole address the browser lands on (the dashboard's, with ?code=...).",
        file=sys.stderr,
    )
    return input("Address: ")


def stack_outputs(stack_name: str, region: str | None) -> dict[str, str]:
    import boto3

    cloudformation = boto3.client("cloudformation", region_name=region)
    [stack] = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def hosted_sign_in(args: argparse.Namespace, outputs: dict[str, str]) -> HostedSignIn:
    """The sign-in from the flags, each one not given taken from the stack's outputs."""
    wanted = {
        "domain": "UserPoolDomainUrl",
        "client_id": "UserPoolClientId",
        "redirect_uri": "DashboardUrl",
        "scope": "ApiScopes",
    }
    values = {name: getattr(args, name) or outputs.get(output, "") for name, output in wanted.items()}
    missing = [
        f"--{name.replace('_', '-')} (output {wanted[name]})" for name, value in values.items() if not value
    ]
    if missing:
        raise SystemExit(f"missing {', '.join(missing)}: give --stack-name or these flags")
    return HostedSignIn(
        values["domain"], values["client_id"], values["redirect_uri"], tuple(values["scope"].split())
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--stack-name", help="read the flags below from this stack's outputs")
    parser.add_argument("--region", help="the stack's region (default: the AWS configuration's)")
    parser.add_argument("--domain", help="the UserPoolDomainUrl output")
    parser.add_argument("--client-id", help="the UserPoolClientId output")
    parser.add_argument("--redirect-uri", help="the DashboardUrl output (a callback URL of the app client)")
    parser.add_argument("--scope", help="the ApiScopes output")
    args = parser.parse_args(argv)
    outputs = stack_outputs(args.stack_name, args.region) if args.stack_name else {}
    tokens = sign_in(hosted_sign_in(args, outputs), ask_in_terminal, post_form)
    print(tokens["access_token"])
    print(f"(expires in {tokens.get('expires_in', '?')} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
