"""The local API serves the built dashboard at / and its config.json, and nothing outside it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local.api.messages import HttpRequest
from local.api.server import LocalHttpApi
from local.api.tokens import unverified_claims


@pytest.fixture
def api(tmp_path: Path) -> LocalHttpApi:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>Voice agents</title>")
    (dist / "assets" / "index-abc123.js").write_text("console.log('dashboard')")
    (tmp_path / "secret.txt").write_text("outside the dashboard")
    return LocalHttpApi(dashboard=dist)


def get(api: LocalHttpApi, target: str, method: str = "GET"):
    return api.handle(HttpRequest(method, target, [("Host", "127.0.0.1")], b"", "127.0.0.1"))


def header(response, name: str) -> str | None:
    return next((value for key, value in response.headers if key.lower() == name.lower()), None)


def test_root_is_the_dashboards_index_and_assets_are_cached_for_good(api):
    index = get(api, "/")
    asset = get(api, "/assets/index-abc123.js")

    assert index.status == 200 and b"Voice agents" in index.body
    assert header(index, "Content-Type") == "text/html"
    # A rebuild changes index.html under the same name: the browser must ask again.
    assert header(index, "Cache-Control") == "no-cache"
    assert asset.status == 200 and header(asset, "Content-Type") == "text/javascript"
    assert "immutable" in (header(asset, "Cache-Control") or "")


@pytest.mark.parametrize(
    "target",
    ["/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt", "/missing.js", "/assets/"],
)
def test_nothing_outside_the_built_files_is_served(api, target):
    response = get(api, target)

    assert response.status == 404
    assert b"outside" not in response.body


def test_config_signs_the_page_in_as_the_local_user_or_the_owner_asked_for(api):
    default = json.loads(get(api, "/config.json").body)
    other = get(api, "/config.json?user=second-owner")

    assert default["apiUrl"] == "" and default["auth"]["mode"] == "local"
    assert (unverified_claims(default["auth"]["token"]) or {}).get("sub") == "local-user"
    assert (unverified_claims(json.loads(other.body)["auth"]["token"]) or {}).get("sub") == "second-owner"
    assert header(other, "Cache-Control") == "no-store"


def test_configs_token_is_an_access_token_with_the_scopes_the_api_requires(api):
    claims = unverified_claims(json.loads(get(api, "/config.json").body)["auth"]["token"]) or {}

    assert claims["token_use"] == "access"
    assert api.table.scopes == ("voice-agents/agents",)
    assert claims["scope"].split() == list(api.table.scopes)


@pytest.mark.parametrize("user", ["", "a%20b", "%3Cscript%3E", "x" * 129, "%C3%BCn"])
def test_config_refuses_a_user_that_is_not_a_plain_name(api, user):
    assert get(api, f"/config.json?user={user}").status == 400


def test_api_routes_win_over_the_dashboard(api):
    # No token: API Gateway's 401, not a file.
    assert get(api, "/api/agents").status == 401
    assert get(api, "/api/agents", method="DELETE").status == 404


def test_without_a_built_dashboard_root_is_api_gateways_not_found():
    assert get(LocalHttpApi(), "/").status == 404
