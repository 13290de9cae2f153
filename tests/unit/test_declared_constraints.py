"""Every constraint the API enforces is the one openapi/openapi.json declares: a value the document's
pattern allows is accepted, one it refuses is refused (what Schemathesis relies on when it fuzzes)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from pydantic import ValidationError

from local.invoke import ROOT
from voice_agents.core.errors import InvalidRequest
from voice_agents.flows.agents import reads as agents
from voice_agents.models.agents import CreateAgentRequest

DOCUMENT = json.loads((ROOT / "openapi" / "openapi.json").read_text())
LIST = DOCUMENT["paths"]["/api/agents"]["get"]
CREATE = DOCUMENT["paths"]["/api/agents"]["post"]
REQUEST = DOCUMENT["components"]["schemas"]["CreateAgentRequest"]["properties"]


def parameter(operation: dict[str, Any], name: str) -> dict[str, Any]:
    schema: dict[str, Any] = next(p for p in operation["parameters"] if p["name"] == name)["schema"]
    return schema


def declared(schema: dict[str, Any], value: str) -> bool:
    """What a JSON Schema validator says of ``value`` (pattern is a search, as JSON Schema has it)."""
    if "anyOf" in schema:  # an optional field: its string branch
        schema = next(option for option in schema["anyOf"] if option.get("type") == "string")
    within = schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", len(value))
    return within and re.search(schema["pattern"], value) is not None


def cursor_accepted(cursor: str) -> bool:
    try:
        agents.decode_cursor(cursor)
    except InvalidRequest:
        return False
    return True


@pytest.mark.parametrize(
    "cursor",
    ["6740a1b2c3d4e5f6a7b8c9d0", "6740A1B2C3D4E5F6A7B8C9D0", "", "6740a1b2c3d4e5f6a7b8c9d", "g" * 24,
     "Njc0MGExYjJjM2Q0ZTVmNmE3YjhjOWQw", "6740a1b2c3d4e5f6a7b8c9d0 ", "0" * 25],
)  # fmt: skip
def test_the_cursor_format_is_declared_exactly(cursor: str) -> None:
    assert cursor_accepted(cursor) == declared(parameter(LIST, "cursor"), cursor)


def test_a_next_cursor_matches_the_declared_format() -> None:
    assert declared(parameter(LIST, "cursor"), agents._encode_cursor("6740a1b2c3d4e5f6a7b8c9d0"))


@pytest.mark.parametrize(
    "key",
    ["create-northstar-0001", "a", "k" * 255, "k" * 256, "tab\tkey", "é-key", "bell\x07", "new\nline",
     "~!@#$%^&*()", "del\x7f", "nbsp\xa0key"],
)  # fmt: skip
def test_the_idempotency_key_constraint_is_declared_exactly(key: str) -> None:
    from voice_agents.http.requests import IDEMPOTENCY_KEY_MAX_LENGTH, IDEMPOTENCY_KEY_PATTERN

    accepted = 1 <= len(key) <= IDEMPOTENCY_KEY_MAX_LENGTH and re.fullmatch(IDEMPOTENCY_KEY_PATTERN, key)
    assert bool(accepted) == declared(parameter(CREATE, "Idempotency-Key"), key)


TEXTS = ["Reception", "Réception 24/7", "a\tb", "line\nbreak", "crlf\r\nok", "lone\rcr", "nul\x00",
         "c1\x85", "bidi\u202eevil", "isolate\u2066x", "emoji 😀", "\u3000wide space",
         "  padded  "]  # fmt: skip


def accepted(**fields: str) -> bool:
    try:
        CreateAgentRequest.model_validate({"name": "n", "prompt": "p", **fields})
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("field", ["name", "description", "prompt", "beginMessage"])
def test_text_field_rules_are_declared_as_patterns(field: str, text: str) -> None:
    assert accepted(**{field: text}) == declared(REQUEST[field], text), (field, text)


LIMITS = {"name": 100, "description": 1000, "prompt": 20_000, "beginMessage": 1000}


@pytest.mark.parametrize("field", sorted(LIMITS))
def test_a_length_limit_counts_the_text_as_sent(field: str) -> None:
    # At the limit with whitespace around it, and past it only because of that whitespace
    at_limit = " " + "x" * (LIMITS[field] - 2) + " "
    past_limit = " " + "x" * (LIMITS[field] - 1) + " "
    assert accepted(**{field: at_limit}) and declared(REQUEST[field], at_limit)
    assert not accepted(**{field: past_limit})
    assert not declared(REQUEST[field], past_limit)


@pytest.mark.parametrize("blank", [" ", "\u3000", "\t"])
def test_a_required_text_of_whitespace_only_is_refused_as_declared(blank: str) -> None:
    for field in ("name", "prompt"):
        assert not accepted(**{field: blank})
        assert not declared(REQUEST[field], blank), field
