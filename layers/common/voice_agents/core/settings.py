"""Configuration: environment variables (and optional Secrets Manager secrets) parsed once.

Env values win over the secrets, so a developer can override one value locally without editing a
secret. A secret value comes from its purpose's secret when one is named (DATABASE_SECRET_ARN,
RETELL_SECRET_ARN, TWILIO_SECRET_ARN: each function may then be granted only the secrets it uses),
else from the one secret of a simple deployment (SECRETS_ARN). A value that a component needs and
that is absent fails with a message naming it. Each setting is declared once below (type, default,
env name, bounds) and parsed by this module's small parser rather than pydantic-settings: importing
pydantic and pydantic-settings cost the webhook most of its cold start above its library floor, for
a dozen flat values.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import os
import re
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Literal

from voice_agents.core.countries import (
    REGULATIONS_SETTING,
    TWILIO_NUMBERS,
    NumberOption,
    NumberOrder,
    NumberType,
    Regulation,
    offered_options,
    pair_key,
)
from voice_agents.core.errors import ConfigurationError

# The variable naming each purpose's secret, and the values that secret may supply (no others).
SECRETS_BY_PURPOSE = {
    "DATABASE_SECRET_ARN": ("MONGODB_URI",),
    "RETELL_SECRET_ARN": ("RETELL_API_KEY",),
    "TWILIO_SECRET_ARN": ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"),
}
# Values a purpose's secret may also hold, taken from it only when it is read for the values above:
# an optional value alone never costs a Secrets Manager read.
OPTIONAL_SECRETS_BY_PURPOSE = {"TWILIO_SECRET_ARN": ("TWILIO_REGULATIONS",)}
SECRET_VARIABLES = tuple(name for names in SECRETS_BY_PURPOSE.values() for name in names)
OPTIONAL_SECRET_VARIABLES = tuple(name for names in OPTIONAL_SECRETS_BY_PURPOSE.values() for name in names)
# SECRETS_ARN: the one secret of a simple deployment, for any value whose purpose names none.
SECRET_ARN_VARIABLES = (*SECRETS_BY_PURPOSE, "SECRETS_ARN")


@dataclass(frozen=True)
class Declared:
    """One setting: its environment variable, default and bounds."""

    default: Any
    alias: str
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    min_length: int | None = None
    pattern: str | None = None
    before: Callable[[str], str] | None = None  # applied to the text before it is parsed
    check: Callable[[Any], str | None] | None = None  # the parsed value's problem, or None


def setting(default: Any, *, alias: str, **bounds: Any) -> Any:
    """Declare a setting: its default, its environment variable and its bounds (typed as the
    attribute it declares, so the class reads as the settings it holds)."""
    return Declared(default, alias, **bounds)


def _strip_trailing_slash(value: str) -> str:
    return value.rstrip("/")


# https://host[:port][/path]: a host of dotted labels (or a bracketed IPv6 address), then path segments
# of plain characters: no user info, query, fragment or empty segment (so no trailing slash either).
# template.yaml's WebhookBaseUrl pattern is its https form.
_BASE_URL = re.compile(
    r"(?P<scheme>https?)://(?P<host>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])"
    r"(?::(?P<port>[0-9]{1,5}))?(?:/[A-Za-z0-9._~-]+)*"
)
_LOOPBACK_NAMES = {"localhost"}


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def webhook_base_problem(value: str) -> str | None:
    """Why ``value`` cannot be the base every number's and agent's webhook URL is built on, or None.
    Every callback carries a signature over this URL, so it must be a plain https origin (and path);
    http only for a loopback host, which is where the local stack serves the API."""
    shape = (
        "must be https://host[:port][/path]: path segments of letters, digits, '.', '_', '~' or '-', "
        "no user info, query or fragment"
    )
    # Not echoed when it may hold user info: a password in a URL must not reach the logs.
    got = "" if "@" in value else f", got {value!r}"
    match = _BASE_URL.fullmatch(value)
    if match is None or not 0 < int(match.group("port") or 443) <= 65_535:
        return shape + got
    if match.group("scheme") == "http" and not _is_loopback(match.group("host")):
        return f"must use https (http only for a loopback host: 127.0.0.1, localhost, [::1]){got}"
    return None


_REGULATION_FIELDS = {
    "bundleSid": re.compile(r"BU[0-9a-fA-F]{32}"),
    "addressSid": re.compile(r"AD[0-9a-fA-F]{32}"),
    "monthlyCents": None,
}
_MAX_MONTHLY_CENTS = 1_000_000


@functools.lru_cache(maxsize=8)
def parse_regulations(text: str) -> Mapping[tuple[str, NumberType], Regulation]:
    """TWILIO_REGULATIONS: {"GB/mobile": {"bundleSid"?, "addressSid"?, "monthlyCents"?}, ...}, each key
    a pair Twilio sells (core.countries); ValueError saying what is wrong (never echoing a value).
    Parsed once per text (checked when the settings are read, then read by every create and usage
    answer): the answer is read-only, being shared."""
    if not text.strip():
        return MappingProxyType({})
    try:
        document = json.loads(text)
    except ValueError:
        raise ValueError("must be a JSON object") from None
    if not isinstance(document, dict):
        raise ValueError("must be a JSON object")
    parsed: dict[tuple[str, NumberType], Regulation] = {}
    for key, entry in document.items():
        country, _, number_type = str(key).partition("/")
        if (country, number_type) not in TWILIO_NUMBERS:
            sold = ", ".join(pair_key(*pair) for pair in TWILIO_NUMBERS)
            raise ValueError(f"key {key!r} is not a country/type Twilio sells here (one of {sold})")
        parsed[(country, number_type)] = _regulation(str(key), entry)  # type: ignore[index]
    return MappingProxyType(parsed)


def _regulation(key: str, entry: Any) -> Regulation:
    if not isinstance(entry, dict):
        raise ValueError(f"{key!r} must be an object with bundleSid, addressSid or monthlyCents")
    unknown = sorted(set(entry) - set(_REGULATION_FIELDS))
    if unknown:
        raise ValueError(f"{key!r} has unknown field(s) {', '.join(unknown)}")
    for field, pattern in _REGULATION_FIELDS.items():
        value = entry.get(field)
        if pattern is not None and value is not None and not _matches(pattern, value):
            raise ValueError(f"{key!r} {field} must match ^{pattern.pattern}$")
    cents = entry.get("monthlyCents")
    if cents is not None and (
        isinstance(cents, bool) or not isinstance(cents, int) or not 0 <= cents <= _MAX_MONTHLY_CENTS
    ):
        raise ValueError(f"{key!r} monthlyCents must be a whole number from 0 to {_MAX_MONTHLY_CENTS}")
    return Regulation(
        bundle_sid=entry.get("bundleSid"), address_sid=entry.get("addressSid"), monthly_cents=cents
    )


def _matches(pattern: re.Pattern[str], value: Any) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def _regulations_problem(text: str) -> str | None:
    try:
        parse_regulations(text)
    except ValueError as exc:
        return str(exc)
    return None


class Settings:
    """Every setting of the README's configuration table, by its environment variable name."""

    declared: ClassVar[dict[str, Declared]]
    _types: ClassVar[dict[str, Any]]

    mongodb_uri: str | None = setting(None, alias="MONGODB_URI")
    mongodb_database: str = setting("voice_agents", alias="MONGODB_DATABASE", min_length=1)
    mongodb_max_pool_size: int = setting(4, alias="MONGODB_MAX_POOL_SIZE", ge=1, le=100)
    retell_api_key: str | None = setting(None, alias="RETELL_API_KEY")
    retell_base_url: str = setting(
        "https://api.retellai.com", alias="RETELL_BASE_URL", before=_strip_trailing_slash
    )
    retell_sip_domain: str = setting("sip.retellai.com", alias="RETELL_SIP_DOMAIN")
    retell_timeout_seconds: float = setting(8.0, alias="RETELL_TIMEOUT_SECONDS", gt=0, le=60)
    twilio_account_sid: str | None = setting(None, alias="TWILIO_ACCOUNT_SID")
    twilio_auth_token: str | None = setting(None, alias="TWILIO_AUTH_TOKEN")
    twilio_base_url: str = setting(
        "https://api.twilio.com", alias="TWILIO_BASE_URL", before=_strip_trailing_slash
    )
    twilio_timeout_seconds: float = setting(8.0, alias="TWILIO_TIMEOUT_SECONDS", gt=0, le=60)
    twilio_bundle_sid: str | None = setting(None, alias="TWILIO_BUNDLE_SID")
    twilio_address_sid: str | None = setting(None, alias="TWILIO_ADDRESS_SID")
    phone_number_country: str = setting("AU", alias="PHONE_NUMBER_COUNTRY", pattern=r"^[A-Z]{2}$")
    phone_number_type: Literal["mobile", "local", "tollfree"] = setting(
        "mobile", alias="PHONE_NUMBER_TYPE", before=str.lower
    )
    # Bundle, address and monthly price per country and number type, keyed "GB/mobile": every key is
    # a pair this deployment offers besides its default one (docs/countries.md).
    twilio_regulations: str = setting("", alias=REGULATIONS_SETTING, check=_regulations_problem)
    webhook_base_url: str | None = setting(
        None, alias="WEBHOOK_BASE_URL", before=_strip_trailing_slash, check=webhook_base_problem
    )
    # Prefix of the tag put on every paid resource, so that a sweep only ever touches this
    # deployment's resources even when several deployments share one Twilio or Retell account.
    # At most 39 characters: a tag is `{prefix}:{24-hex agent id}` and a Twilio FriendlyName holds 64.
    resource_tag: str = setting("va", alias="RESOURCE_TAG", pattern=r"^[A-Za-z0-9_-]{1,39}$")
    # The mass-removal brake: a sweep that would remove more provider resources than this removes none.
    reconciler_max_removals: int = setting(10, alias="RECONCILER_MAX_REMOVALS", ge=0, le=10_000)
    # The mass-re-point brake: a sweep that would move more numbers and Retell agents onto another
    # base URL than this moves none (the operator moves them: operate repoint --confirm).
    reconciler_max_repoints: int = setting(10, alias="RECONCILER_MAX_REPOINTS", ge=0, le=10_000)
    secrets_arn: str | None = setting(None, alias="SECRETS_ARN")
    database_secret_arn: str | None = setting(None, alias="DATABASE_SECRET_ARN")
    retell_secret_arn: str | None = setting(None, alias="RETELL_SECRET_ARN")
    twilio_secret_arn: str | None = setting(None, alias="TWILIO_SECRET_ARN")
    # Agents one owner may have at once (provisioning, active or deleting): each holds a number.
    agent_limit_per_owner: int = setting(25, alias="AGENT_LIMIT_PER_OWNER", ge=1)
    # Numbers one owner's creates may buy in any 24 hours, whatever became of the agents since
    # (deleted, rolled back): a loop of creates and deletes stays under the quota above, not this.
    purchase_budget_per_day: int = setting(10, alias="PURCHASE_BUDGET_PER_DAY", ge=1)
    # The kill switch: the SSM parameter whose value "true" pauses every create (the spending alarm
    # sets it, an operator clears it). Unset: creates are never paused.
    creation_paused_parameter: str | None = setting(
        None, alias="CREATION_PAUSED_PARAMETER", pattern=r"^[A-Za-z0-9_./-]{1,1011}$"
    )
    # The voices an agent may be given, comma separated; empty: any voice Retell knows.
    allowed_voice_ids: str = setting("", alias="ALLOWED_VOICE_IDS", pattern=r"^[A-Za-z0-9._, -]*$")
    # Requests one owner may send the API a minute, reads (GET) and writes apart, counted in the
    # database (http/rate_limit.py); past it a request is 429 before any other work. 0: no limit.
    owner_reads_per_minute: int = setting(300, alias="OWNER_READS_PER_MINUTE", ge=0)
    owner_writes_per_minute: int = setting(60, alias="OWNER_WRITES_PER_MINUTE", ge=0)
    # Rotation: the secret is re-read after this age, and at once (at most once per refresh interval)
    # when a Twilio signature or a provider's 401 says the values in hand may be stale.
    secrets_max_age_seconds: float = setting(300.0, alias="SECRETS_MAX_AGE_SECONDS", ge=0, le=86_400)
    secrets_refresh_interval_seconds: float = setting(
        30.0, alias="SECRETS_REFRESH_INTERVAL_SECONDS", ge=0, le=3600
    )
    # How long a call's record is kept: the call history's period, and a replayed signed webhook
    # within it registers nothing.
    call_record_retention_days: int = setting(90, alias="CALL_RECORD_RETENTION_DAYS", ge=1, le=365)
    # The business is told of each analysed call: the queue the Retell webhook puts the deliveries on
    # (unset: nothing is queued), the SES sender of the emails (unset: no email is sent).
    notifications_queue_url: str | None = setting(None, alias="NOTIFICATIONS_QUEUE_URL")
    notification_email_sender: str | None = setting(None, alias="NOTIFICATION_EMAIL_SENDER")
    # Where an owner's webhook may point: "public" (https, every resolved address public) in AWS;
    # "loopback" (this machine only, http allowed) is what the local stack sets, never the template.
    notification_targets: Literal["public", "loopback"] = setting(
        "public", alias="NOTIFICATION_TARGETS", before=str.lower
    )
    notification_timeout_seconds: float = setting(5.0, alias="NOTIFICATION_TIMEOUT_SECONDS", gt=0, le=30)
    # Tries per delivery (the queue's maxReceiveCount says the same to SQS) and the first pause after
    # a failed one, doubled after each (at most an hour).
    notification_max_attempts: int = setting(8, alias="NOTIFICATION_MAX_ATTEMPTS", ge=1, le=100)
    notification_retry_base_seconds: int = setting(30, alias="NOTIFICATION_RETRY_BASE_SECONDS", ge=0, le=3600)
    # What one number costs a month, in US cents: Twilio lists it per country and type on its
    # pricing pages (not in the 2010 API). The default is an assumed price of an AU mobile number
    # (PHONE_NUMBER_COUNTRY and PHONE_NUMBER_TYPE's defaults): set your account's. Usage spreads it
    # over the days of each month the agent holds its number.
    twilio_number_monthly_cents: int = setting(650, alias="TWILIO_NUMBER_MONTHLY_CENTS", ge=0, le=1_000_000)
    # The stack's bucket of calls' recordings (copied from Retell by the reconciler); unset: none are
    # copied and no recording can be played.
    recordings_bucket: str | None = setting(None, alias="RECORDINGS_BUCKET")

    def __init__(self, **values: Any) -> None:
        """``values`` by environment variable name (text, as the environment holds it); a missing
        one takes its default. Raises ConfigurationError naming the first invalid variable."""
        for name, info in self.declared.items():
            raw = values.get(info.alias)
            parsed = info.default if raw is None else _parse(info, self._types[name], raw)
            object.__setattr__(self, name, parsed)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Settings are frozen")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Settings) and vars(self) == vars(other)

    def __hash__(self) -> int:
        return hash(tuple(vars(self).items()))

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={'***' if info.alias in SECRET_VARIABLES and vars(self)[name] else vars(self)[name]!r}"
            for name, info in self.declared.items()
        )
        return f"Settings({shown})"

    @property
    def voice_allow_list(self) -> tuple[str, ...]:
        """ALLOWED_VOICE_IDS as a list, in the order given; empty when any voice is allowed."""
        listed = (part.strip() for part in self.allowed_voice_ids.split(","))
        return tuple(dict.fromkeys(voice for voice in listed if voice))

    @property
    def regulations(self) -> Mapping[tuple[str, NumberType], Regulation]:
        """TWILIO_REGULATIONS by (country, type) (checked when the settings were read)."""
        return parse_regulations(self.twilio_regulations)

    @property
    def default_pair(self) -> tuple[str, NumberType]:
        return self.phone_number_country, self.phone_number_type

    def number_options(self) -> list[NumberOption]:
        """The pairs this deployment offers: its default first, then TWILIO_REGULATIONS' keys."""
        return offered_options(self.default_pair, set(self.regulations))

    def number_order(self, country: str, number_type: NumberType) -> NumberOrder:
        """What buying a number of this pair asks Twilio for: TWILIO_REGULATIONS' entry, else (the
        default pair only) TWILIO_BUNDLE_SID and TWILIO_ADDRESS_SID."""
        entry = self.regulations.get((country, number_type))
        if entry is None and (country, number_type) == self.default_pair:
            entry = Regulation(
                bundle_sid=self.twilio_bundle_sid,
                address_sid=self.twilio_address_sid,
                bundle_setting="TWILIO_BUNDLE_SID",
                address_setting="TWILIO_ADDRESS_SID",
            )
        return NumberOrder(country, number_type, entry or Regulation())

    def number_monthly_cents(self, country: str, number_type: NumberType) -> int:
        """A number's monthly rental: its TWILIO_REGULATIONS entry's, else TWILIO_NUMBER_MONTHLY_CENTS."""
        entry = self.regulations.get((country, number_type))
        if entry is not None and entry.monthly_cents is not None:
            return entry.monthly_cents
        return self.twilio_number_monthly_cents

    def value(self, variable: str) -> Any:
        """The value of ``variable`` (an env var name); KeyError when no setting has that name."""
        field = next((name for name, info in self.declared.items() if info.alias == variable), None)
        if field is None:
            raise KeyError(variable)
        return getattr(self, field)

    def require(self, variable: str) -> str:
        """The value of ``variable`` (an env var name), or a ConfigurationError naming it."""
        value = self.value(variable)
        if value in (None, ""):
            purpose = next((arn for arn, names in SECRETS_BY_PURPOSE.items() if variable in names), None)
            where = f" or in the secret named by {purpose} (or SECRETS_ARN)" if purpose else ""
            raise ConfigurationError(f"{variable} is not set: set the environment variable{where}", variable)
        return str(value)


