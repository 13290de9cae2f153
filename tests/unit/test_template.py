"""The SAM template's contract: routes, auth, least privilege, runtime, logs, timeouts, outputs.

Reads template.yaml as data (no AWS, no network); cfn-lint runs in-process. The layer build itself is
checked by scripts/check_layer_arch.py, exercised here on synthetic ELF files and, when present, on
the real `sam build` output.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from local.template import function_properties, http_routes, load_template
from voice_agents.core.settings import load_settings
from voice_agents.flows.agents.spending import REFUSED_WHILE_PAUSED

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
CHECK_LAYER_ARCH = ROOT / "scripts" / "check_layer_arch.py"

# (method, path) -> the function serving it, and that function's code directory.
ROUTES = {
    ("POST", "/api/agents"): "CreateAgentFunction",
    ("GET", "/api/agents"): "GetAgentsFunction",
    ("GET", "/api/phone-number-options"): "GetAgentsFunction",
    ("GET", "/api/agents/{agentId}"): "GetAgentsFunction",
    ("DELETE", "/api/agents/{agentId}"): "DeleteAgentFunction",
    ("PATCH", "/api/agents/{agentId}"): "UpdateAgentFunction",
    ("POST", "/api/webhooks/twilio/{agentId}"): "TwilioWebhookFunction",
    ("GET", "/api/agents/{agentId}/calls"): "GetAgentsFunction",
    ("POST", "/api/webhooks/retell"): "RetellWebhookFunction",
    ("POST", "/api/webhooks/twilio/{agentId}/dial-status"): "TwilioWebhookFunction",
    ("POST", "/api/webhooks/twilio/{agentId}/recording"): "TwilioWebhookFunction",
    ("POST", "/api/webhooks/twilio/{agentId}/fallback"): "TwilioFallbackFunction",
    ("POST", "/api/tools/transfer"): "RetellWebhookFunction",
    ("GET", "/api/agents/{agentId}/calls/{callSid}/recording"): "GetAgentsFunction",
    ("GET", "/api/agents/{agentId}/calls/{callSid}"): "GetAgentsFunction",
    ("GET", "/api/agents/{agentId}/calls/{callSid}/conversation-recording"): "GetAgentsFunction",
    ("GET", "/api/agents/{agentId}/usage"): "GetAgentsFunction",
    ("GET", "/api/calls"): "GetAgentsFunction",
    ("GET", "/api/webhooks/health"): "TwilioWebhookFunction",
    ("GET", "/api/notifications"): "NotificationsFunction",
    ("PUT", "/api/notifications"): "NotificationsFunction",
    ("POST", "/api/notifications/secret"): "NotificationsFunction",
    ("POST", "/api/notifications/test"): "NotificationsFunction",
}
# Twilio and Retell send no JWT: these routes check their signatures instead.
SIGNED_ROUTES = {
    ("POST", "/api/webhooks/twilio/{agentId}"),
    ("POST", "/api/webhooks/retell"),
    ("POST", "/api/webhooks/twilio/{agentId}/dial-status"),
    ("POST", "/api/webhooks/twilio/{agentId}/recording"),
    ("POST", "/api/webhooks/twilio/{agentId}/fallback"),
    ("POST", "/api/tools/transfer"),
}
# Unsigned and unauthenticated: which deployment serves the base URL, nothing secret.
OPEN_ROUTES = {("GET", "/api/webhooks/health")}
CODE_DIRS = {
    "CreateAgentFunction": "functions/create_agent/",
    "GetAgentsFunction": "functions/get_agents/",
    "DeleteAgentFunction": "functions/delete_agent/",
    "UpdateAgentFunction": "functions/update_agent/",
    "TwilioWebhookFunction": "functions/twilio_webhook/",
    "RetellWebhookFunction": "functions/retell_webhook/",
    "TwilioFallbackFunction": "functions/twilio_fallback/",
    "ReconcileFunction": "functions/reconcile/",
    "PauseCreationFunction": "functions/pause_creation/",
    "NotificationsFunction": "functions/notifications/",
    "DeliverNotificationsFunction": "functions/deliver_notifications/",
}
API_FUNCTIONS = {
    "CreateAgentFunction",
    "GetAgentsFunction",
    "DeleteAgentFunction",
    "UpdateAgentFunction",
    "TwilioWebhookFunction",
    "TwilioFallbackFunction",
    "RetellWebhookFunction",
    "NotificationsFunction",
}
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
    "MONGODB_MAX_POOL_SIZE",
    "SECRETS_MAX_AGE_SECONDS",
    "DATABASE_SECRET_ARN",
    "RETELL_SECRET_ARN",
    "TWILIO_SECRET_ARN",
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
# The secret each function's settings read, by the variable naming it; a variable left out is empty
# and its secret not granted. The read routes read the database as a user that may only read.
EVERY_PURPOSE = {
    "DATABASE_SECRET_ARN": "database",
    "RETELL_SECRET_ARN": "retell",
    "TWILIO_SECRET_ARN": "twilio",
}
SECRETS_READ = {
    "CreateAgentFunction": EVERY_PURPOSE,
    "GetAgentsFunction": {"DATABASE_SECRET_ARN": "read-only database", "TWILIO_SECRET_ARN": "twilio"},
    "DeleteAgentFunction": EVERY_PURPOSE,
    "UpdateAgentFunction": EVERY_PURPOSE,
    "TwilioWebhookFunction": EVERY_PURPOSE,  # the signature, the agent, Retell's registration
    "TwilioFallbackFunction": {"TWILIO_SECRET_ARN": "twilio"},  # the signature only
    "RetellWebhookFunction": EVERY_PURPOSE,  # the signature, the call, the transfer (Twilio)
    "ReconcileFunction": EVERY_PURPOSE,
    "NotificationsFunction": {"DATABASE_SECRET_ARN": "database"},  # the owners' settings
    "DeliverNotificationsFunction": {"DATABASE_SECRET_ARN": "database"},  # the delivery records
    "PauseCreationFunction": {},  # one SSM parameter, no secret
}
SHARED, DATABASE, READER, RETELL, TWILIO = (
    f"arn:aws:secretsmanager:ap-southeast-2:123456789012:secret:voice-agents/{name}"
    for name in ("shared", "database", "reader", "retell", "twilio")
)
# Deployments by their secret parameters (the others empty).
SECRET_PARAMETERS = {
    "no secret": {},
    "one secret": {"SecretsArn": SHARED},
    "a secret per purpose": {
        "DatabaseSecretArn": DATABASE,
        "RetellSecretArn": RETELL,
        "TwilioSecretArn": TWILIO,
    },
    "a secret per purpose, a read-only user": {
        "DatabaseSecretArn": DATABASE,
        "DatabaseReadOnlySecretArn": READER,
        "RetellSecretArn": RETELL,
        "TwilioSecretArn": TWILIO,
    },
    "one secret, a read-only user": {"SecretsArn": SHARED, "DatabaseReadOnlySecretArn": READER},
    "one secret, Twilio's apart": {"SecretsArn": SHARED, "TwilioSecretArn": TWILIO},
}


def secret_of(purpose: str, parameters: dict[str, str]) -> str:
    """The design: a purpose's own secret, else the shared one; the read routes' database secret is
    the read-only user's, else the database's ("": none)."""
    if purpose == "read-only database":
        return parameters.get("DatabaseReadOnlySecretArn") or secret_of("database", parameters)
    own = {"database": "DatabaseSecretArn", "retell": "RetellSecretArn", "twilio": "TwilioSecretArn"}[purpose]
    return parameters.get(own) or parameters.get("SecretsArn", "")


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
    """(method, path) -> (function logical id, event properties) for every HttpApi and Api event."""
    routes: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    for logical_id, properties in functions(template).items():
        for event in properties.get("Events", {}).values():
            if event["Type"] in ("HttpApi", "Api"):
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


def test_the_dashboards_routes_are_on_the_http_api_and_the_webhooks_on_their_own_rest_api(template):
    # The webhooks on a REST API: only its stage takes a WAF web ACL (per-source limits), and a flood
    # of the dashboard's routes cannot exhaust their throttle.
    for route, (_, event) in http_api_events(template).items():
        if route in SIGNED_ROUTES | OPEN_ROUTES:
            assert event.get("RestApiId") == {"Ref": "WebhookApi"}, route
        else:
            assert event.get("ApiId") == {"Ref": "HttpApi"}, route
    assert template["Resources"]["HttpApi"]["Type"] == "AWS::Serverless::HttpApi"
    assert template["Resources"]["WebhookApi"]["Type"] == "AWS::Serverless::Api"


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
    # And Cognito returns only to the dashboard's own URLs, after sign-in and after sign-out: the
    # deployed one and, when given, a developer's local one
    dashboards = [
        {"Fn::If": ["HasDashboardUrl", {"Ref": "DashboardUrl"}, NO_VALUE]},
        {"Fn::If": ["HasLocalDashboardUrl", {"Ref": "LocalDashboardUrl"}, NO_VALUE]},
    ]
    assert client["CallbackURLs"] == dashboards
    assert client["LogoutURLs"] == dashboards
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


def deploy_overrides(environment: str) -> dict[str, str]:
    """The parameter overrides samconfig.toml deploys ``environment`` with, by name."""
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    overrides = config[environment]["deploy"]["parameters"]["parameter_overrides"]
    return dict(override.split("=", 1) for override in overrides)


def sign_in_urls(template: dict[str, Any], overrides: dict[str, str]) -> list[str]:
    """The URLs Cognito may return a sign-in to, for a deploy with ``overrides``, each value checked
    against its parameter's AllowedPattern as CloudFormation checks it."""
    parameters = template["Parameters"]
    urls = []
    for name in ("DashboardUrl", "LocalDashboardUrl"):
        value = overrides.get(name, parameters[name]["Default"])
        assert re.fullmatch(parameters[name]["AllowedPattern"], value), (
            f"CloudFormation refuses {name}={value}"
        )
        urls += [value] if value else []
    return urls


