"""What a smoke run points at: a deployed stack (SMOKE_STACK=<stack name>: its outputs and parameters,
read with boto3) or the local stack (SMOKE_STACK=local: the ready file `make stack`/`make api` write,
.cache/local-stack.json, or SMOKE_LOCAL_STATE). Neither: the environment alone.

The environment a run reads is the deployment's settings (the names of the README's configuration
table): a deployed stack gives its parameters (its secrets' ARNs among them, read by the settings as the
functions read them), RESOURCE_TAG and WEBHOOK_BASE_URL; variables set in the shell win over those.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voice_agents.runtime import Runtime

LOCAL = "local"
STACK_VARIABLE = "SMOKE_STACK"
LOCAL_STATE_VARIABLE = "SMOKE_LOCAL_STATE"
ROOT = Path(__file__).resolve().parent.parent
LOCAL_STATE = ROOT / ".cache" / "local-stack.json"
# The stack parameters that are settings of the functions (template.yaml passes each on as is).
_SETTING_PARAMETERS = (
    "SecretsArn", "DatabaseSecretArn", "RetellSecretArn", "TwilioSecretArn", "MongoDbDatabase",
    "RetellBaseUrl", "TwilioBaseUrl", "TwilioBundleSid", "TwilioAddressSid", "PhoneNumberCountry",
    "PhoneNumberType", "TwilioNumberMonthlyCents", "TwilioRegulations",
)  # fmt: skip


@dataclass(frozen=True)
class Target:
    name: str  # "local", a stack's name, or "environment"
    environment: dict[str, str]
    outputs: dict[str, str] = field(default_factory=dict)
    # Local only: the API that serves the webhook base URL the numbers point at (make stack's numbers
    # point at a public-looking URL that only this address answers).
    local_api_url: str | None = None

    @property
    def is_local(self) -> bool:
        return self.name == LOCAL

    @property
    def api_url(self) -> str:
        url = self.local_api_url if self.is_local else self.outputs.get("ApiUrl")
        if not url:
            raise SystemExit(f"{self.name}: no ApiUrl output")
        return url.rstrip("/")

    def reachable(self, url: str) -> str:
        """Where a request to ``url`` (a number's VoiceUrl) is sent: itself, except locally."""
        base = self.environment.get("WEBHOOK_BASE_URL", "").rstrip("/")
        if self.local_api_url and base and url.startswith(base):
            return self.local_api_url.rstrip("/") + url[len(base) :]
        return url

    def runtime(self, **overrides: str) -> Runtime:
        """The settings and clients the functions would build from this environment."""
        return Runtime(environ={**self.environment, **overrides})


def load_target(environ: Mapping[str, str] | None = None) -> Target:
    environ = dict(os.environ if environ is None else environ)
    stack = environ.get(STACK_VARIABLE, "")
    if stack == LOCAL:
        return _local(environ)
    if stack:
        return _deployed(stack, environ)
    return Target("environment", environ)


def _local(environ: dict[str, str]) -> Target:
    path = Path(environ.get(LOCAL_STATE_VARIABLE) or LOCAL_STATE)
    if not path.is_file():
        raise SystemExit(f"{path} not found: start the local stack first (make stack or make api)")
    state: dict[str, Any] = json.loads(path.read_text())
    # The local stack's settings win over the shell's: its credentials are the fakes'.
    return Target(LOCAL, {**environ, **state["environment"]}, local_api_url=state["apiUrl"])


def _deployed(stack: str, environ: dict[str, str]) -> Target:
    import boto3  # only against AWS

    cloudformation = boto3.client("cloudformation")
    [described] = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    outputs = {each["OutputKey"]: each["OutputValue"] for each in described.get("Outputs", [])}
    parameters = {each["ParameterKey"]: each.get("ParameterValue", "") for each in described["Parameters"]}
    settings = {_variable(name): parameters[name] for name in _SETTING_PARAMETERS if parameters.get(name)} | {
        "RESOURCE_TAG": outputs.get("ResourceTag", ""),
        "WEBHOOK_BASE_URL": outputs.get("WebhookBaseUrl", ""),
    }
    return Target(stack, {**settings, **environ}, outputs=outputs)


def _variable(parameter: str) -> str:
    """A parameter's setting: SecretsArn -> SECRETS_ARN, MongoDbDatabase -> MONGODB_DATABASE."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", parameter.replace("MongoDb", "Mongodb")).upper()