def load_settings(
    environ: Mapping[str, str] | None = None,
    secret_loader: Any | None = None,
    *,
    force_secret: bool = False,
) -> Settings:
    """Parse the environment (and the secrets it names, see ``secret_reads``) into Settings.

    ``secret_loader(arn) -> dict`` defaults to Powertools' cached Secrets Manager provider;
    ``force_secret`` reads the secrets from Secrets Manager even when a cached value is younger
    than its age.
    """
    env = _environment(environ)
    secret_values: dict[str, str] = {}
    for read in secret_reads(env):
        secret = (
            secret_loader(read.arn)
            if secret_loader
            else _load_secret(read.arn, read.named_by, force=force_secret)
        )
        secret_values |= {name: str(secret[name]) for name in read.variables if secret.get(name)}
    return Settings(**(secret_values | env))


@dataclass(frozen=True)
class SecretRead:
    """One secret to read: its ARN, the variable naming it (for errors) and the values taken from it."""

    arn: str
    named_by: str
    variables: tuple[str, ...]


def secret_reads(environ: Mapping[str, str] | None = None) -> list[SecretRead]:
    """The secrets the settings are read from, each once: a secret value missing from the environment
    comes from its purpose's secret when the environment names one, else from SECRETS_ARN's; none
    when the environment has them all."""
    env = _environment(environ)
    wanted: dict[str, tuple[str, list[str]]] = {}  # arn -> (the variable naming it, values)
    for purpose, variables in SECRETS_BY_PURPOSE.items():
        named_by = purpose if purpose in env else "SECRETS_ARN"
        missing = [name for name in variables if name not in env]
        if missing and named_by in env:
            optional = [name for name in OPTIONAL_SECRETS_BY_PURPOSE.get(purpose, ()) if name not in env]
            wanted.setdefault(env[named_by], (named_by, []))[1].extend(missing + optional)
    return [SecretRead(arn, named_by, tuple(names)) for arn, (named_by, names) in wanted.items()]


