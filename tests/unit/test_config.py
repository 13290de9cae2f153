"""voice_agents.core.settings: the environment (and the Secrets Manager secret) parsed into Settings.

No network: every socket connection is refused, and Secrets Manager is moto's in-process mock
reached through the real Powertools parameters path (``_load_secret``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.aws import REGION, SecretReads, secrets_manager
from voice_agents.core import settings as config
from voice_agents.core.errors import ConfigurationError
from voice_agents.core.settings import SECRET_VARIABLES, SECRETS_BY_PURPOSE, Declared, Settings, load_settings

SECRET_VALUES = {
    "MONGODB_URI": "mongodb://secret-host:27017/?retryWrites=true",
    "RETELL_API_KEY": "key_from_secret",
    "TWILIO_ACCOUNT_SID": "AC" + "5" * 32,
    "TWILIO_AUTH_TOKEN": "token-from-secret",
}


# Every test here runs offline: a socket opened by the code under test fails the test.
pytestmark = pytest.mark.usefixtures("no_network")


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto's Secrets Manager, fake credentials in os.environ (boto3 reads them there), clean caches."""
    with secrets_manager(monkeypatch) as client:
        yield client


@pytest.fixture
def secret_reads(monkeypatch: pytest.MonkeyPatch) -> SecretReads:
    return SecretReads(monkeypatch)


def create_secret(client: Any, name: str, value: str) -> str:
    return str(client.create_secret(Name=name, SecretString=value)["ARN"])


# --- defaults and normalisation ---------------------------------------------------------------


def test_defaults_follow_the_design_table():
    # Given an empty environment
    # When the settings are loaded
    settings = load_settings(environ={})

    # Then every default of the README's configuration table applies
    assert settings.mongodb_database == "voice_agents"
    assert settings.retell_base_url == "https://api.retellai.com"
    assert settings.retell_sip_domain == "sip.retellai.com"
    assert settings.twilio_base_url == "https://api.twilio.com"
    assert settings.phone_number_country == "AU"
    assert settings.phone_number_type == "mobile"
    assert settings.mongodb_uri is None and settings.retell_api_key is None
    assert settings.twilio_bundle_sid is None and settings.twilio_address_sid is None
    assert settings.webhook_base_url is None and settings.secrets_arn is None
    assert settings.secrets_max_age_seconds == 300
    assert settings.secrets_refresh_interval_seconds == 30
    assert settings.call_record_retention_days == 90
    assert settings.reconciler_max_removals == 10 and settings.reconciler_max_repoints == 10
    assert settings.owner_reads_per_minute == 300
    assert settings.owner_writes_per_minute == 60


def test_values_from_the_environment_are_used():
    # Given every variable set
    environ = {
        "MONGODB_URI": "mongodb://127.0.0.1:27017",
        "MONGODB_DATABASE": "agents_dev",
        "RETELL_API_KEY": "key_abc",
        "RETELL_SIP_DOMAIN": "sip.example.test",
        "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
        "TWILIO_AUTH_TOKEN": "tok",
        "TWILIO_BUNDLE_SID": "BU" + "2" * 32,
        "TWILIO_ADDRESS_SID": "AD" + "3" * 32,
        "PHONE_NUMBER_COUNTRY": "GB",
        "PHONE_NUMBER_TYPE": "local",
        "RETELL_TIMEOUT_SECONDS": "2.5",
    }

    # When the settings are loaded
    settings = load_settings(environ=environ)

    # Then each field holds its variable's value, parsed
    assert settings.mongodb_uri == "mongodb://127.0.0.1:27017"
    assert settings.mongodb_database == "agents_dev"
    assert settings.require("RETELL_API_KEY") == "key_abc"
    assert settings.retell_sip_domain == "sip.example.test"
    assert settings.twilio_bundle_sid == "BU" + "2" * 32
    assert settings.twilio_address_sid == "AD" + "3" * 32
    assert (settings.phone_number_country, settings.phone_number_type) == ("GB", "local")
    assert settings.retell_timeout_seconds == 2.5