def test_production_returns_sign_ins_to_its_https_dashboard_only(template):
    # Given the URLs Cognito may send a sign-in's code to, in each environment samconfig.toml deploys
    production = sign_in_urls(template, deploy_overrides("prod"))
    development = sign_in_urls(template, deploy_overrides("default"))

    # Then production names https URLs only, none of them on this machine
    assert production
    for url in production:
        assert url.startswith("https://") and "localhost" not in url and "127.0.0.1" not in url, url
    # And development may add the dashboard of `npm run dev`
    assert "http://localhost:5173/" in development
    # And a deploy whose overrides were replaced (a --parameter-overrides flag) gets no localhost either
    assert sign_in_urls(template, {"DashboardUrl": "https://dashboard.example.com/"}) == [
        "https://dashboard.example.com/"
    ]


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("DashboardUrl", "http://localhost:5173/"),
        ("DashboardUrl", "https://localhost:5173/"),
        ("DashboardUrl", "http://dashboard.example.com/"),
        ("DashboardUrl", "https://dashboard.example.com"),  # the page returns to origin + path, "/" at least
        ("LocalDashboardUrl", "https://dashboard.example.com/"),
        ("LocalDashboardUrl", "http://dashboard.example.com/"),
        ("LocalDashboardUrl", "http://localhost.example.com:5173/"),
    ],
)
def test_a_dashboard_url_of_the_wrong_kind_is_refused_by_its_pattern(template, parameter, value):
    assert not re.fullmatch(template["Parameters"][parameter]["AllowedPattern"], value)


def test_sign_in_must_return_somewhere(template):
    # Cognito's code flow needs a URL to return to: a deploy with neither fails before any change.
    [assertion] = template["Rules"]["SignInReturnsSomewhere"]["Assertions"]
    assert assertion["Assert"] == {
        "Fn::Or": [
            {"Fn::Not": [{"Fn::Equals": [{"Ref": "DashboardUrl"}, ""]}]},
            {"Fn::Not": [{"Fn::Equals": [{"Ref": "LocalDashboardUrl"}, ""]}]},
        ]
    }


