"""voice_agents.runtime: secrets re-read with age and on demand (rate-limited), clients rebuilt when
their values change. Secrets Manager is moto's, reached through the real Powertools path; no sockets
(the Mongo client is never built here); time is a clock the test moves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.aws import REGION, Secret, SecretReads, secrets_manager
from voice_agents.runtime import Runtime

VALUES = {
    "MONGODB_URI": "mongodb://secret-host:27017",
    "RETELL_API_KEY": "key_first",
    "TWILIO_ACCOUNT_SID": "AC" + "5" * 32,
    "TWILIO_AUTH_TOKEN": "token_first",
}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# Every test here runs offline: a socket opened by the code under test fails the test.
pytestmark = pytest.mark.usefixtures("no_network")


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> Iterator[Secret]:
    with secrets_manager(monkeypatch) as client:
        yield Secret(client, "voice-agents/runtime", VALUES)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> SecretReads:
    return SecretReads(monkeypatch)


def runtime_for(secret: Secret, clock: Clock, **settings: str) -> Runtime:
    environ = {"SECRETS_ARN": secret.arn, "AWS_DEFAULT_REGION": REGION, **settings}
    return Runtime(environ=environ, clock=clock)


def test_the_secret_is_re_read_after_its_age_and_only_changed_clients_are_rebuilt(secret, reads):
    # Given a warm runtime that read the secret and built its Retell and Twilio clients
    clock = Clock()
    runtime = runtime_for(secret, clock, SECRETS_MAX_AGE_SECONDS="300")
    retell, twilio = runtime.retell(), runtime.twilio()
    assert reads.count == 1

    # When the Twilio token rotates and less than the age passes
    secret.rotate(TWILIO_AUTH_TOKEN="token_second")
    clock.now += 299
    # Then nothing is re-read
    assert runtime.twilio() is twilio
    assert runtime.settings().twilio_auth_token == "token_first"
    assert reads.count == 1

    # When the age passes
    clock.now += 2
    # Then the secret is read again: the Twilio client is rebuilt, the Retell client (same key) kept
    assert runtime.twilio() is not twilio
    assert runtime.retell() is retell
    assert runtime.settings().twilio_auth_token == "token_second"
    assert reads.count == 2

    # And when the Retell key rotates, the next read after the age rebuilds the Retell client
    secret.rotate(RETELL_API_KEY="key_second")
    clock.now += 301
    assert runtime.retell() is not retell
    assert reads.count == 3


def test_forced_refreshes_read_the_secret_at_most_once_per_interval(secret, reads):
    # Given a runtime that read the secret at cold start
    clock = Clock()
    runtime = runtime_for(secret, clock, SECRETS_REFRESH_INTERVAL_SECONDS="30")
    runtime.settings()
    secret.rotate(TWILIO_AUTH_TOKEN="token_second")

    # When a flood of forged signatures asks for a refresh 10 s later
    clock.now += 10
    refreshed = [runtime.refresh_secrets("Twilio signature rejected") for _ in range(50)]
    # Then none re-reads: the secret was read less than the interval ago
    assert refreshed == [False] * 50
    assert reads.count == 1

    # When the flood goes on past the interval
    clock.now += 21
    refreshed = [runtime.refresh_secrets("Twilio signature rejected") for _ in range(50)]
    # Then exactly one re-read happens, and it brings the rotated token
    assert refreshed == [True] + [False] * 49
    assert reads.count == 2
    assert runtime.settings().twilio_auth_token == "token_second"


def test_a_refresh_that_finds_nothing_new_says_so(secret, reads):
    clock = Clock()
    runtime = runtime_for(secret, clock, SECRETS_REFRESH_INTERVAL_SECONDS="0")
    retell = runtime.retell()

    assert runtime.refresh_secrets("retell answered 401") is False
    assert reads.count == 2
    assert runtime.retell() is retell


def test_a_rotated_token_in_a_purposes_secret_is_re_read_with_its_purposes_secret_only(secret, reads):
    # Given the webhook's secrets, one per purpose (no SECRETS_ARN), read at cold start
    twilio = Secret(secret.client, "voice-agents/twilio", {k: v for k, v in VALUES.items() if "TWILIO" in k})
    database = Secret(secret.client, "voice-agents/database", {"MONGODB_URI": VALUES["MONGODB_URI"]})
    environ = {"TWILIO_SECRET_ARN": twilio.arn, "DATABASE_SECRET_ARN": database.arn}
    runtime = Runtime(environ=environ | {"SECRETS_REFRESH_INTERVAL_SECONDS": "0"}, clock=Clock())
    runtime.settings()
    assert reads.count == 2

    # When the Twilio token rotates and a signature check asks for a refresh
    twilio.rotate(TWILIO_AUTH_TOKEN="token_second")
    # Then both secrets are re-read and the rotated token is in hand
    assert runtime.refresh_secrets("Twilio signature rejected") is True
    assert runtime.settings().twilio_auth_token == "token_second"
    assert reads.count == 4


def test_no_refresh_when_every_value_comes_from_the_environment(secret, reads):
    # Given SECRETS_ARN set, but every secret value given in the environment (the secret is never needed)
    runtime = Runtime(environ={"SECRETS_ARN": secret.arn, **VALUES}, clock=Clock())
    runtime.settings()

    # When a refresh is asked for / Then nothing is read
    assert runtime.refresh_secrets("Twilio signature rejected") is False
    assert reads.count == 0


def test_a_failing_re_read_keeps_the_values_in_hand(secret, reads):
    # Given a warm runtime, and then the secret gone (or Secrets Manager failing)
    clock = Clock()
    runtime = runtime_for(secret, clock, SECRETS_MAX_AGE_SECONDS="300")
    retell = runtime.retell()
    secret.client.delete_secret(SecretId=secret.arn, ForceDeleteWithoutRecovery=True)

    # When the age passes
    clock.now += 301
    # Then the re-read fails quietly: the values and clients in hand go on being used
    assert runtime.retell() is retell
    assert runtime.settings().retell_api_key == "key_first"
    assert reads.count == 2
    # And it is not retried on every call, only after another age
    clock.now += 10
    runtime.settings()
    assert reads.count == 2


def test_reset_forgets_everything(secret, reads):
    clock = Clock()
    runtime = runtime_for(secret, clock)
    retell = runtime.retell()

    runtime.reset()

    assert runtime.retell() is not retell
    assert reads.count == 2