def test_trailing_slashes_are_stripped_from_base_urls():
    # Given base URLs written with trailing slashes
    environ = {
        "RETELL_BASE_URL": "http://127.0.0.1:8001/",
        "TWILIO_BASE_URL": "http://127.0.0.1:8002//",
        "WEBHOOK_BASE_URL": "https://abc.execute-api.ap-southeast-2.amazonaws.com/",
    }

    # When the settings are loaded
    settings = load_settings(environ=environ)

    # Then no URL ends with a slash (a path appended to it never gets a double slash)
    assert settings.retell_base_url == "http://127.0.0.1:8001"
    assert settings.twilio_base_url == "http://127.0.0.1:8002"
    assert settings.webhook_base_url == "https://abc.execute-api.ap-southeast-2.amazonaws.com"


def test_empty_strings_count_as_unset():
    # Given variables present but empty (as a template parameter left blank gives them)
    environ = {
        "MONGODB_DATABASE": "",
        "RETELL_BASE_URL": "",
        "PHONE_NUMBER_COUNTRY": "",
        "PHONE_NUMBER_TYPE": "",
        "TWILIO_BUNDLE_SID": "",
        "RETELL_API_KEY": "",
    }

    # When the settings are loaded
    settings = load_settings(environ=environ)

    # Then the defaults apply and optional values stay unset
    assert settings.mongodb_database == "voice_agents"
    assert settings.retell_base_url == "https://api.retellai.com"
    assert (settings.phone_number_country, settings.phone_number_type) == ("AU", "mobile")
    assert settings.twilio_bundle_sid is None
    with pytest.raises(ConfigurationError) as raised:
        settings.require("RETELL_API_KEY")
    assert raised.value.setting == "RETELL_API_KEY"


def test_phone_number_type_is_case_insensitive():
    assert load_settings(environ={"PHONE_NUMBER_TYPE": "TollFree"}).phone_number_type == "tollfree"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PHONE_NUMBER_TYPE", "landline"),
        ("PHONE_NUMBER_COUNTRY", "aus"),
        ("PHONE_NUMBER_COUNTRY", "A1"),
        ("RETELL_TIMEOUT_SECONDS", "0"),
        ("RETELL_TIMEOUT_SECONDS", "soon"),
        ("TWILIO_TIMEOUT_SECONDS", "-1"),
        ("MONGODB_MAX_POOL_SIZE", "0"),
        ("SECRETS_MAX_AGE_SECONDS", "-1"),
        ("SECRETS_REFRESH_INTERVAL_SECONDS", "a minute"),
        ("CALL_RECORD_RETENTION_DAYS", "0"),
        ("CALL_RECORD_RETENTION_DAYS", "1.5"),
        ("RECONCILER_MAX_REPOINTS", "-1"),
        ("WEBHOOK_BASE_URL", "http://voice.example.com"),
        ("OWNER_READS_PER_MINUTE", "-1"),
        ("OWNER_WRITES_PER_MINUTE", "lots"),
    ],
)
def test_an_invalid_value_fails_naming_the_variable(variable, value):
    # Given one invalid value
    # When the settings are loaded
    with pytest.raises(ConfigurationError) as raised:
        load_settings(environ={variable: value})

    # Then the error names the variable, in its message and in .setting
    assert raised.value.setting == variable
    assert variable in str(raised.value)


@pytest.mark.parametrize(
    "value",
    [
        "https://voice.example.com",
        "https://voice.example.com:8443/prod",
        "http://127.0.0.1:3000",  # the local API (make api, the tests' server)
        "http://localhost:3000",
        "http://[::1]:3000",
    ],
)
def test_a_webhook_base_url_is_https_or_a_loopback_http_origin(value):
    assert load_settings(environ={"WEBHOOK_BASE_URL": value}).webhook_base_url == value


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("http://voice.example.com", "must use https"),
        ("http://10.0.0.1:3000", "must use https"),
        ("https://voice.example.com?stage=prod", "no user info, query or fragment"),
        ("https://voice.example.com#calls", "no user info, query or fragment"),
        ("https://voice.example.com//prod", "path segments"),
        ("https://voice.example.com:99999", "https://host[:port][/path]"),
        ("voice.example.com", "https://host[:port][/path]"),
    ],
)
def test_a_webhook_base_url_that_cannot_sign_calls_is_a_configuration_error(value, why):
    with pytest.raises(ConfigurationError) as raised:
        load_settings(environ={"WEBHOOK_BASE_URL": value})

    assert raised.value.setting == "WEBHOOK_BASE_URL"
    assert why in str(raised.value) and repr(value) in str(raised.value)