def _finish_settings_class() -> None:
    """Read the declarations once: each setting's type and its Declared (the class attribute)."""
    hints = typing.get_type_hints(Settings)
    fields = {name: value for name, value in vars(Settings).items() if isinstance(value, Declared)}
    Settings.declared = fields
    Settings._types = {name: hints[name] for name in fields}


def _parse(info: Declared, kind: Any, raw: Any) -> Any:
    """One value from its text, checked against its declaration; an error names the variable."""
    text = info.before(str(raw)) if info.before else str(raw)
    allowed = typing.get_args(kind) if typing.get_origin(kind) is Literal else None
    if kind is bool or bool in typing.get_args(kind):
        if text.strip().lower() not in _BOOLEANS:
            raise _invalid(info, f"must be true or false, got {text!r}")
        return _BOOLEANS[text.strip().lower()]
    base = next((each for each in (int, float) if each is kind or each in typing.get_args(kind)), str)
    try:
        value: Any = base(text.strip()) if base is not str else text
    except ValueError:
        raise _invalid(info, f"must be {'an integer' if base is int else 'a number'}, got {text!r}") from None
    if allowed is not None and value not in allowed:
        raise _invalid(info, f"must be one of {', '.join(map(repr, allowed))}, got {text!r}")
    for bound, holds, words in (
        (info.ge, lambda limit: value >= limit, "at least"),
        (info.gt, lambda limit: value > limit, "greater than"),
        (info.le, lambda limit: value <= limit, "at most"),
    ):
        if bound is not None and not holds(bound):
            raise _invalid(info, f"must be {words} {bound}, got {text!r}")
    if info.min_length is not None and len(value) < info.min_length:
        raise _invalid(info, f"must have at least {info.min_length} character(s)")
    if info.pattern is not None and not re.search(info.pattern, value):
        raise _invalid(info, f"must match {info.pattern}, got {text!r}")
    problem = info.check(value) if info.check else None
    if problem:
        raise _invalid(info, problem)
    return value


