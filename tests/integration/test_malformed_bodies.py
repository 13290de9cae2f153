"""Bodies the API cannot read are refused with a 4xx that says why, before any route runs: never a
500, never a stack trace in the log, nothing bought. Text fields refuse control characters and
bidirectional controls (prompt and greeting may hold newlines and tabs)."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import pytest

from local.invoke import http_event, invoke, json_body
from tests.integration.answers import assert_plain_error

pytestmark = pytest.mark.integration

VALID = {
    "name": "Reception",
    "prompt": "You answer the phone.",
    "description": "Front desk",
    "beginMessage": "Hi",
}


def event_with(
    body: str, *, content_type: str = "application/json", is_base64: bool = False
) -> dict[str, Any]:
    event = http_event("create_agent.json", body=body)
    event["headers"]["content-type"] = content_type
    event["isBase64Encoded"] = is_base64
    event["requestContext"]["requestId"] = "malformed-body-request"
    return event


def assert_refused(env, db, caplog, log_lines, event: dict[str, Any], status: int) -> dict[str, Any]:
    with caplog.at_level(logging.DEBUG):
        response = invoke("create_agent", event)
    body = assert_plain_error(response, event, status)
    assert not [record for record in caplog.records if record.exc_info], "a stack trace was logged"
    assert log_lines.tracebacks() == []
    assert env.retell.call_count("create_llm") == 0 and env.twilio.call_count("search_numbers") == 0
    assert db.agents.count_documents({}) == 0
    return body


# --- not JSON ------------------------------------------------------------------------------------

INVALID_JSON = {
    "truncated": '{"name": ',
    "missing colon": '{"name" "Reception"}',
    "single quotes": "{'name': 'Reception'}",
    "trailing comma": '{"name": "Reception", "prompt": "p",}',
    "form encoded": "name=Reception&prompt=p",
    "two documents": '{"name": "Reception", "prompt": "p"} {}',
    "unterminated string": '{"name": "Reception',
}


@pytest.mark.parametrize("text", INVALID_JSON.values(), ids=INVALID_JSON.keys())
def test_invalid_json_is_a_400_that_points_at_the_body(env, db, caplog, log_lines, text):
    body = assert_refused(env, db, caplog, log_lines, event_with(text), 400)

    assert body["error"] == "validation_error"
    assert body["fields"][0]["field"] == "body"
    assert "the body is not valid JSON at line 1, column " in body["message"]


def test_an_integer_too_long_to_convert_is_a_400(env, db, caplog, log_lines):
    body = assert_refused(env, db, caplog, log_lines, event_with('{"name": ' + "9" * 5000 + "}"), 400)

    assert "not valid JSON" in body["message"]


NOT_JSON_TYPES = [
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "application/xml",
    "text/json",
    "application/json; charset=iso-8859-1",
]


@pytest.mark.parametrize("content_type", NOT_JSON_TYPES)
def test_a_body_that_is_not_sent_as_json_is_a_415(env, db, caplog, log_lines, content_type):
    event = event_with(json.dumps(VALID), content_type=content_type)

    body = assert_refused(env, db, caplog, log_lines, event, 415)

    assert body["error"] == "unsupported_media_type"
    assert "application/json" in body["message"]


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "Application/JSON"])
def test_json_content_types_are_accepted(env, db, content_type):
    response = invoke("create_agent", event_with(json.dumps(VALID), content_type=content_type))

    assert response["statusCode"] == 201, response["body"]


# --- not UTF-8 -----------------------------------------------------------------------------------

NOT_UTF8 = {
    "a lone surrogate in the text": ('{"name": "Rec\udcffeption", "prompt": "p"}', False),
    "a lone surrogate escaped in JSON": ('{"name": "Rec\\ud800eption", "prompt": "p"}', False),
    "base64 of invalid UTF-8": (base64.b64encode(b'{"name": "\xff\xfe", "prompt": "p"}').decode(), True),
    "base64 of Latin-1": (
        base64.b64encode('{"name": "Café", "prompt": "p"}'.encode("latin-1")).decode(),
        True,
    ),
    "not base64 at all": ("this is not base64!", True),
}


@pytest.mark.parametrize(("text", "is_base64"), NOT_UTF8.values(), ids=NOT_UTF8.keys())
def test_a_body_that_is_not_utf8_is_a_400(env, db, caplog, log_lines, text, is_base64):
    body = assert_refused(env, db, caplog, log_lines, event_with(text, is_base64=is_base64), 400)

    assert body["fields"][0]["field"] == "body"
    assert "UTF-8" in body["message"] or "base64" in body["message"]


def test_a_base64_encoded_json_body_is_read(env, db):
    text = base64.b64encode(json.dumps({**VALID, "name": "Café"}).encode()).decode()

    response = invoke("create_agent", event_with(text, is_base64=True))

    assert response["statusCode"] == 201, response["body"]
    assert json_body(response)["name"] == "Café"


# --- nested too deeply ---------------------------------------------------------------------------

DEEP = {
    "arrays 40 deep": '{"name": ' + "[" * 40 + "]" * 40 + ', "prompt": "p"}',
    "objects 40 deep": '{"name": ' + '{"a": ' * 40 + "1" + "}" * 40 + "}",
    "arrays 100000 deep": '{"name": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "objects 100000 deep": '{"a": ' * 100_000 + "1" + "}" * 100_000,
}


@pytest.mark.parametrize("text", DEEP.values(), ids=DEEP.keys())
def test_a_body_nested_too_deeply_is_a_400(env, db, caplog, log_lines, text):
    body = assert_refused(env, db, caplog, log_lines, event_with(text), 400)

    assert "nested deeper than" in body["message"]


# --- characters in text fields -------------------------------------------------------------------

CONTROLS = ["\x00", "\x07", "\x08", "\x1b", "\x7f", "\x9b"]
BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]
LINE_BREAKS = ["\n", "\t", "\r\n"]
ONE_LINE = ("name", "description")
PARAGRAPHS = ("prompt", "beginMessage")
FORBIDDEN = [
    *[(field, character) for field in (*ONE_LINE, *PARAGRAPHS) for character in CONTROLS + BIDI],
    *[(field, character) for field in ONE_LINE for character in LINE_BREAKS],
    *[(field, character) for field in PARAGRAPHS for character in ("\r", "\x0b", "\x0c")],
]


@pytest.mark.parametrize(("field", "character"), FORBIDDEN, ids=ascii)
def test_text_fields_refuse_control_and_bidi_characters(env, db, caplog, log_lines, field, character):
    body_text = json.dumps({**VALID, field: f"Front{character}desk"})

    body = assert_refused(env, db, caplog, log_lines, event_with(body_text), 400)

    assert body["error"] == "validation_error"
    assert body["fields"] == [{"field": field, "message": body["fields"][0]["message"]}]
    assert f"U+{ord(character[0]):04X}" in body["fields"][0]["message"]


def test_prompt_and_greeting_keep_newlines_and_tabs(env, db):
    prompt = "You answer the phone.\nRules:\r\n\t- be brief\n\t- be kind"
    body_text = json.dumps({**VALID, "prompt": prompt, "beginMessage": "Hello.\nHow can I help?"})

    response = invoke("create_agent", event_with(body_text))

    assert response["statusCode"] == 201, response["body"]
    assert json_body(response)["prompt"] == prompt