def test_a_webhook_base_url_with_user_info_is_refused_without_echoing_it():
    with pytest.raises(ConfigurationError) as raised:
        load_settings(environ={"WEBHOOK_BASE_URL": "https://ops:hunter2@voice.example.com"})

    assert raised.value.setting == "WEBHOOK_BASE_URL" and "user info" in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_require_on_a_missing_value_names_it():
    # Given settings without the Retell key
    settings = load_settings(environ={"TWILIO_AUTH_TOKEN": "tok"})

    # When a component requires it
    with pytest.raises(ConfigurationError) as raised:
        settings.require("RETELL_API_KEY")

    # Then the error names it, and says it may come from the secret
    assert raised.value.setting == "RETELL_API_KEY"
    assert "RETELL_API_KEY" in str(raised.value)
    assert "SECRETS_ARN" in str(raised.value)
    # And a present value is returned as is
    assert settings.require("TWILIO_AUTH_TOKEN") == "tok"


def test_require_of_a_name_that_is_no_setting_is_a_programming_error():
    with pytest.raises(KeyError):
        Settings().require("NOT_A_SETTING")


# --- the Secrets Manager secret ---------------------------------------------------------------


def test_secret_values_are_read_through_powertools_parameters(aws):
    # Given a secret holding the four secret values, and only its ARN in the environment
    arn = create_secret(aws, "voice-agents/test-read", json.dumps(SECRET_VALUES))

    # When the settings are loaded
    settings = load_settings(environ={"SECRETS_ARN": arn, "AWS_DEFAULT_REGION": REGION})

    # Then every secret value comes from the secret
    for variable in SECRET_VARIABLES:
        assert settings.require(variable) == SECRET_VALUES[variable]
    assert settings.secrets_arn == arn


def test_environment_values_win_over_the_secret(aws):
    # Given a secret, and the environment overriding two of its values (one of them with an empty string)
    arn = create_secret(aws, "voice-agents/test-override", json.dumps(SECRET_VALUES))
    environ = {
        "SECRETS_ARN": arn,
        "AWS_DEFAULT_REGION": REGION,
        "RETELL_API_KEY": "key_from_env",
        "MONGODB_URI": "mongodb://127.0.0.1:27017",
        "TWILIO_AUTH_TOKEN": "",
    }

    # When the settings are loaded
    settings = load_settings(environ=environ)

    # Then the environment wins where it has a value; an empty value does not hide the secret's
    assert settings.require("RETELL_API_KEY") == "key_from_env"
    assert settings.require("MONGODB_URI") == "mongodb://127.0.0.1:27017"
    assert settings.require("TWILIO_ACCOUNT_SID") == SECRET_VALUES["TWILIO_ACCOUNT_SID"]
    assert settings.require("TWILIO_AUTH_TOKEN") == SECRET_VALUES["TWILIO_AUTH_TOKEN"]


def test_a_secret_holding_some_values_leaves_the_others_to_require(aws):
    # Given a secret that holds only the Retell key
    arn = create_secret(aws, "voice-agents/test-partial", json.dumps({"RETELL_API_KEY": "key_partial"}))

    # When the settings are loaded
    settings = load_settings(environ={"SECRETS_ARN": arn})

    # Then the Retell key comes from it, and a missing value still fails naming itself
    assert settings.require("RETELL_API_KEY") == "key_partial"
    with pytest.raises(ConfigurationError) as raised:
        settings.require("TWILIO_AUTH_TOKEN")
    assert raised.value.setting == "TWILIO_AUTH_TOKEN"


def test_the_secret_is_not_read_when_the_environment_has_every_secret_value(aws):
    # Given every secret value in the environment, and SECRETS_ARN naming a secret that does not exist
    environ = {"SECRETS_ARN": "arn:aws:secretsmanager:ap-southeast-2:123456789012:secret:absent-AbCdEf"}
    environ.update({variable: f"env-{variable}" for variable in SECRET_VARIABLES})

    # When the settings are loaded
    settings = load_settings(environ=environ)

    # Then nothing fails: the secret was not needed, so it was not read (no cold-start cost)
    assert settings.require("RETELL_API_KEY") == "env-RETELL_API_KEY"


def test_a_secret_that_is_not_json_fails_naming_secrets_arn(aws):
    # Given a secret whose value is not JSON
    arn = create_secret(aws, "voice-agents/test-not-json", "RETELL_API_KEY=abc")

    # When the settings are loaded
    with pytest.raises(ConfigurationError) as raised:
        load_settings(environ={"SECRETS_ARN": arn})

    # Then the error names SECRETS_ARN
    assert raised.value.setting == "SECRETS_ARN"
    assert arn in str(raised.value)


