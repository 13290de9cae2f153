"""The SAM template's contract: routes, auth, least privilege, runtime, logs, timeouts, outputs.

Reads template.yaml as data (no AWS, no network); cfn-lint runs in-process. The layer build itself is
checked by scripts/check_layer_arch.py, exercised here on synthetic ELF files and, when present, on
the real `sam build` output.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from local.template import function_properties, load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
CHECK_LAYER_ARCH = ROOT / "scripts" / "check_layer_arch.py"

# (method, path) -> the function serving it, and that function's code directory.
ROUTES = {
    ("POST", "/api/agents"): "CreateAgentFunction",
    ("GET", "/api/agents"): "GetAgentsFunction",
    ("GET", "/api/agents/{agentId}"): "GetAgentsFunction",
    ("DELETE", "/api/agents/{agentId}"): "DeleteAgentFunction",
    ("POST", "/api/webhooks/twilio/{agentId}"): "TwilioWebhookFunction",
}
CODE_DIRS = {
    "CreateAgentFunction": "functions/create_agent/",
    "GetAgentsFunction": "functions/get_agents/",
    "DeleteAgentFunction": "functions/delete_agent/",
    "TwilioWebhookFunction": "functions/twilio_webhook/",
    "ReconcileFunction": "functions/reconcile/",
}
API_FUNCTIONS = {"CreateAgentFunction", "GetAgentsFunction", "DeleteAgentFunction", "TwilioWebhookFunction"}
# API Gateway HTTP APIs give an integration 30 s; Twilio gives a webhook 15 s in all.
HTTP_API_LIMIT_SECONDS = 30
TWILIO_LIMIT_SECONDS = 15
# What a cold start plus the webhook's own work must leave unused of Twilio's 15 s.
TWILIO_MARGIN_SECONDS = 5
COMMON_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
    "MONGODB_DATABASE",
    "SECRETS_ARN",
    "RETELL_BASE_URL",
    "RETELL_SIP_DOMAIN",
    "TWILIO_BASE_URL",
    "TWILIO_BUNDLE_SID",
    "TWILIO_ADDRESS_SID",
    "PHONE_NUMBER_COUNTRY",
    "PHONE_NUMBER_TYPE",
    "WEBHOOK_BASE_URL",
    "RESOURCE_TAG",
}
NO_VALUE = {"Ref": "AWS::NoValue"}
SECRETS_POLICY = {
    "Fn::If": [
        "HasSecrets",
        {"AWSSecretsManagerGetSecretValuePolicy": {"SecretArn": {"Ref": "SecretsArn"}}},
        NO_VALUE,
    ]
}


# ---------------------------------------------------------------- loading


@cache
def _load_template() -> dict[str, Any]:
    return load_template(TEMPLATE)


@pytest.fixture
def template() -> dict[str, Any]:
    # A copy, so no test can change what the next one reads.
    return copy.deepcopy(_load_template())


functions = function_properties


def http_api_events(template: dict[str, Any]) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    """(method, path) -> (function logical id, event properties) for every HttpApi event."""
    routes: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    for logical_id, properties in functions(template).items():
        for event in properties.get("Events", {}).values():
            if event["Type"] == "HttpApi":
                key = (event["Properties"]["Method"].upper(), event["Properties"]["Path"])
                assert key not in routes, f"route {key} is declared twice"
                routes[key] = (logical_id, event["Properties"])
    return routes


def references(node: Any) -> set[str]:
    """Every name a node refers to: Ref, Fn::GetAtt and ${Name} inside Fn::Sub."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else value.split(".", 1)[0])
            elif key == "Fn::Sub":
                text, variables = (value, {}) if isinstance(value, str) else (value[0], value[1])
                found.update(
                    part.split("}", 1)[0].split(".", 1)[0]
                    for part in text.split("${")[1:]
                    if not part.startswith("!")
                )
                found.update(references(variables))
            else:
                found.update(references(value))
    elif isinstance(node, list):
        for item in node:
            found.update(references(item))
    return found


