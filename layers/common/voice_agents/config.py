"""Configuration: environment variables (and an optional Secrets Manager secret) parsed once.

Env values win over the secret, so a developer can override one value locally without editing the
secret. A value that a component needs and that is absent fails with a message naming it. Read by
pydantic-settings from two sources, in this order: the environment, then the secret.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from voice_agents.errors import ConfigurationError

# Variables whose value may come from the secret named by SECRETS_ARN.
SECRET_VARIABLES = ("MONGODB_URI", "RETELL_API_KEY", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")


class Settings(BaseSettings):
    """Every setting of the README's configuration table, by its environment variable name."""

    # Names as written (Lambda's environment is case-sensitive); an empty value counts as unset.
    model_config = SettingsConfigDict(
        frozen=True, extra="ignore", populate_by_name=True, case_sensitive=True, env_ignore_empty=True
    )

    mongodb_uri: str | None = Field(None, alias="MONGODB_URI")
    mongodb_database: str = Field("voice_agents", alias="MONGODB_DATABASE", min_length=1)
    mongodb_max_pool_size: int = Field(4, alias="MONGODB_MAX_POOL_SIZE", ge=1, le=100)
    retell_api_key: str | None = Field(None, alias="RETELL_API_KEY")
    retell_base_url: str = Field("https://api.retellai.com", alias="RETELL_BASE_URL")
    retell_sip_domain: str = Field("sip.retellai.com", alias="RETELL_SIP_DOMAIN")
    retell_timeout_seconds: float = Field(8.0, alias="RETELL_TIMEOUT_SECONDS", gt=0, le=60)
    twilio_account_sid: str | None = Field(None, alias="TWILIO_ACCOUNT_SID")
    twilio_auth_token: str | None = Field(None, alias="TWILIO_AUTH_TOKEN")
    twilio_base_url: str = Field("https://api.twilio.com", alias="TWILIO_BASE_URL")
    twilio_timeout_seconds: float = Field(8.0, alias="TWILIO_TIMEOUT_SECONDS", gt=0, le=60)
    twilio_bundle_sid: str | None = Field(None, alias="TWILIO_BUNDLE_SID")
    twilio_address_sid: str | None = Field(None, alias="TWILIO_ADDRESS_SID")
    phone_number_country: str = Field("AU", alias="PHONE_NUMBER_COUNTRY", pattern=r"^[A-Z]{2}$")
    phone_number_type: Literal["mobile", "local", "tollfree"] = Field("mobile", alias="PHONE_NUMBER_TYPE")
    webhook_base_url: str | None = Field(None, alias="WEBHOOK_BASE_URL")
    # Prefix of the tag put on every paid resource, so that a sweep only ever touches this
    # deployment's resources even when several deployments share one Twilio or Retell account.
    # At most 39 characters: a tag is `{prefix}:{24-hex agent id}` and a Twilio FriendlyName holds 64.
    resource_tag: str = Field("va", alias="RESOURCE_TAG", pattern=r"^[A-Za-z0-9_-]{1,39}$")
    # The mass-removal brake: a sweep that would remove more provider resources than this removes none.
    reconciler_max_removals: int = Field(10, alias="RECONCILER_MAX_REMOVALS", ge=0, le=10_000)
    secrets_arn: str | None = Field(None, alias="SECRETS_ARN")
    # Agents one owner may have at once (provisioning, active or deleting): each holds a number.
    agent_limit_per_owner: int = Field(25, alias="AGENT_LIMIT_PER_OWNER", ge=1)
    # Rotation: the secret is re-read after this age, and at once (at most once per refresh interval)
    # when a Twilio signature or a provider's 401 says the values in hand may be stale.
    secrets_max_age_seconds: float = Field(300.0, alias="SECRETS_MAX_AGE_SECONDS", ge=0, le=86_400)
    secrets_refresh_interval_seconds: float = Field(
        30.0, alias="SECRETS_REFRESH_INTERVAL_SECONDS", ge=0, le=3600
    )
    # How long a call's record is kept: the call history's period, and a replayed signed webhook
    # within it registers nothing.
    call_record_retention_days: int = Field(90, alias="CALL_RECORD_RETENTION_DAYS", ge=1, le=365)

    @field_validator("retell_base_url", "twilio_base_url", "webhook_base_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @field_validator("phone_number_type", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    def value(self, variable: str) -> Any:
        """The value of ``variable`` (an env var name); KeyError when no setting has that name."""
        field = next((name for name, info in type(self).model_fields.items() if info.alias == variable), None)
        if field is None:
            raise KeyError(variable)
        return getattr(self, field)

    def require(self, variable: str) -> str:
        """The value of ``variable`` (an env var name), or a ConfigurationError naming it."""
        value = self.value(variable)
        if value in (None, ""):
            where = " or in the secret named by SECRETS_ARN" if variable in SECRET_VARIABLES else ""
            raise ConfigurationError(f"{variable} is not set: set the environment variable{where}", variable)
        return str(value)


def load_settings(
    environ: Mapping[str, str] | None = None,
    secret_loader: Any | None = None,
    *,
    force_secret: bool = False,
) -> Settings:
    """Parse the environment (and the secret, when SECRETS_ARN is set) into Settings.

    ``secret_loader(arn) -> dict`` defaults to Powertools' cached Secrets Manager provider;
    ``force_secret`` reads the secret from Secrets Manager even when a cached value is younger
    than its age.
    """
    env = _environment(environ)
    secret_values: dict[str, str] = {}
    secrets_arn = secret_in_use(env)
    if secrets_arn:
        secret = (
            secret_loader(secrets_arn) if secret_loader else _load_secret(secrets_arn, force=force_secret)
        )
        secret_values = {name: str(secret[name]) for name in SECRET_VARIABLES if secret.get(name)}
    sources = (_EnvironmentSource(Settings, env), _SecretSource(Settings, secret_values))
    try:
        return Settings(_build_sources=(sources, {}))
    except ValidationError as exc:
        first = exc.errors()[0]
        variable = str(first["loc"][0]) if first["loc"] else "configuration"
        raise ConfigurationError(f"{variable} is invalid: {first['msg']}", variable) from exc


class _EnvironmentSource(EnvSettingsSource):
    """The environment given to load_settings (os.environ, or a mapping in tests), not always
    os.environ as pydantic-settings' own source reads."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = dict(environ)
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return self._environ


class _SecretSource(PydanticBaseSettingsSource):
    """The secret's values (SECRET_VARIABLES only), under the environment."""

    def __init__(self, settings_cls: type[BaseSettings], values: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self._values = dict(values)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field.alias or field_name), field.alias or field_name, False

    def __call__(self) -> dict[str, Any]:
        return {name: value for name, value in self._values.items() if value}


def secret_in_use(environ: Mapping[str, str] | None = None) -> str | None:
    """The ARN of the secret the settings read values from; None when the environment has them all."""
    env = _environment(environ)
    secrets_arn = env.get("SECRETS_ARN")
    return secrets_arn if secrets_arn and any(name not in env for name in SECRET_VARIABLES) else None


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


def _load_secret(arn: str, *, force: bool = False) -> dict[str, Any]:
    from aws_lambda_powertools.utilities import parameters

    try:
        value = _provider().get(arn, transform="json", max_age=300, force_fetch=force)
    except parameters.exceptions.TransformParameterError as exc:
        raise ConfigurationError(f"the secret {arn} is not a JSON object", "SECRETS_ARN") from exc
    except Exception as exc:
        raise ConfigurationError(f"cannot read the secret {arn}: {exc}", "SECRETS_ARN") from exc
    if not isinstance(value, dict):
        raise ConfigurationError(f"the secret {arn} is not a JSON object", "SECRETS_ARN")
    return value