def test_a_secret_that_is_json_but_not_an_object_fails_naming_secrets_arn(aws):
    # Given a secret whose value is a JSON array
    arn = create_secret(aws, "voice-agents/test-array", json.dumps(["RETELL_API_KEY", "abc"]))

    # When the settings are loaded
    with pytest.raises(ConfigurationError) as raised:
        load_settings(environ={"SECRETS_ARN": arn})

    # Then the error names SECRETS_ARN
    assert raised.value.setting == "SECRETS_ARN"


def test_a_missing_secret_fails_naming_secrets_arn(aws):
    # Given SECRETS_ARN naming a secret that does not exist
    arn = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:voice-agents/absent-AbCdEf"

    # When the settings are loaded
    with pytest.raises(ConfigurationError) as raised:
        load_settings(environ={"SECRETS_ARN": arn})

    # Then the error names SECRETS_ARN and the secret, and carries Secrets Manager's answer
    assert raised.value.setting == "SECRETS_ARN"
    assert arn in str(raised.value)
    assert "ResourceNotFound" in str(raised.value)


def test_the_secret_is_cached_between_loads(aws):
    # Given a secret that has been read once
    arn = create_secret(aws, "voice-agents/test-cache", json.dumps(SECRET_VALUES))
    first = load_settings(environ={"SECRETS_ARN": arn})

    # When the secret changes and the settings are loaded again within the cache age
    aws.put_secret_value(SecretId=arn, SecretString=json.dumps({**SECRET_VALUES, "RETELL_API_KEY": "new"}))
    second = load_settings(environ={"SECRETS_ARN": arn})

    # Then the cached value is used (one Secrets Manager call per cold start, not per request)
    assert first.require("RETELL_API_KEY") == second.require("RETELL_API_KEY") == "key_from_secret"


def test_a_forced_read_skips_the_cache(aws):
    # Given a secret read once, then changed
    arn = create_secret(aws, "voice-agents/test-force", json.dumps(SECRET_VALUES))
    load_settings(environ={"SECRETS_ARN": arn})
    aws.put_secret_value(SecretId=arn, SecretString=json.dumps({**SECRET_VALUES, "RETELL_API_KEY": "new"}))

    # When the settings are loaded with force_secret (what a rotation-aware runtime does)
    settings = load_settings(environ={"SECRETS_ARN": arn}, force_secret=True)

    # Then the new value is read from Secrets Manager
    assert settings.require("RETELL_API_KEY") == "new"


# --- a secret per purpose ---------------------------------------------------------------------


def purpose_secrets(client: Any, **values: dict[str, str]) -> dict[str, str]:
    """One secret per purpose (``DATABASE_SECRET_ARN={...}``): the environment naming them."""
    return {
        variable: create_secret(client, f"voice-agents/{variable.lower()}", json.dumps(secret))
        for variable, secret in values.items()
    }


def test_each_secret_value_comes_from_its_purposes_secret(aws, secret_reads):
    # Given a secret per purpose, each holding (besides its own) values of the others
    environ = purpose_secrets(
        aws,
        DATABASE_SECRET_ARN={"MONGODB_URI": "mongodb://database-secret", "RETELL_API_KEY": "not-this"},
        RETELL_SECRET_ARN={"RETELL_API_KEY": "key_from_retell_secret", "MONGODB_URI": "not-this"},
        TWILIO_SECRET_ARN={"TWILIO_ACCOUNT_SID": "AC" + "7" * 32, "TWILIO_AUTH_TOKEN": "twilio-secret"},
    )

    # When the settings are loaded
    settings = load_settings(environ=environ)

    # Then each value comes from its purpose's secret only, one read per secret
    assert settings.require("MONGODB_URI") == "mongodb://database-secret"
    assert settings.require("RETELL_API_KEY") == "key_from_retell_secret"
    assert settings.require("TWILIO_ACCOUNT_SID") == "AC" + "7" * 32
    assert settings.require("TWILIO_AUTH_TOKEN") == "twilio-secret"
    assert secret_reads.count == 3