def test_the_user_pool_offers_authenticator_app_mfa_and_production_requires_it(template):
    pool = template["Resources"]["UserPool"]["Properties"]
    mfa = template["Parameters"]["UserPoolMfa"]

    assert pool["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert pool["MfaConfiguration"] == {"Ref": "UserPoolMfa"}
    # OFF is not offered: a user who registered an authenticator always has to use it
    assert mfa["AllowedValues"] == ["OPTIONAL", "ON"]
    assert mfa["Default"] == "OPTIONAL"
    assert deploy_overrides("prod")["UserPoolMfa"] == "ON"


def test_every_jwt_route_requires_the_api_scope_which_the_dashboard_client_is_granted(template):
    resources = template["Resources"]
    # Given the resource server's scopes, as Cognito names them in an access token
    server = resources["ApiResourceServer"]["Properties"]
    assert resources["ApiResourceServer"]["Type"] == "AWS::Cognito::UserPoolResourceServer"
    assert server["UserPoolId"] == {"Ref": "UserPool"}
    server_scopes = {f"{server['Identifier']}/{scope['ScopeName']}" for scope in server["Scopes"]}

    # Then every route the JWT authorizer guards requires one of them (an ID token has no scope)
    routes = http_routes(template)
    guarded = [route for route in routes if route.authorizer is not None]
    assert {(route.method, route.path) for route in guarded} == set(ROUTES) - SIGNED_ROUTES - OPEN_ROUTES
    for route in guarded:
        assert route.authorization_scopes, route.route_key
        assert set(route.authorization_scopes) <= server_scopes, route.route_key
    required = {scope for route in guarded for scope in route.authorization_scopes}
    # And the dashboard's app client may be granted them, by the code flow, once the server exists
    client = resources["UserPoolClient"]
    assert required <= set(client["Properties"]["AllowedOAuthScopes"])
    assert client["Properties"]["AllowedOAuthFlows"] == ["code"]
    assert client["DependsOn"] == "ApiResourceServer"
    # And the stack tells the dashboard which scopes to ask for
    assert set(template["Outputs"]["ApiScopes"]["Value"].split()) == required


def test_only_the_provider_webhooks_opt_out_of_the_jwt_authorizer(template):
    # The webhook API has no authorizer at all (Twilio and Retell sign instead); every other route
    # takes the HTTP API's default JWT authorizer.
    assert "Auth" not in template["Resources"]["WebhookApi"]["Properties"]
    for route, (_, event) in http_api_events(template).items():
        assert "Auth" not in event, f"{route} must use its API's default (the JWT authorizer, or none)"


def test_cors_allows_the_frontend_origin_and_its_headers(template):
    cors = template["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"]

    assert cors["AllowOrigins"] == [{"Ref": "CorsAllowedOrigin"}]
    assert {"Authorization", "Content-Type", "Idempotency-Key", "If-Match"} <= set(cors["AllowHeaders"])
    assert {"GET", "POST", "PATCH", "DELETE"} <= set(cors["AllowMethods"])
    assert "ETag" in cors["ExposeHeaders"]  # the dashboard reads it for If-Match
    assert "Retry-After" in cors["ExposeHeaders"]  # a page's client can read when to retry a 429
    assert "X-Next-Cursor" in cors["ExposeHeaders"]  # and this for the next part of a CSV of calls


# ---------------------------------------------------------------- runtime and build


def test_every_function_is_arm64_python312_traced_with_the_common_layer(template):
    for logical_id, properties in functions(template).items():
        assert properties["Runtime"] == "python3.12", logical_id
        assert properties["Architectures"] == ["arm64"], logical_id
        assert properties["Layers"] == [{"Ref": "CommonLayer"}], logical_id
        assert properties["Tracing"] == "Active", logical_id
        assert properties["LoggingConfig"]["LogFormat"] == "JSON", logical_id


def test_traces_capture_no_answers_and_no_errors_in_any_function(template):
    # Powertools' decorators record a handler's answer and exception as trace metadata by default
    for logical_id, properties in functions(template).items():
        variables = properties["Environment"]["Variables"]
        assert variables["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false", logical_id
        assert variables["POWERTOOLS_TRACER_CAPTURE_ERROR"] == "false", logical_id


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
        "--require-hashes",
        "-r requirements.lock",
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
    assert variables["RESOURCE_TAG"]["Fn::If"][:2] == ["HasResourceTag", {"Ref": "ResourceTag"}]
    # Each function names its purposes' secrets (the least-privilege tests below), none the shared one
    assert "SECRETS_ARN" not in variables


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


def test_no_function_names_its_own_api_and_the_builders_of_webhook_urls_name_the_webhook_api(template):
    # An API depends on its functions, so a function naming its own API would be a cycle; only the
    # functions that point numbers and agents at the webhooks name the webhook API.
    url_builders = {"CreateAgentFunction", "UpdateAgentFunction", "ReconcileFunction"}
    for logical_id, properties in functions(template).items():
        without_events = {key: value for key, value in properties.items() if key != "Events"}
        named = references(without_events)
        assert "HttpApi" not in named, logical_id
        assert ("WebhookApi" in named) == (logical_id in url_builders), logical_id
    # Numbers, agents and the sweep point at the webhook API's stage unless a base is configured.
    for logical_id in ("CreateAgentFunction", "UpdateAgentFunction", "ReconcileFunction"):
        webhook_base = functions(template)[logical_id]["Environment"]["Variables"]["WEBHOOK_BASE_URL"]
        assert webhook_base["Fn::If"][0] == "HasWebhookBase"
        assert webhook_base["Fn::If"][1] == {"Ref": "WebhookBaseUrl"}
        assert webhook_base["Fn::If"][2] == {
            "Fn::Sub": "https://${WebhookApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${WebhookApi.Stage}"
        }


WEBHOOK_BASES = {
    # value: (the template accepts it, the settings accept it)
    "": (True, True),  # the template's default (the execute-api URL); unset for the settings
    "https://voice.example.com": (True, True),
    "https://voice.example.com:8443/prod/v1": (True, True),
    "https://abc123.execute-api.ap-southeast-2.amazonaws.com": (True, True),
    "http://127.0.0.1:3000": (False, True),  # the local stack: loopback only, and never deployed
    "http://localhost:3000": (False, True),
    "http://voice.example.com": (False, False),
    "https://voice.example.com/": (False, True),  # the settings strip a trailing slash
    "https://voice.example.com?stage=prod": (False, False),
    "https://voice.example.com#calls": (False, False),
    "https://user:secret@voice.example.com": (False, False),
    "https://voice.example.com//prod": (False, False),
    "https://voice..example.com": (False, False),
    "https://voice.example.com/pr od": (False, False),
    "ftp://voice.example.com": (False, False),
    "voice.example.com": (False, False),
}


def settings_accept(variable: str, value: str) -> bool:
    from voice_agents.core.errors import ConfigurationError

    try:
        load_settings(environ={variable: value})
    except ConfigurationError:
        return False
    return True


@pytest.mark.parametrize("value", sorted(WEBHOOK_BASES))
def test_the_webhook_base_url_is_an_https_origin_and_path_in_the_template_and_the_settings(template, value):
    in_template, in_settings = WEBHOOK_BASES[value]
    parameter = template["Parameters"]["WebhookBaseUrl"]

    # CloudFormation matches AllowedPattern against the whole value (the pattern is anchored too)
    assert (re.fullmatch(parameter["AllowedPattern"], value) is not None) == in_template
    assert parameter["Default"] == ""
    assert settings_accept("WEBHOOK_BASE_URL", value) == in_settings


# ---------------------------------------------------------------- least privilege


# The kill switch's parameter, and what may be done with it: create reads it, the alarm's function
# writes it, nothing else touches SSM.
SWITCH_ARN = {
    "Fn::Sub": (
        "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${CreationPausedParameter}"
    )
}


def switch_policy(action: str) -> dict[str, Any]:
    return {"Statement": [{"Effect": "Allow", "Action": action, "Resource": SWITCH_ARN}]}


SES_SEND = {
    "Fn::If": [
        "SendsNotificationEmail",
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "ses:SendEmail",
                    "Resource": {
                        "Fn::Sub": [
                            "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${Identity}",
                            {
                                "Identity": {
                                    "Fn::If": [
                                        "HasNotificationEmailIdentity",
                                        {"Ref": "NotificationEmailIdentity"},
                                        {"Ref": "NotificationEmailSender"},
                                    ]
                                }
                            },
                        ]
                    },
                }
            ]
        },
        NO_VALUE,
    ]
}
RECORDING_OBJECTS = {"Fn::Sub": "${RecordingsBucket.Arn}/*"}
RECORDINGS_KEY = {"Fn::GetAtt": ["RecordingsKey", "Arn"]}
# The recordings' copy writes them, and the read routes sign links that read them. Nothing lists,
# deletes or reads the bucket otherwise.
RECORDINGS_POLICIES = {
    "ReconcileFunction": {
        "Statement": [
            {
                "Sid": "WriteRecordingCopies",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
                "Resource": RECORDING_OBJECTS,
            },
            {
                "Sid": "EncryptRecordingCopies",
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": RECORDINGS_KEY,
            },
        ]
    },
    "GetAgentsFunction": {
        "Statement": [
            {
                "Sid": "ReadRecordingCopies",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": RECORDING_OBJECTS,
            },
            {
                "Sid": "DecryptRecordingCopies",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": RECORDINGS_KEY,
            },
        ]
    },
}


# What a function may do besides reading its secrets: only what its job needs.
EXTRA_POLICIES: dict[str, list[Any]] = {
    "ReconcileFunction": [RECORDINGS_POLICIES["ReconcileFunction"]],
    "GetAgentsFunction": [RECORDINGS_POLICIES["GetAgentsFunction"]],
    # Write the kill switch (when the spending alarm fires), and nothing else.
    "PauseCreationFunction": [switch_policy("ssm:PutParameter")],
    # Read the kill switch.
    "CreateAgentFunction": [switch_policy("ssm:GetParameter")],
    # Queue an analysed call's notifications.
    "RetellWebhookFunction": [
        {"SQSSendMessagePolicy": {"QueueName": {"Fn::GetAtt": ["NotificationsQueue", "QueueName"]}}}
    ],
    # Send the test email as the configured identity, when there is one.
    "NotificationsFunction": [SES_SEND],
    # Back a failed message off (its SQS event source grants receive and delete), and send the emails.
    "DeliverNotificationsFunction": [
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sqs:ChangeMessageVisibility",
                    "Resource": {"Fn::GetAtt": ["NotificationsQueue", "Arn"]},
                }
            ]
        },
        SES_SEND,
    ],
}


def deployed(template: dict[str, Any], node: Any, parameters: dict[str, str]) -> Any:
    """``node`` as CloudFormation would deploy it with these parameters (the others empty): Ref to a
    parameter, Fn::If and the conditions evaluated, AWS::NoValue dropped; a Ref to a resource is kept."""

    def holds(name: str) -> bool:
        return bool(deployed(template, template["Conditions"][name], parameters))

    if isinstance(node, list):
        values = [deployed(template, item, parameters) for item in node]
        return [value for value in values if value != NO_VALUE]
    if not isinstance(node, dict) or len(node) != 1:
        return node
    [(key, value)] = node.items()
    if key == "Ref" and value in template["Parameters"]:
        return parameters.get(value, template["Parameters"][value].get("Default", ""))
    if key == "Fn::If":
        return deployed(template, value[1] if holds(value[0]) else value[2], parameters)
    if key == "Condition":
        return holds(value)
    if key == "Fn::Equals":
        return deployed(template, value[0], parameters) == deployed(template, value[1], parameters)
    if key == "Fn::Not":
        return not deployed(template, value[0], parameters)
    if key == "Fn::And":
        return all(deployed(template, item, parameters) for item in value)
    if key == "Fn::Or":
        return any(deployed(template, item, parameters) for item in value)
    return node


def granted_secrets(
    template: dict[str, Any], properties: dict[str, Any], parameters: dict[str, str]
) -> set[str]:
    """The secrets a function's policies let it read, as deployed with these parameters."""
    granted: set[str] = set()
    for policy in deployed(template, properties.get("Policies", []), parameters):
        if set(policy) != {"Ref"}:
            continue  # not a secret's policy: test_besides_its_secrets_a_function_may_do_only_its_job
        # Only policies of this template, each reading secrets and nothing else
        resource = template["Resources"][policy["Ref"]]
        assert resource["Type"] == "AWS::IAM::ManagedPolicy", policy
        assert deployed(template, {"Condition": resource["Condition"]}, parameters), policy
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            assert (statement["Effect"], statement["Action"]) == ("Allow", "secretsmanager:GetSecretValue")
            granted.update(deployed(template, statement["Resource"], parameters))
    return granted