_BOOLEANS = {
    "true": True,
    "1": True,
    "yes": True,
    "on": True,
    "false": False,
    "0": False,
    "no": False,
    "off": False,
}


def _invalid(info: Declared, message: str) -> ConfigurationError:
    return ConfigurationError(f"{info.alias} is invalid: {message}", info.alias)


_finish_settings_class()


def forget_secret() -> None:
    """Drop the cached secret and its Secrets Manager client (tests switch AWS mocks and regions)."""
    global _secrets_provider  # noqa: PLW0603
    _secrets_provider = None


def _environment(environ: Mapping[str, str] | None) -> dict[str, str]:
    return {key: value for key, value in (os.environ if environ is None else environ).items() if value != ""}


_secrets_provider: Any = None


def _provider() -> Any:
    """Powertools' Secrets Manager provider with short timeouts: the webhook may read the secret
    while a caller waits, and a slow Secrets Manager must not run the function out of time."""
    global _secrets_provider  # noqa: PLW0603
    if _secrets_provider is None:
        # Imported here: boto3 costs ~250 ms of cold start and only deployments with a secret pay it.
        from aws_lambda_powertools.utilities import parameters
        from botocore.config import Config

        timeouts = Config(connect_timeout=1, read_timeout=2, retries={"total_max_attempts": 2})
        _secrets_provider = parameters.SecretsProvider(boto_config=timeouts)
    return _secrets_provider


def _load_secret(arn: str, named_by: str, *, force: bool = False) -> dict[str, Any]:
    from aws_lambda_powertools.utilities import parameters

    try:
        value = _provider().get(arn, transform="json", max_age=300, force_fetch=force)
    except parameters.exceptions.TransformParameterError as exc:
        raise ConfigurationError(f"the secret {arn} is not a JSON object", named_by) from exc
    except Exception as exc:
        raise ConfigurationError(f"cannot read the secret {arn}: {exc}", named_by) from exc
    if not isinstance(value, dict):
        raise ConfigurationError(f"the secret {arn} is not a JSON object", named_by)
    return value