def strings(node: Any) -> list[str]:
    """Every string anywhere inside a node."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [text for key, value in node.items() for text in [key, *strings(value)]]
    if isinstance(node, list):
        return [text for item in node for text in strings(item)]
    return []


# ---------------------------------------------------------------- routes and auth


def test_routes_are_exactly_the_designed_ones(template):
    # Given the template, When its HttpApi events are collected
    served = {route: logical_id for route, (logical_id, _) in http_api_events(template).items()}

    # Then every designed route is served by the designed function, and there is no other route
    assert served == ROUTES


def test_every_route_belongs_to_the_stacks_http_api(template):
    for route, (_, event) in http_api_events(template).items():
        assert event.get("ApiId") == {"Ref": "HttpApi"}, route
    assert template["Resources"]["HttpApi"]["Type"] == "AWS::Serverless::HttpApi"


def test_functions_live_where_the_design_says(template):
    for logical_id, properties in functions(template).items():
        assert properties["CodeUri"] == CODE_DIRS[logical_id]
        assert properties["Handler"] == "app.lambda_handler"
        assert (ROOT / properties["CodeUri"] / "app.py").is_file(), f"{logical_id}: app.py is missing"
    assert set(functions(template)) == set(CODE_DIRS)


def test_default_authorizer_is_jwt_from_the_stacks_user_pool_unless_overridden(template):
    # Given the HttpApi's auth configuration
    auth = template["Resources"]["HttpApi"]["Properties"]["Auth"]
    authorizer = auth["Authorizers"][auth["DefaultAuthorizer"]]
    jwt = authorizer["JwtConfiguration"]

    # Then it is a JWT authorizer reading the Authorization header
    assert authorizer["IdentitySource"] == "$request.header.Authorization"
    # And the issuer is JwtIssuer when given, else this stack's Cognito pool
    assert jwt["issuer"] == {
        "Fn::If": [
            "HasJwtIssuer",
            {"Ref": "JwtIssuer"},
            {"Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}"},
        ]
    }
    # And the audience is JwtAudience when given, else this stack's app client
    assert jwt["audience"] == [
        {"Fn::If": ["HasJwtAudience", {"Ref": "JwtAudience"}, {"Ref": "UserPoolClient"}]}
    ]
    conditions = template["Conditions"]
    assert conditions["HasJwtIssuer"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "JwtIssuer"}, ""]}]}
    assert conditions["HasJwtAudience"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "JwtAudience"}, ""]}]}
    assert template["Parameters"]["JwtIssuer"]["Default"] == ""
    assert template["Parameters"]["JwtAudience"]["Default"] == ""
    resources = template["Resources"]
    assert resources["UserPool"]["Type"] == "AWS::Cognito::UserPool"
    assert resources["UserPoolClient"]["Type"] == "AWS::Cognito::UserPoolClient"
    assert resources["UserPoolClient"]["Properties"]["UserPoolId"] == {"Ref": "UserPool"}


def test_dashboard_signs_in_with_the_authorization_code_flow_as_a_public_client(template):
    # Given the app client the dashboard uses
    client = template["Resources"]["UserPoolClient"]["Properties"]

    # Then only the code flow is allowed (no implicit tokens in URLs), without a secret, so the
    # browser's PKCE challenge is what protects the code
    assert client["GenerateSecret"] is False
    assert client["AllowedOAuthFlowsUserPoolClient"] is True
    assert client["AllowedOAuthFlows"] == ["code"]
    assert "openid" in client["AllowedOAuthScopes"]
    assert client["SupportedIdentityProviders"] == ["COGNITO"]
    # And Cognito returns only to the dashboard's own URL, after sign-in and after sign-out
    assert client["CallbackURLs"] == [{"Ref": "DashboardUrl"}]
    assert client["LogoutURLs"] == [{"Ref": "DashboardUrl"}]
    # And the pool has a sign-in domain, named by AuthDomainPrefix or else unique per stack and account
    domain = template["Resources"]["UserPoolDomain"]
    assert domain["Type"] == "AWS::Cognito::UserPoolDomain"
    assert domain["Properties"]["UserPoolId"] == {"Ref": "UserPool"}
    assert domain["Properties"]["Domain"] == {
        "Fn::If": [
            "HasAuthDomainPrefix",
            {"Ref": "AuthDomainPrefix"},
            {"Fn::Sub": "${AWS::StackName}-${AWS::AccountId}"},
        ]
    }


def test_only_the_twilio_webhook_opts_out_of_the_jwt_authorizer(template):
    for route, (_, event) in http_api_events(template).items():
        if route == ("POST", "/api/webhooks/twilio/{agentId}"):
            # Twilio sends no JWT; the handler checks X-Twilio-Signature instead.
            assert event["Auth"] == {"Authorizer": "NONE"}
        else:
            assert "Auth" not in event, f"{route} must use the default JWT authorizer"


def test_cors_allows_the_frontend_origin_and_its_headers(template):
    cors = template["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"]

    assert cors["AllowOrigins"] == [{"Ref": "CorsAllowedOrigin"}]
    assert {"Authorization", "Content-Type", "Idempotency-Key"} <= set(cors["AllowHeaders"])
    assert {"GET", "POST", "DELETE"} <= set(cors["AllowMethods"])


# ---------------------------------------------------------------- runtime and build


def test_every_function_is_arm64_python312_traced_with_the_common_layer(template):
    for logical_id, properties in functions(template).items():
        assert properties["Runtime"] == "python3.12", logical_id
        assert properties["Architectures"] == ["arm64"], logical_id
        assert properties["Layers"] == [{"Ref": "CommonLayer"}], logical_id
        assert properties["Tracing"] == "Active", logical_id
        assert properties["LoggingConfig"]["LogFormat"] == "JSON", logical_id


def test_common_layer_is_built_for_arm64_python312_without_docker(template):
    layer = template["Resources"]["CommonLayer"]
    properties = layer["Properties"]

    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert properties["ContentUri"] == "layers/common/"
    assert properties["CompatibleRuntimes"] == ["python3.12"]
    assert properties["CompatibleArchitectures"] == ["arm64"]
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    makefile = (ROOT / "layers/common/Makefile").read_text()
    assert "build-CommonLayer:" in makefile
    for flag in (
        "--platform manylinux2014_aarch64",
        "--implementation cp",
        "--python-version 3.12",
        "--only-binary=:all:",
        "-r requirements.txt",
    ):
        assert flag in makefile, flag


def test_functions_build_with_a_makefile_target_named_after_them(template):
    # SAM's python3.12 builder needs python3.12 on PATH; a makefile copy works with any machine.
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        assert resource["Metadata"]["BuildMethod"] == "makefile", logical_id
        makefile = ROOT / resource["Properties"]["CodeUri"] / "Makefile"
        assert f"build-{logical_id}:" in makefile.read_text(), logical_id


def test_common_environment_is_set_for_every_function(template):
    for logical_id, properties in functions(template).items():
        assert set(properties["Environment"]["Variables"]) >= COMMON_ENVIRONMENT, logical_id
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "VoiceAgents"
    # Two deployments on one Twilio account must never sweep each other's numbers.
    assert variables["RESOURCE_TAG"] == {
        "Fn::If": ["HasResourceTag", {"Ref": "ResourceTag"}, {"Ref": "AWS::StackName"}]
    }
    assert variables["SECRETS_ARN"] == {"Fn::If": ["HasSecrets", {"Ref": "SecretsArn"}, NO_VALUE]}


def test_secret_values_are_never_in_the_template(template):
    # Declared (empty) only so env.json can set them for `sam local invoke`; in AWS the secret supplies them.
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    for name in ("MONGODB_URI", "RETELL_API_KEY", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        assert variables.get(name, "") == "", name
    for logical_id in functions(template):
        own = template["Resources"][logical_id]["Properties"].get("Environment", {}).get("Variables", {})
        assert not {"MONGODB_URI", "RETELL_API_KEY", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"} & set(own), (
            logical_id
        )


def test_only_the_reconciler_names_the_http_api(template):
    # The API depends on its functions, so an API function naming the API would be a cycle.
    for logical_id, properties in functions(template).items():
        without_events = {key: value for key, value in properties.items() if key != "Events"}
        names_api = "HttpApi" in references(without_events)
        assert names_api == (logical_id == "ReconcileFunction"), logical_id
    webhook_base = functions(template)["ReconcileFunction"]["Environment"]["Variables"]["WEBHOOK_BASE_URL"]
    assert webhook_base["Fn::If"][0] == "HasWebhookBase"
    assert webhook_base["Fn::If"][1] == {"Ref": "WebhookBaseUrl"}


# ---------------------------------------------------------------- least privilege


def test_each_function_may_only_read_the_configured_secret(template):
    for logical_id, properties in functions(template).items():
        # Only SAM's generated role, so nothing broader can be attached by name.
        assert "Role" not in properties, logical_id
        assert properties["Policies"] == [SECRETS_POLICY], logical_id


def test_no_policy_grants_everything(template):
    for logical_id, properties in functions(template).items():
        texts = strings(properties.get("Policies", []))
        assert "*" not in texts, logical_id
        assert not [text for text in texts if "FullAccess" in text], logical_id


# ---------------------------------------------------------------- schedule, timeouts, logs


def test_reconciler_runs_on_a_configurable_schedule(template):
    events = functions(template)["ReconcileFunction"]["Events"]

    schedules = [event for event in events.values() if event["Type"] == "Schedule"]
    assert len(schedules) == 1
    assert schedules[0]["Properties"]["Schedule"] == {"Ref": "ReconcileSchedule"}
    assert template["Parameters"]["ReconcileSchedule"]["Default"] == "rate(5 minutes)"
    # The reconciler is not an API route.
    assert not [event for event in events.values() if event["Type"] == "HttpApi"]


def test_timeouts_fit_the_callers_limits(template):
    properties = functions(template)

    for logical_id in API_FUNCTIONS:
        assert properties[logical_id]["Timeout"] < HTTP_API_LIMIT_SECONDS, logical_id
    assert properties["CreateAgentFunction"]["Timeout"] == 28
    assert properties["TwilioWebhookFunction"]["Timeout"] <= TWILIO_LIMIT_SECONDS - TWILIO_MARGIN_SECONDS
    assert properties["ReconcileFunction"]["Timeout"] <= 300


def test_every_function_has_a_log_group_with_retention(template):
    log_groups = {
        resource["Properties"]["LogGroupName"].get("Fn::Sub"): resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Logs::LogGroup"
    }
    for logical_id in functions(template):
        group = log_groups.get(f"/aws/lambda/${{{logical_id}}}")
        assert group is not None, f"{logical_id} has no log group"
        assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert template["Parameters"]["LogRetentionDays"]["Default"] == 30


# ---------------------------------------------------------------- parameters and outputs


def test_outputs_name_what_clients_need(template):
    outputs = template["Outputs"]

    assert {"ApiUrl", "WebhookBaseUrl", "UserPoolId", "UserPoolClientId", "JwtIssuer"} <= set(outputs)
    assert outputs["UserPoolId"]["Value"] == {"Ref": "UserPool"}
    assert outputs["UserPoolClientId"]["Value"] == {"Ref": "UserPoolClient"}
    # What the dashboard's config.json is made of (web/scripts/stack-config.mjs)
    assert {"UserPoolDomainUrl", "DashboardUrl"} <= set(outputs)
    assert outputs["UserPoolDomainUrl"]["Value"] == {
        "Fn::Sub": "https://${UserPoolDomain}.auth.${AWS::Region}.amazoncognito.com"
    }


def test_every_parameter_and_condition_is_used(template):
    body = {key: value for key, value in template.items() if key not in {"Parameters", "Conditions"}}
    conditions = template.get("Conditions", {})
    used_names = references(body) | references(conditions)

    assert set(template["Parameters"]) - used_names == set()
    # A condition is used by name: the first item of Fn::If or a resource's Condition.
    assert set(conditions) - set(strings(body)) == set()


def test_env_json_sets_only_variables_the_template_declares(template):
    # `sam local invoke --env-vars` silently ignores a variable the function does not declare.
    env = json.loads((ROOT / "env.json").read_text())
    declared = functions(template)

    assert set(env) == set(declared)
    for logical_id, variables in env.items():
        assert set(variables) <= set(declared[logical_id]["Environment"]["Variables"]), logical_id


def test_samconfig_has_dev_and_prod_environments():
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())

    for environment in ("default", "prod"):
        deploy = config[environment]["deploy"]["parameters"]
        assert config[environment]["global"]["parameters"]["region"] == "ap-southeast-2"
        assert deploy["resolve_s3"] is True
        assert "CAPABILITY_IAM" in deploy["capabilities"]
    assert (
        config["default"]["global"]["parameters"]["stack_name"]
        != config["prod"]["global"]["parameters"]["stack_name"]
    )
    assert config["prod"]["deploy"]["parameters"]["confirm_changeset"] is True


def test_cfn_lint_finds_nothing():
    from cfnlint.api import ManualArgs, lint_file

    matches = lint_file(TEMPLATE, config=ManualArgs(regions=["ap-southeast-2"]))

    assert [str(match) for match in matches] == []


# ---------------------------------------------------------------- layer architecture check

AARCH64 = 0xB7
X86_64 = 0x3E


def _elf(machine: int) -> bytes:
    """The first bytes of a 64-bit little-endian ELF shared object for ``machine``."""
    ident = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    return ident + (3).to_bytes(2, "little") + machine.to_bytes(2, "little") + bytes(44)


def _run_check(layer_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHECK_LAYER_ARCH), str(layer_dir)],
        capture_output=True,
        text=True,
        check=False,
    )


def _layer(tmp_path: Path, files: dict[str, bytes]) -> Path:
    for name, content in files.items():
        path = tmp_path / "python" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return tmp_path


def test_layer_check_accepts_aarch64_extensions(tmp_path):
    layer = _layer(
        tmp_path,
        {
            "pydantic_core/_pydantic_core.cpython-312-aarch64-linux-gnu.so": _elf(AARCH64),
            "bson/_cbson.cpython-312-aarch64-linux-gnu.so": _elf(AARCH64),
        },
    )

    result = _run_check(layer)

    assert result.returncode == 0, result.stderr
    assert "2 .so files" in result.stdout


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        ({"pydantic_core/_pydantic_core.cpython-312-x86_64-linux-gnu.so": _elf(X86_64)}, "0x3E"),
        ({"pydantic_core/_pydantic_core.cpython-311-aarch64-linux-gnu.so": _elf(AARCH64)}, "CPython 311"),
        ({"pydantic_core/__init__.py": b""}, "no compiled extensions"),
        ({"bson/_cbson.cpython-312-aarch64-linux-gnu.so": _elf(AARCH64)}, "no pydantic_core"),
        ({"pydantic_core/_pydantic_core.cpython-312-aarch64-linux-gnu.so": b"not an elf"}, "not an ELF"),
    ],
)
def test_layer_check_rejects_what_would_not_load_on_graviton(tmp_path, files, problem):
    result = _run_check(_layer(tmp_path, files))

    assert result.returncode == 1
    assert problem in result.stderr