@pytest.mark.parametrize("deployment", SECRET_PARAMETERS)
def test_each_function_may_read_only_its_purposes_secrets_and_names_exactly_those(template, deployment):
    parameters = SECRET_PARAMETERS[deployment]
    for logical_id, properties in functions(template).items():
        # Only SAM's generated role, so nothing broader can be attached by name.
        assert "Role" not in properties, logical_id
        variables = properties["Environment"]["Variables"]
        # Given what the function uses, in this deployment
        expected = {
            variable: secret_of(purpose, parameters) for variable, purpose in SECRETS_READ[logical_id].items()
        }

        # Then its settings read each purpose's secret from the variable naming it, no other secret
        named = {variable: deployed(template, variables[variable], parameters) for variable in EVERY_PURPOSE}
        assert named == {variable: expected.get(variable, "") for variable in EVERY_PURPOSE}, logical_id
        # And its policies grant exactly those secrets
        assert granted_secrets(template, properties, parameters) == set(expected.values()) - {""}, logical_id


def test_besides_its_secrets_a_function_may_do_only_its_job(template):
    for logical_id, properties in functions(template).items():
        others = [policy for policy in properties["Policies"] if not _is_secret_policy(policy)]
        assert others == EXTRA_POLICIES.get(logical_id, []), logical_id


def _is_secret_policy(policy: Any) -> bool:
    """``!If [Reads...Secret, !Ref ...SecretReadPolicy, !Ref AWS::NoValue]``."""
    condition = policy.get("Fn::If", [None])[0] if isinstance(policy, dict) else None
    return isinstance(condition, str) and condition.startswith("Reads") and condition.endswith("Secret")


def test_the_functions_that_use_the_recordings_are_told_the_bucket(template):
    for logical_id, properties in functions(template).items():
        bucket = properties.get("Environment", {}).get("Variables", {}).get("RECORDINGS_BUCKET")
        assert bucket == ({"Ref": "RecordingsBucket"} if logical_id in RECORDINGS_POLICIES else None), (
            logical_id
        )