def test_a_function_given_one_purposes_secret_reads_only_that_one(aws, secret_reads):
    # Given only the Twilio secret named (the fallback URL's function: it checks Twilio's signature)
    environ = purpose_secrets(aws, TWILIO_SECRET_ARN=SECRET_VALUES)

    # When the settings are loaded
    settings = load_settings(environ=environ)

    # Then it has the Twilio values, and nothing else even if that secret holds more
    assert settings.require("TWILIO_AUTH_TOKEN") == SECRET_VALUES["TWILIO_AUTH_TOKEN"]
    assert settings.mongodb_uri is None and settings.retell_api_key is None
    with pytest.raises(ConfigurationError) as raised:
        settings.require("MONGODB_URI")
    # And a missing value names where it may come from
    assert raised.value.setting == "MONGODB_URI"
    assert "DATABASE_SECRET_ARN (or SECRETS_ARN)" in str(raised.value)
    assert secret_reads.count == 1


def test_a_purposes_secret_wins_over_the_shared_one_which_supplies_the_rest(aws, secret_reads):
    # Given the shared secret of a simple deployment, and a database secret of a read-only user
    environ = {"SECRETS_ARN": create_secret(aws, "voice-agents/shared", json.dumps(SECRET_VALUES))}
    environ |= purpose_secrets(aws, DATABASE_SECRET_ARN={"MONGODB_URI": "mongodb://reader@host/"})

    # When the settings are loaded
    settings = load_settings(environ=environ)

    # Then the database comes from its own secret, every other value from the shared one
    assert settings.require("MONGODB_URI") == "mongodb://reader@host/"
    for variable in ("RETELL_API_KEY", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        assert settings.require(variable) == SECRET_VALUES[variable]
    assert secret_reads.count == 2


def test_one_secret_named_for_every_purpose_is_read_once(aws, secret_reads):
    # Given the template's simple deployment: one secret, named for each purpose
    arn = create_secret(aws, "voice-agents/every-purpose", json.dumps(SECRET_VALUES))

    # When the settings are loaded (forced, as the runtime reads them)
    settings = load_settings(environ=dict.fromkeys(SECRETS_BY_PURPOSE, arn), force_secret=True)

    # Then every value comes from it, in one read
    assert [settings.require(variable) for variable in SECRET_VARIABLES] == list(SECRET_VALUES.values())
    assert secret_reads.count == 1


def test_the_environment_wins_over_a_purposes_secret_which_is_then_not_read(aws, secret_reads):
    # Given a Retell secret that does not exist, and the key in the environment
    absent = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:voice-agents/absent-AbCdEf"
    environ = {"RETELL_SECRET_ARN": absent, "RETELL_API_KEY": "key_from_env"}

    # When the settings are loaded
    settings = load_settings(environ=environ)

    # Then the environment's value is used and the secret never read
    assert settings.require("RETELL_API_KEY") == "key_from_env"
    assert secret_reads.count == 0


def test_an_unreadable_purposes_secret_fails_naming_its_variable(aws):
    # Given a readable shared secret, and TWILIO_SECRET_ARN naming one this function cannot read (absent)
    absent = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:voice-agents/absent-AbCdEf"
    shared = create_secret(aws, "voice-agents/shared-readable", json.dumps(SECRET_VALUES))

    # When the settings are loaded
    with pytest.raises(ConfigurationError) as raised:
        load_settings(environ={"SECRETS_ARN": shared, "TWILIO_SECRET_ARN": absent})

    # Then the error names the purpose's variable and its secret
    assert raised.value.setting == "TWILIO_SECRET_ARN"
    assert absent in str(raised.value)


def test_secret_values_never_show_in_the_settings_repr():
    # Given settings holding every secret value
    settings = load_settings(environ={**SECRET_VALUES, "MONGODB_DATABASE": "agents_dev"})

    # When they are printed (a log line, a traceback's locals)
    shown = repr(settings)

    # Then no secret value appears, the other values do
    assert not [value for value in SECRET_VALUES.values() if value in shown]
    assert "agents_dev" in shown and "mongodb_uri='***'" in shown


@pytest.mark.parametrize(
    ("text", "expected"), [("true", True), ("FALSE", False), (" 1 ", True), ("off", False)]
)
def test_a_boolean_setting_reads_the_usual_spellings(text, expected):
    # No setting is a boolean today: one declared later must not take the text "false" as truthy
    flag = Declared(False, alias="SOME_FLAG")
    assert config._parse(flag, bool, text) is expected
    with pytest.raises(ConfigurationError) as raised:
        config._parse(flag, bool | None, "maybe")
    assert raised.value.setting == "SOME_FLAG"
