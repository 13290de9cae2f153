"""The functions granted fewer secrets than all work with just those: each runs with the secret
variables its template environment names, every secret value in moto's Secrets Manager (one secret
per purpose) and none in the environment. The read routes send the database only what a user with
MongoDB's read role may (the read-only secret the template gives them)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from local.invoke import invoke
from local.stack import LocalStack
from local.template import function_properties, load_template
from tests.aws import Secret, secrets_manager
from tests.integration import test_twilio_webhook as twilio_webhook
from tests.integration.test_call_path import bearer, create, play
from tests.integration.test_twilio_webhook import CALL_SID, sign, twilio_params, webhook_event
from voice_agents import runtime
from voice_agents.core.settings import SECRET_ARN_VARIABLES, SECRET_VARIABLES, SECRETS_BY_PURPOSE
from voice_agents.data.database import REQUEST_COUNTS

pytestmark = pytest.mark.integration

agent = twilio_webhook.agent
database_commands = twilio_webhook.database_commands

# What MongoDB's built-in read role allows (and what a driver sends on its own).
READ_ROLE_COMMANDS = {"find", "getMore", "aggregate", "count", "distinct", "listCollections", "killCursors"}


@pytest.fixture
def purpose_secrets(env: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The stack's secret values in moto, one secret per purpose, by the variable naming it."""
    values = env.environment()
    with secrets_manager(monkeypatch) as client:
        yield {
            variable: Secret(client, f"voice-agents/{variable}", {name: values[name] for name in names}).arn
            for variable, names in SECRETS_BY_PURPOSE.items()
        }


def given_only_its_secrets(function: str, arns: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The process as the template deploys ``function`` (a logical id): no secret value in the
    environment, and only the secrets its environment names (not empty)."""
    variables = function_properties(load_template())[function]["Environment"]["Variables"]
    for name in (*SECRET_VARIABLES, *SECRET_ARN_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    for variable, arn in arns.items():
        if variables[variable] != "":
            monkeypatch.setenv(variable, arn)
    runtime.reset()


def test_the_read_routes_work_with_the_database_and_twilio_secrets_and_only_read(
    client, env, purpose_secrets, database_commands, monkeypatch
):
    # Given an agent whose caller left a voicemail (Retell down)
    agent = create(client)
    env.retell.inject("register_call", 503)
    assert play(env, agent)["reached"] == "voicemail"
    # And the read routes' function deployed with its secrets only (no Retell key anywhere)
    given_only_its_secrets("GetAgentsFunction", purpose_secrets, monkeypatch)
    database_commands.names.clear()
    database_commands.targets.clear()

    # When the owner lists their agents, reads this one, its calls, and plays the voicemail
    listed = client.get("/api/agents", headers=bearer())
    read = client.get(f"/api/agents/{agent['id']}", headers=bearer())
    calls = client.get(f"/api/agents/{agent['id']}/calls", headers=bearer())
    audio = client.get(calls.json()["items"][0]["voicemail"]["recordingUrl"], headers=bearer())

    # Then each is answered (the voicemail with the Twilio account's credentials)
    assert [response.status_code for response in (listed, read, calls, audio)] == [200] * 4
    assert audio.headers["content-type"].startswith("audio/")
    assert runtime.settings().retell_api_key is None
    # And the database was only read, but for the caller's rate-limit window: a user with MongoDB's
    # read role and a write on request_counts (the README's role) may do all of it
    assert "find" in database_commands.names
    writes = {target for target in database_commands.targets if target[0] not in READ_ROLE_COMMANDS}
    assert writes <= {("findAndModify", REQUEST_COUNTS)}


def fallback_event(env: LocalStack, agent: dict[str, Any]) -> dict[str, Any]:
    """What Twilio posts to the agent's number's VoiceFallbackUrl when the voice webhook failed."""
    number = next(n for n in env.twilio.owned.values() if n["phone_number"] == agent["phoneNumber"])
    url = urllib.parse.urlsplit(number["voice_fallback_url"])
    params = twilio_params(agent, CALL_SID) | {"ErrorCode": "11200", "ErrorUrl": agent["webhookUrl"]}
    event = webhook_event(agent["id"], params, signature=sign(url.geturl(), params))
    query = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
    event["resource"] = "/api/webhooks/twilio/{agentId}/fallback"
    # The number's URL is the base's (its stage included) + the route's path, as API Gateway reports
    event["path"] = url.path.removeprefix(f"/{event['requestContext']['stage']}")
    event["requestContext"]["path"] = url.path
    event["queryStringParameters"] = dict(query)
    event["multiValueQueryStringParameters"] = {name: [value] for name, value in query}
    return event


def test_the_fallback_url_works_with_the_twilio_secret_alone(env, agent, purpose_secrets, monkeypatch):
    # Given the fallback URL's function, deployed with the Twilio secret only
    event = fallback_event(env, agent)
    given_only_its_secrets("TwilioFallbackFunction", purpose_secrets, monkeypatch)

    # When Twilio requests it for a call the voice webhook failed
    answer = invoke("twilio_fallback", event)

    # Then the caller is answered with TwiML (the agent has no forward: a message is taken)
    assert answer["statusCode"] == 200, answer["body"]
    assert answer["headers"]["Content-Type"] == "text/xml"
    assert "<Record" in answer["body"]
    # And it never had the database's or Retell's secret
    assert (runtime.settings().mongodb_uri, runtime.settings().retell_api_key) == (None, None)