def test_recordings_are_private_encrypted_tls_only_and_kept_as_long_as_call_records(template):
    resources = template["Resources"]
    bucket = resources["RecordingsBucket"]["Properties"]
    [encryption] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": RECORDINGS_KEY,
    }
    assert encryption["BucketKeyEnabled"] is True
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    [rule] = bucket["LifecycleConfiguration"]["Rules"]
    assert (rule["Status"], rule["ExpirationInDays"]) == ("Enabled", {"Ref": "CallRecordRetentionDays"})
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    [tls] = resources["RecordingsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert (tls["Effect"], tls["Action"], tls["Condition"]) == (
        "Deny",
        "s3:*",
        {"Bool": {"aws:SecureTransport": "false"}},
    )
    key = resources["RecordingsKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    [admin] = key["KeyPolicy"]["Statement"]
    assert admin["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}


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
    assert {"UserPoolDomainUrl", "DashboardUrl", "ApiScopes"} <= set(outputs)
    assert outputs["DashboardUrl"]["Value"] == {
        "Fn::If": ["HasDashboardUrl", {"Ref": "DashboardUrl"}, {"Ref": "LocalDashboardUrl"}]
    }
    assert outputs["UserPoolDomainUrl"]["Value"] == {
        "Fn::Sub": "https://${UserPoolDomain}.auth.${AWS::Region}.amazoncognito.com"
    }


def _evaluate(value: Any, pseudo: dict[str, str]) -> Any:
    """The intrinsic functions the default resource tag uses, as CloudFormation evaluates them."""
    if not isinstance(value, dict):
        return value
    [(function, argument)] = value.items()
    if function == "Ref":
        return pseudo[argument]
    if function == "Fn::Join":
        separator, items = argument
        return separator.join(_evaluate(item, pseudo) for item in items)
    if function == "Fn::Select":
        index, items = argument
        return _evaluate(items, pseudo)[index]
    if function == "Fn::Split":
        separator, text = argument
        return _evaluate(text, pseudo).split(separator)
    raise AssertionError(f"unexpected {function}")


# Same name, two regions (or two accounts): the stack ids differ, so must the tags.
STACKS = {
    "arn:aws:cloudformation:ap-southeast-2:123456789012:stack/voice-agents-prod/51af3dc0-da77-11e4-872e-1234567db123",
    "arn:aws:cloudformation:us-west-2:210987654321:stack/voice-agents-prod/9c2e1f00-0a1b-11ef-9a3c-0affd1e2c3b4",
}


def test_default_resource_tag_names_the_stack_and_its_unique_id(template):
    default = template["Globals"]["Function"]["Environment"]["Variables"]["RESOURCE_TAG"]["Fn::If"][2]
    assert template["Outputs"]["ResourceTag"]["Value"]["Fn::If"] == [
        "HasResourceTag", {"Ref": "ResourceTag"}, default,
    ]  # fmt: skip
    pattern = template["Parameters"]["ResourceTag"]["AllowedPattern"]
    longest_default = "x" * 30  # a stack name of 30 characters still fits

    tags = {
        _evaluate(default, {"AWS::StackName": "voice-agents-prod", "AWS::StackId": arn}) for arn in STACKS
    }

    assert tags == {"voice-agents-prod-51af3dc0", "voice-agents-prod-9c2e1f00"}
    for tag in tags | {f"{longest_default}-51af3dc0"}:
        # The same limit as the code's setting, and a whole tag fits a Twilio FriendlyName (64).
        assert re.fullmatch(pattern, tag) and load_settings({"RESOURCE_TAG": tag}).resource_tag == tag
        assert len(f"{tag}:{'0' * 24}") <= 64
    assert not re.fullmatch(pattern, "x" * 40)


def test_every_parameter_and_condition_is_used(template):
    body = {key: value for key, value in template.items() if key not in {"Parameters", "Conditions"}}
    conditions = template.get("Conditions", {})
    used_names = references(body) | references(conditions)

    assert set(template["Parameters"]) - used_names == set()
    # A condition is used by name: the first item of Fn::If, a resource's Condition, or another's.
    assert set(conditions) - set(strings(body)) - set(strings(list(conditions.values()))) == set()


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


# ---------------------------------------------------------------- spending bounds

CREATE_ROUTE_KEY = "POST /api/agents"
# The throttle parameters of each kind of route: (rate, burst).
ROUTE_THROTTLES = {
    "default": ("ApiThrottleRateLimit", "ApiThrottleBurstLimit"),  # a route without its own
    "create": ("CreateAgentThrottleRateLimit", "CreateAgentThrottleBurstLimit"),
    "reads": ("ReadRouteThrottleRateLimit", "ReadRouteThrottleBurstLimit"),
    "writes": ("WriteRouteThrottleRateLimit", "WriteRouteThrottleBurstLimit"),
}


def _throttle(kind: str) -> dict[str, Any]:
    rate, burst = ROUTE_THROTTLES[kind]
    return {"ThrottlingRateLimit": {"Ref": rate}, "ThrottlingBurstLimit": {"Ref": burst}}


def test_every_route_is_throttled_and_create_far_more_strictly(template):
    api = template["Resources"]["HttpApi"]["Properties"]
    parameters = template["Parameters"]

    # Given the stage's default route settings, Then every route is throttled by parameters
    assert api["DefaultRouteSettings"] == _throttle("default")
    # And each JWT route has a setting of its own: creating an agent (which buys a number), the reads
    # and the other writes (the provider callbacks are on the webhook API, with their own throttle)
    jwt_routes = {
        f"{method} {path}" for method, path in ROUTES if (method, path) not in SIGNED_ROUTES | OPEN_ROUTES
    }
    assert set(api["RouteSettings"]) == jwt_routes
    for route in jwt_routes:
        method = route.split(" ")[0]
        kind = "create" if route == CREATE_ROUTE_KEY else "reads" if method == "GET" else "writes"
        assert api["RouteSettings"][route] == _throttle(kind), route
    # And by default create is stricter than every other route, in rate and in burst
    for kind in ("default", "reads", "writes"):
        for create_parameter, other in zip(ROUTE_THROTTLES["create"], ROUTE_THROTTLES[kind], strict=True):
            assert parameters[create_parameter]["Default"] < parameters[other]["Default"], other
    # And no parameter can switch throttling off (API Gateway reads 0 as "reject everything", a
    # negative value as invalid; neither is a limit)
    for name in (name for pair in ROUTE_THROTTLES.values() for name in pair):
        assert parameters[name]["Type"] == "Number", name
        assert float(parameters[name]["MinValue"]) > 0, name


def test_the_phone_number_options_are_read_like_the_agents(template):
    # Given the route the dashboard reads the offered countries and number types from
    api = template["Resources"]["HttpApi"]["Properties"]
    events = template["Resources"]["GetAgentsFunction"]["Properties"]["Events"]
    options = events["ListPhoneNumberOptions"]["Properties"]

    # Then the read function answers it on the JWT API, with no authorizer or scope of its own
    assert (options["Method"], options["Path"]) == ("GET", "/api/phone-number-options")
    assert options["ApiId"] == {"Ref": "HttpApi"} and "Auth" not in options
    assert "Auth" not in events["ListAgents"]["Properties"]
    # And it is throttled as GET /api/agents is
    assert api["RouteSettings"]["GET /api/phone-number-options"] == api["RouteSettings"]["GET /api/agents"]


@pytest.mark.parametrize(
    ("kind", "owner_budget"), [("reads", "OwnerReadsPerMinute"), ("writes", "OwnerWritesPerMinute")]
)
def test_a_routes_bucket_holds_many_owners_at_their_whole_budget(template, kind, owner_budget):
    parameters = template["Parameters"]
    route_per_minute = parameters[ROUTE_THROTTLES[kind][0]]["Default"] * 60

    # The route's bucket is the outer bound, the per-owner budget the share: by default ten owners
    # spending all of theirs at once still fit
    assert route_per_minute >= 10 * parameters[owner_budget]["Default"]


def test_create_and_reconciler_have_reserved_concurrency_and_nothing_else_does(template):
    properties = functions(template)
    parameters = template["Parameters"]

    # Create is capped by a parameter, the reconciler at one run at a time, both behind one switch
    assert properties["CreateAgentFunction"]["ReservedConcurrentExecutions"] == {
        "Fn::If": ["ReservesConcurrency", {"Ref": "CreateAgentReservedConcurrency"}, NO_VALUE]
    }
    assert properties["ReconcileFunction"]["ReservedConcurrentExecutions"] == {
        "Fn::If": ["ReservesConcurrency", 1, NO_VALUE]
    }
    assert template["Conditions"]["ReservesConcurrency"] == {
        "Fn::Equals": [{"Ref": "ReserveConcurrency"}, "true"]
    }
    assert parameters["ReserveConcurrency"]["Default"] == "true"
    assert parameters["ReserveConcurrency"]["AllowedValues"] == ["true", "false"]
    # The description tells the operator of a small account why and when to switch it off.
    assert "unreserved" in parameters["ReserveConcurrency"]["Description"]
    # A cap of 0 would disable create altogether.
    assert parameters["CreateAgentReservedConcurrency"]["MinValue"] >= 1
    # The route's burst fits the cap, so a burst is answered by the API's 429, not by Lambda's throttle.
    assert (
        parameters["CreateAgentReservedConcurrency"]["Default"]
        >= parameters["CreateAgentThrottleBurstLimit"]["Default"]
    )
    # The webhook is never capped (a throttled webhook is a caller who hears Twilio's error), nor are
    # reads, updates and deletes, which buy nothing.
    for logical_id in (
        "TwilioWebhookFunction",
        "GetAgentsFunction",
        "DeleteAgentFunction",
        "UpdateAgentFunction",
    ):
        assert "ReservedConcurrentExecutions" not in properties[logical_id], logical_id


def test_database_pool_size_is_a_parameter_that_defaults_to_the_codes_default(template):
    from voice_agents.core.settings import Settings

    variables = template["Globals"]["Function"]["Environment"]["Variables"]

    # The sizing arithmetic (instances x (pool + 1) under the Atlas limit) has its knob in the template
    assert variables["MONGODB_MAX_POOL_SIZE"] == {"Ref": "MongoDbMaxPoolSize"}
    assert (
        template["Parameters"]["MongoDbMaxPoolSize"]["Default"]
        == Settings.declared["mongodb_max_pool_size"].default
    )


def test_the_spending_alarm_pauses_creates_through_the_kill_switch(template):
    resources = template["Resources"]
    parameter = resources["CreationPausedParameter"]
    create = functions(template)["CreateAgentFunction"]
    pause = functions(template)["PauseCreationFunction"]

    # Given the switch: an SSM parameter of this stack, off when deployed
    assert parameter["Type"] == "AWS::SSM::Parameter"
    assert parameter["Properties"]["Type"] == "String"
    assert parameter["Properties"]["Value"] == "false"
    assert parameter["Properties"]["Name"] == {"Fn::Sub": "/${AWS::StackName}/creation-paused"}
    # Then create reads it, and the function that flips it is told its name
    for function in (create, pause):
        assert function["Environment"]["Variables"]["CREATION_PAUSED_PARAMETER"] == {
            "Ref": "CreationPausedParameter"
        }
    # And the flip runs when AgentsCreatedAlarm (the spending alarm) enters ALARM, and only then
    [event] = pause["Events"].values()
    assert event["Type"] == "EventBridgeRule"
    assert event["Properties"]["Pattern"] == {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "resources": [{"Fn::GetAtt": ["AgentsCreatedAlarm", "Arn"]}],
        "detail": {"state": {"value": ["ALARM"]}},
    }
    # And an operator finds the parameter's name among the outputs, to turn creates back on
    assert template["Outputs"]["CreationPausedParameter"]["Value"] == {"Ref": "CreationPausedParameter"}


def test_a_purchase_limit_answer_shows_its_retry_after_to_the_dashboard(template):
    cors = template["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"]

    assert "Retry-After" in cors["ExposeHeaders"]


def test_spending_alarm_threshold_is_a_parameter(template):
    parameter = template["Parameters"]["AgentsCreatedAlarmThreshold"]

    assert parameter["Type"] == "Number"
    assert parameter["MinValue"] >= 1
    assert alarms(template)["AgentsCreatedAlarm"]["Period"] == 3600


# ---------------------------------------------------------------- reconciler failures


def test_a_failed_reconciler_run_lands_in_an_encrypted_queue(template):
    invoke_config = functions(template)["ReconcileFunction"]["EventInvokeConfig"]
    queue = template["Resources"]["ReconcileFailureQueue"]

    # The next scheduled run is the retry
    assert invoke_config["MaximumRetryAttempts"] == 0
    # And a failed run's event goes to the stack's own SQS queue
    assert invoke_config["DestinationConfig"] == {
        "OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": ["ReconcileFailureQueue", "Arn"]}}
    }
    assert queue["Type"] == "AWS::SQS::Queue"
    # Encrypted at rest, with a key the role may use through SQS without a key policy naming it
    assert queue["Properties"]["KmsMasterKeyId"] == "alias/aws/sqs"
    # Kept as long as SQS allows, so the error can still be read after a weekend
    assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    # And the permission to send there is SAM's (sqs:SendMessage on this queue): nothing is granted by hand
    policies = functions(template)["ReconcileFunction"]["Policies"]
    granted = {policy["Fn::If"][1]["Ref"] for policy in policies if "Fn::If" in policy}
    assert granted == {"DatabaseSecretReadPolicy", "RetellSecretReadPolicy", "TwilioSecretReadPolicy"}
    assert "sqs" not in json.dumps(policies)


# ---------------------------------------------------------------- alarms

