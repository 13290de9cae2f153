"""The built dashboard (web/dist), served at / on the local API's origin, and /config.json, its
settings: this origin's API and an unsigned token (LOCAL ONLY), so the page signs in as it would with
Cognito's."""

from __future__ import annotations

import mimetypes
import re
import urllib.parse
from collections.abc import Iterable
from pathlib import Path

from local.api.messages import HttpResponse
from local.api.responses import NOT_FOUND, json_response
from local.api.tokens import LOCAL_USER, local_token
from local.template import ROOT

DASHBOARD_DIR = ROOT / "web" / "dist"
# A sub the local token endpoint accepts: what Cognito subs and test names look like, nothing to escape.
_LOCAL_SUB = re.compile(r"^[A-Za-z0-9._@-]{1,128}$")


def dashboard_file(dashboard: Path, target: str, scopes: Iterable[str]) -> HttpResponse:
    """The file of ``dashboard`` (resolved) that ``target`` names, or /config.json with a token
    carrying ``scopes``; 404 outside it."""
    path, _, query = target.partition("?")
    if path == "/config.json":
        return _dashboard_config(urllib.parse.parse_qs(query, keep_blank_values=True), scopes)
    relative = urllib.parse.unquote(path).lstrip("/") or "index.html"
    file = (dashboard / relative).resolve()
    if not file.is_relative_to(dashboard) or not file.is_file():
        return json_response(404, NOT_FOUND)
    content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    # Vite names assets by their content hash; index.html must be fetched again after a rebuild.
    cache = "public, max-age=31536000, immutable" if "/assets/" in path else "no-cache"
    return HttpResponse(200, [("Content-Type", content_type), ("Cache-Control", cache)], file.read_bytes())


def _dashboard_config(query: dict[str, list[str]], scopes: Iterable[str]) -> HttpResponse:
    """The dashboard's settings: this origin's API and an unsigned access token (LOCAL ONLY) with the
    scopes the API requires, as the deployed dashboard's sign-in grants them."""
    sub = (query.get("user") or [LOCAL_USER])[0]
    if not _LOCAL_SUB.match(sub):
        return json_response(400, {"message": "user: 1-128 letters, digits, '.', '_', '@' or '-'"})
    token = local_token(sub, scope=" ".join(scopes))
    config = {"apiUrl": "", "auth": {"mode": "local", "token": token, "user": sub}}
    return json_response(200, config, ("Cache-Control", "no-store"))