TOPIC_ACTIONS = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], NO_VALUE]}
# Custom metrics: EMF counts in VoiceAgents with the one dimension service = the stack name.
# alarm -> (metric, statistic, comparison, threshold, treat missing data)
CUSTOM_METRIC_ALARMS = {
    "StuckRecordsAlarm": ("StuckRecords", "Maximum", "GreaterThanThreshold", 0, "breaching"),
    "UnaccountedResourcesAlarm": (
        "UnaccountedResources",
        "Maximum",
        "GreaterThanThreshold",
        0,
        "notBreaching",
    ),
    "MassRemovalBlockedAlarm": (
        "MassRemovalBlocked",
        "Sum",
        "GreaterThanOrEqualToThreshold",
        1,
        "notBreaching",
    ),
    "MassRepointBlockedAlarm": (
        "MassRepointBlocked",
        "Sum",
        "GreaterThanOrEqualToThreshold",
        1,
        "notBreaching",
    ),
    "WebhookBaseUnverifiedAlarm": (
        "WebhookBaseUnverified",
        "Sum",
        "GreaterThanOrEqualToThreshold",
        1,
        "notBreaching",
    ),
    "SweepSkippedAlarm": ("SweepSkipped", "Sum", "GreaterThanOrEqualToThreshold", 1, "notBreaching"),
    "RecordRepairFailedAlarm": (
        "RecordRepairFailed",
        "Sum",
        "GreaterThanOrEqualToThreshold",
        3,
        "notBreaching",
    ),
    "WebhookSignatureRejectedAlarm": (
        "WebhookSignatureRejected",
        "Sum",
        "GreaterThanOrEqualToThreshold",
        5,
        "notBreaching",
    ),
    "WebhookFailuresAlarm": ("WebhookFailures", "Sum", "GreaterThanOrEqualToThreshold", 1, "notBreaching"),
    "AgentsCreatedAlarm": (
        "AgentsCreated",
        "Sum",
        "GreaterThanOrEqualToThreshold",
        {"Ref": "AgentsCreatedAlarmThreshold"},
        "notBreaching",
    ),
    "NotificationsNotQueuedAlarm": (
        "NotificationsNotQueued",
        "Sum",
        "GreaterThanOrEqualToThreshold",
        1,
        "notBreaching",
    ),
    "RateLimitUncheckedAlarm": (
        "RateLimitUnchecked",
        "Sum",
        "GreaterThanOrEqualToThreshold",
        10,
        "notBreaching",
    ),
}
# AWS metrics: alarm -> (namespace, metric, dimension name, dimension value, missing data)
AWS_METRIC_ALARMS = {
    "ReconcilerNotRunningAlarm": (
        "AWS/Lambda",
        "Invocations",
        "FunctionName",
        {"Ref": "ReconcileFunction"},
        "breaching",
    ),
    "ReconcileErrorsAlarm": (
        "AWS/Lambda",
        "Errors",
        "FunctionName",
        {"Ref": "ReconcileFunction"},
        "notBreaching",
    ),
    "ReconcileFailuresAlarm": (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "QueueName",
        {"Fn::GetAtt": ["ReconcileFailureQueue", "QueueName"]},
        "notBreaching",
    ),
    "TwilioWebhookErrorsAlarm": (
        "AWS/Lambda",
        "Errors",
        "FunctionName",
        {"Ref": "TwilioWebhookFunction"},
        "notBreaching",
    ),
    "PauseCreationErrorsAlarm": (
        "AWS/Lambda",
        "Errors",
        "FunctionName",
        {"Ref": "PauseCreationFunction"},
        "notBreaching",
    ),
    "NotificationsDeadLetterAlarm": (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "QueueName",
        {"Fn::GetAtt": ["NotificationsDeadLetterQueue", "QueueName"]},
        "notBreaching",
    ),
    "DeliverNotificationsErrorsAlarm": (
        "AWS/Lambda",
        "Errors",
        "FunctionName",
        {"Ref": "DeliverNotificationsFunction"},
        "notBreaching",
    ),
}


def alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource["Properties"]
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }


def schedule_seconds(expression: str) -> int:
    """rate(N unit) in seconds; the reconciler's schedule is a rate, not a cron."""
    amount, unit = expression.removeprefix("rate(").removesuffix(")").split()
    return int(amount) * {"minute": 60, "hour": 3600, "day": 86400}[unit.removesuffix("s")]


def test_every_alarm_notifies_the_topic_when_it_fires_and_when_it_recovers(template):
    found = alarms(template)

    assert set(CUSTOM_METRIC_ALARMS) | set(AWS_METRIC_ALARMS) | {
        "ProvisioningFailuresAlarm",
        "WebhookThrottledAlarm",
        "Api5xxAlarm",
    } == set(found)
    for logical_id, properties in found.items():
        assert properties["AlarmActions"] == TOPIC_ACTIONS, logical_id
        assert properties["OKActions"] == TOPIC_ACTIONS, logical_id
        assert properties["EvaluationPeriods"] == 1, logical_id
        assert properties["AlarmDescription"], logical_id
    assert template["Conditions"]["HasAlarmTopic"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]
    }


@pytest.mark.parametrize("logical_id", sorted(CUSTOM_METRIC_ALARMS))
def test_reconciler_and_webhook_metrics_alarm_on_this_deployments_emf_counts(template, logical_id):
    metric, statistic, comparison, threshold, missing = CUSTOM_METRIC_ALARMS[logical_id]
    properties = alarms(template)[logical_id]

    # Same namespace and dimension as voice_agents.core.observability.count emits (service = stack name)
    assert (
        properties["Namespace"]
        == template["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
    )
    assert properties["Dimensions"] == [{"Name": "service", "Value": {"Ref": "AWS::StackName"}}]
    assert template["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == {
        "Ref": "AWS::StackName"
    }
    assert properties["MetricName"] == metric
    assert properties["Statistic"] == statistic
    assert properties["ComparisonOperator"] == comparison
    assert properties["Threshold"] == threshold
    assert properties["TreatMissingData"] == missing


@pytest.mark.parametrize("logical_id", sorted(AWS_METRIC_ALARMS))
def test_aws_metric_alarms_watch_this_stacks_resources(template, logical_id):
    namespace, metric, dimension, value, missing = AWS_METRIC_ALARMS[logical_id]
    properties = alarms(template)[logical_id]

    assert properties["Namespace"] == namespace
    assert properties["MetricName"] == metric
    assert properties["Dimensions"] == [{"Name": dimension, "Value": value}]
    assert properties["TreatMissingData"] == missing


def test_api_5xx_alarm_does_not_count_creates_refused_while_paused(template):
    alarm = alarms(template)["Api5xxAlarm"]
    queries = {query["Id"]: query for query in alarm["Metrics"]}

    # The API's 5xx answers, less this deployment's count of creates refused while paused (503 on
    # purpose, named as the layer counts it), each missing series read as none
    answered = queries["answered"]["MetricStat"]
    assert answered["Metric"] == {
        "Namespace": "AWS/ApiGateway",
        "MetricName": "5xx",
        "Dimensions": [{"Name": "ApiId", "Value": {"Ref": "HttpApi"}}],
    }
    paused = queries["paused"]["MetricStat"]
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert paused["Metric"] == {
        "Namespace": variables["POWERTOOLS_METRICS_NAMESPACE"],
        "MetricName": REFUSED_WHILE_PAUSED,
        "Dimensions": [{"Name": "service", "Value": {"Ref": "AWS::StackName"}}],
    }
    assert answered["Period"] == paused["Period"] == 300 and answered["Stat"] == paused["Stat"] == "Sum"
    assert queries["unplanned"]["Expression"] == "FILL(answered, 0) - FILL(paused, 0)"
    assert [query["Id"] for query in alarm["Metrics"] if query["ReturnData"]] == ["unplanned"]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (3, "GreaterThanOrEqualToThreshold")
    assert alarm["TreatMissingData"] == "notBreaching"


def test_a_silent_reconciler_alarms(template):
    not_running = alarms(template)["ReconcilerNotRunningAlarm"]
    stuck = alarms(template)["StuckRecordsAlarm"]
    schedule = schedule_seconds(template["Parameters"]["ReconcileSchedule"]["Default"])

    # Fewer than one invocation in the period alarms, and no data at all (no invocation ever
    # reported) counts as breaching
    assert not_running["ComparisonOperator"] == "LessThanThreshold"
    assert not_running["Threshold"] == 1
    assert not_running["Statistic"] == "Sum"
    assert not_running["TreatMissingData"] == "breaching"
    # The period holds several scheduled runs, so one late run is no alarm
    assert not_running["Period"] >= 3 * schedule
    # StuckRecords is reported by every run (0 included): a period without it is a run that did not report
    assert stuck["TreatMissingData"] == "breaching"
    assert stuck["Period"] >= 3 * schedule


def test_any_reconciler_error_alarms_at_once(template):
    errors = alarms(template)["ReconcileErrorsAlarm"]

    assert errors["Statistic"] == "Sum"
    assert errors["Threshold"] == 1
    assert errors["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert errors["EvaluationPeriods"] == 1
    failures = alarms(template)["ReconcileFailuresAlarm"]
    assert (failures["ComparisonOperator"], failures["Threshold"]) == ("GreaterThanThreshold", 0)


# ---------------------------------------------------------------- notifications


def test_notifications_are_queued_by_the_retell_webhook_and_consumed_with_partial_batch_failures(template):
    properties = functions(template)
    queue = template["Resources"]["NotificationsQueue"]["Properties"]
    dead = template["Resources"]["NotificationsDeadLetterQueue"]["Properties"]
    consumer = properties["DeliverNotificationsFunction"]
    [source] = consumer["Events"].values()

    queue_url = {"Ref": "NotificationsQueue"}
    assert (
        properties["RetellWebhookFunction"]["Environment"]["Variables"]["NOTIFICATIONS_QUEUE_URL"]
        == queue_url
    )
    assert consumer["Environment"]["Variables"]["NOTIFICATIONS_QUEUE_URL"] == queue_url
    # A failed message alone comes back (its batch's others are deleted)
    assert source["Type"] == "SQS"
    assert source["Properties"]["Queue"] == {"Fn::GetAtt": ["NotificationsQueue", "Arn"]}
    assert source["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert source["Properties"]["ScalingConfig"]["MaximumConcurrency"] >= 2
    # After the last try SQS moves it to the dead-letter queue; the consumer counts the same tries
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["NotificationsDeadLetterQueue", "Arn"]},
        "maxReceiveCount": {"Ref": "NotificationMaxAttempts"},
    }
    assert consumer["Environment"]["Variables"]["NOTIFICATION_MAX_ATTEMPTS"] == {
        "Ref": "NotificationMaxAttempts"
    }
    # A try in flight is never handed out again: the visibility outlasts the function six times over
    assert queue["VisibilityTimeout"] >= 6 * consumer["Timeout"]
    # Both queues encrypted, kept as long as SQS allows
    for each in (queue, dead):
        assert each["KmsMasterKeyId"] == "alias/aws/sqs"
        assert each["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert alarms(template)["NotificationsDeadLetterAlarm"]["Threshold"] == 0


def test_the_template_never_lets_a_webhook_reach_this_machine_or_a_private_network(template):
    # NOTIFICATION_TARGETS=loopback is the local stack's; deployed, the code's default (public) holds.
    from voice_agents.core.settings import Settings

    assert Settings.declared["notification_targets"].default == "public"
    assert "NOTIFICATION_TARGETS" not in strings(template)


# ---------------------------------------------------------------- security scan


def test_log_groups_are_encrypted_with_the_stacks_key_which_cloudwatch_logs_may_use(template):
    resources = template["Resources"]
    key = resources["LogsKey"]

    log_groups = [resource for resource in resources.values() if resource["Type"] == "AWS::Logs::LogGroup"]
    # One per function, the two APIs' access logs and the web ACL's log.
    assert len(log_groups) == len(functions(template)) + 3
    for group in log_groups:
        assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["LogsKey", "Arn"]}
    assert key["Type"] == "AWS::KMS::Key"
    assert key["Properties"]["EnableKeyRotation"] is True
    statements = {statement["Sid"]: statement for statement in key["Properties"]["KeyPolicy"]["Statement"]}
    # The account keeps control of the key (without it the key could never be managed again)
    administer = statements["AccountAdministersTheKey"]
    assert administer["Principal"] == {
        "AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
    }
    # CloudWatch Logs of this region may use it, for this account's log groups only, and never delete it
    logs = statements["CloudWatchLogsUsesItForThisAccountsLogGroups"]
    assert logs["Principal"] == {"Service": {"Fn::Sub": "logs.${AWS::Region}.${AWS::URLSuffix}"}}
    assert {"kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*"} <= set(logs["Action"])
    assert not [action for action in logs["Action"] if "Delete" in action or action == "kms:*"]
    assert logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"
    }


# (resource, check) -> nothing else may be skipped: a new skip is a decision this test makes visible.
CHECKOV_SKIPS = {
    *((logical_id, "CKV_AWS_117") for logical_id in CODE_DIRS),  # outside a VPC
    *((logical_id, "CKV_AWS_173") for logical_id in CODE_DIRS),  # environment without a customer key
    *((logical_id, "CKV_AWS_116") for logical_id in CODE_DIRS),  # no DLQ (sync, or an OnFailure queue)
    ("GetAgentsFunction", "CKV_AWS_115"),
    ("DeleteAgentFunction", "CKV_AWS_115"),
    ("UpdateAgentFunction", "CKV_AWS_115"),
    ("PauseCreationFunction", "CKV_AWS_115"),
    ("TwilioWebhookFunction", "CKV_AWS_115"),
    ("TwilioFallbackFunction", "CKV_AWS_115"),
    ("RetellWebhookFunction", "CKV_AWS_115"),
    ("NotificationsFunction", "CKV_AWS_115"),
    ("DeliverNotificationsFunction", "CKV_AWS_115"),  # bounded by its event source's MaximumConcurrency
    ("WebhookApi", "CKV_AWS_120"),  # no cache: every request is a POST answered once
    ("RecordingsBucket", "CKV_AWS_18"),  # no access log bucket
    ("RecordingsBucket", "CKV_AWS_21"),  # no versions: a copy must go at the end of the retention
}


def test_security_scan_skips_are_exactly_the_decided_ones_each_with_its_reason(template):
    skips = {
        (logical_id, skip["id"]): skip.get("comment", "")
        for logical_id, resource in template["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    }

    assert set(skips) == CHECKOV_SKIPS
    for (logical_id, check), comment in skips.items():
        # A reason, not a label
        assert len(comment.split()) >= 8, (logical_id, check, comment)


def test_make_test_runs_the_security_scan_offline():
    makefile = (ROOT / "Makefile").read_text()
    targets = {
        line.split(":", 1)[0]: line for line in makefile.splitlines() if line and not line[0].isspace()
    }

    assert " scan " in targets["test"].split("##")[0] + " "
    recipe = makefile.split("\nscan:", 1)[1].split("\n\n", 1)[0]
    # No platform download and no version check: the scan runs without network access
    for setting in ("BC_SKIP_MAPPING=TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK=TRUE", "--skip-download"):
        assert setting in recipe, setting
    assert "--soft-fail" not in recipe
    assert "checkov==" in (ROOT / "requirements-scan.txt").read_text()


# ---------------------------------------------------------------- locked dependencies

# Each lock and the requirements it is made from (make lock).
LOCKS = {
    "layers/common/requirements.lock": "layers/common/requirements.txt",
    "requirements-dev.lock": "requirements-dev.txt",
    "requirements-tools.lock": "requirements-tools.txt",
    "requirements-scan.lock": "requirements-scan.txt",
    "requirements-lock.lock": "requirements-lock.txt",
    "requirements-pip.lock": "requirements-pip.txt",
}
# Layer packages no code imports by name, and why the layer holds them.
NOT_IMPORTED = {"tzdata": "zoneinfo reads it when the Lambda image has no /usr/share/zoneinfo"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned(requirements: str) -> dict[str, str]:
    """name -> version of each ``name[extras]==version`` line."""
    found = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^]]*\])?==([^\s;]+)", requirements, re.MULTILINE)
    return {canonical(name): version for name, version in found}


def test_every_pip_install_checks_a_lock_s_hashes():
    recipes = [(ROOT / "Makefile").read_text(), (ROOT / "layers/common/Makefile").read_text()]
    lines = [line for text in recipes for line in text.replace("\\\n", " ").splitlines()]
    installs = [line for line in lines if re.search(r"\bpip install ", line) and not line.startswith("#")]

    # pip itself (every virtualenv), development, aws-sam-cli, checkov, uv, the layer
    assert len(installs) == 6, installs
    for line in installs:
        assert "--require-hashes" in line, line
        assert re.search(r"-r \S+\.lock\b", line), line


@pytest.mark.parametrize("lock", LOCKS)
def test_each_lock_pins_every_package_with_its_hashes_and_holds_its_requirements(lock):
    text = (ROOT / lock).read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.strip())

    for entry in entries:
        assert "==" in entry.splitlines()[0] and "--hash=sha256:" in entry, entry.splitlines()[0]
    # At the versions its requirements pin
    source = pinned((ROOT / LOCKS[lock]).read_text())
    assert source.items() <= pinned(text).items(), lock


def top_level_modules(distribution: str) -> set[str]:
    """What an installed distribution puts on sys.path (phonenumberslite: phonenumbers)."""
    from importlib.metadata import distribution as installed

    roots = {path.parts[0] for path in installed(distribution).files or []}
    return {root.removesuffix(".py") for root in roots if not root.endswith((".dist-info", ".data", ".."))}


def test_every_package_the_layer_requires_is_imported_by_its_code():
    sources = [*(ROOT / "layers/common/voice_agents").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]
    imported = {
        module
        for path in sources
        for module in re.findall(r"^\s*(?:from|import) (\w+)", path.read_text(), re.MULTILINE)
    }
    required = pinned((ROOT / "layers/common/requirements.txt").read_text())

    unused = {name for name in required if not top_level_modules(name) & imported}
    assert unused == set(NOT_IMPORTED)


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


@pytest.mark.parametrize(
    ("function", "variable", "parameter"),
    [
        ("CreateAgentFunction", "AGENT_LIMIT_PER_OWNER", "AgentLimitPerOwner"),
        ("CreateAgentFunction", "PURCHASE_BUDGET_PER_DAY", "PurchaseBudgetPerDay"),
        ("CreateAgentFunction", "ALLOWED_VOICE_IDS", "AllowedVoiceIds"),
        ("UpdateAgentFunction", "ALLOWED_VOICE_IDS", "AllowedVoiceIds"),
        ("GetAgentsFunction", "OWNER_READS_PER_MINUTE", "OwnerReadsPerMinute"),
        ("CreateAgentFunction", "OWNER_WRITES_PER_MINUTE", "OwnerWritesPerMinute"),
        ("UpdateAgentFunction", "OWNER_WRITES_PER_MINUTE", "OwnerWritesPerMinute"),
        ("DeleteAgentFunction", "OWNER_WRITES_PER_MINUTE", "OwnerWritesPerMinute"),
        ("ReconcileFunction", "RECONCILER_MAX_REMOVALS", "ReconcilerMaxRemovals"),
        ("ReconcileFunction", "RECONCILER_MAX_REPOINTS", "ReconcilerMaxRepoints"),
        ("TwilioWebhookFunction", "CALL_RECORD_RETENTION_DAYS", "CallRecordRetentionDays"),
        ("GetAgentsFunction", "TWILIO_NUMBER_MONTHLY_CENTS", "TwilioNumberMonthlyCents"),
        ("CreateAgentFunction", "TWILIO_REGULATIONS", "TwilioRegulations"),
        ("GetAgentsFunction", "TWILIO_REGULATIONS", "TwilioRegulations"),
        (None, "SECRETS_MAX_AGE_SECONDS", "SecretsMaxAgeSeconds"),
    ],
)
def test_operating_limits_are_parameters_that_default_to_the_codes_defaults(
    template, function, variable, parameter
):
    from voice_agents.core.settings import Settings

    # The function that reads the setting gets it from its parameter (None: every function does)
    scope = (
        template["Globals"]["Function"] if function is None else template["Resources"][function]["Properties"]
    )
    assert scope["Environment"]["Variables"][variable] == {"Ref": parameter}
    # And an operator who sets nothing gets what the code would use on its own
    field = next(info for info in Settings.declared.values() if info.alias == variable)
    assert template["Parameters"][parameter]["Default"] == field.default


# ---------------------------------------------------------------- the webhooks under a flood


def test_a_web_acl_refuses_a_flood_per_source_on_the_webhook_apis_stage(template):
    resources = template["Resources"]
    acl = resources["WebhookWebAcl"]["Properties"]
    # Regional (an API Gateway stage), allowing by default: only a source over its share is refused.
    assert acl["Scope"] == "REGIONAL"
    assert acl["DefaultAction"] == {"Allow": {}}
    rules = {rule["Name"]: rule for rule in acl["Rules"]}
    per_source = rules["requests-per-source"]
    assert per_source["Priority"] == 0, "the rate rule comes first"
    assert per_source["Statement"]["RateBasedStatement"] == {
        "AggregateKeyType": "IP",
        "EvaluationWindowSec": 60,
        "Limit": {"Ref": "WebhookRequestsPerSourcePerMinute"},
        # Retell sends every call event from the addresses it documents: not held to one source's share
        "ScopeDownStatement": {
            "NotStatement": {
                "Statement": {
                    "IPSetReferenceStatement": {"Arn": {"Fn::GetAtt": ["RetellSourceIpSet", "Arn"]}}
                }
            }
        },
    }
    retell_sources = resources["RetellSourceIpSet"]["Properties"]
    assert retell_sources["Addresses"] == {"Ref": "RetellSourceAddresses"}
    assert template["Parameters"]["RetellSourceAddresses"]["Default"] == "100.20.5.228/32"
    assert per_source["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 429
    assert per_source["VisibilityConfig"]["CloudWatchMetricsEnabled"] is True
    # The web ACL is on the webhook API's stage (the only way into its routes, execute-api or a domain).
    association = resources["WebhookWebAclAssociation"]["Properties"]
    assert association["WebACLArn"] == {"Fn::GetAtt": ["WebhookWebAcl", "Arn"]}
    stage_arn = (
        "arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${WebhookApi}/stages/${WebhookApi.Stage}"
    )
    assert association["ResourceArn"] == {"Fn::Sub": stage_arn}
    # WAF's logs never carry the signatures.
    redacted = resources["WebhookWebAclLogging"]["Properties"]["RedactedFields"]
    assert {"SingleHeader": {"Name": "x-twilio-signature"}} in redacted
    assert {"SingleHeader": {"Name": "x-retell-signature"}} in redacted


def test_the_webhook_routes_have_their_own_throttle_sized_for_provider_traffic(template):
    api = template["Resources"]["WebhookApi"]["Properties"]
    parameters = template["Parameters"]
    assert api["EndpointConfiguration"] == {"Type": "REGIONAL"}
    (settings,) = api["MethodSettings"]
    assert (settings["ResourcePath"], settings["HttpMethod"]) == ("/*", "*")
    assert settings["ThrottlingRateLimit"] == {"Ref": "WebhookThrottleRateLimit"}
    assert settings["ThrottlingBurstLimit"] == {"Ref": "WebhookThrottleBurstLimit"}
    # Execution logs would hold callers' numbers and transcripts.
    assert (settings["LoggingLevel"], settings["DataTraceEnabled"]) == ("OFF", False)
    # Room for real traffic: more than the dashboard's routes get, and one source's share of a minute
    # is below what the route takes in that minute (a single forger cannot exhaust it).
    assert parameters["WebhookThrottleRateLimit"]["Default"] > parameters["ApiThrottleRateLimit"]["Default"]
    assert (
        parameters["WebhookRequestsPerSourcePerMinute"]["Default"]
        < parameters["WebhookThrottleRateLimit"]["Default"] * 60
    )


def test_a_429_on_the_webhooks_raises_an_alarm(template):
    resources = template["Resources"]
    access_log = resources["WebhookApi"]["Properties"]["AccessLogSetting"]
    assert access_log["DestinationArn"] == {"Fn::GetAtt": ["WebhookAccessLogGroup", "Arn"]}
    assert '"status":"$context.status"' in access_log["Format"].replace(" ", "")
    metric_filter = resources["WebhookThrottledMetric"]["Properties"]
    assert metric_filter["LogGroupName"] == {"Ref": "WebhookAccessLogGroup"}
    assert metric_filter["FilterPattern"] == '{ $.status = "429" }'
    (transformation,) = metric_filter["MetricTransformations"]
    alarm = resources["WebhookThrottledAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == (
        transformation["MetricNamespace"],
        transformation["MetricName"],
    )
    assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        "Sum",
        1,
        "GreaterThanOrEqualToThreshold",
    )
