"""Retell LLM tools in the fake Retell: what `general_tools` may hold, and how a custom tool is called.

Validation follows the spec's `Tool` (a oneOf of 13 tool types, each with its own required fields) and,
for `type: "custom"` (`CustomTool`), the field types and ranges its descriptions state: `name` of
a-z, A-Z, 0-9, `_` and `-`, at most 64 characters; `url` required; `parameters` a JSON Schema object
(`type: "object"` and `properties`, every `required` name among the properties); `timeout_ms` from
1,000 to 600,000. Tool names are unique across the general tools and every state's tools. A request
breaking any of it is answered 400, as Retell refuses an LLM it cannot save.

A custom tool is called as Retell's docs describe custom functions: the tool's `method` (POST by
default) to its `url` with its `query_params` and `headers`, a JSON body `{"name", "call", "args"}`
(with `args_at_root`, the arguments alone are the body), signed with `x-retell-signature` like call
events, waiting `timeout_ms` (120,000 by default); "When request fails, it will be retried up to 2
times": without a 2xx answer the fake sends it twice more.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from local.fakes.server import JsonObject, ProviderError

TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
DEFAULT_TOOL_TIMEOUT_MS = 120_000
_MIN_TOOL_TIMEOUT_MS = 1_000
_MAX_TOOL_TIMEOUT_MS = 600_000
TOOL_RETRIES = 2
_TOOL_RETRY_PAUSE_SECONDS = 0.2
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})  # "Only available for POST, PATCH and PUT requests."

# Each tool type of the spec's `Tool` oneOf, and the fields its schema requires beside type and name.
_REQUIRED_BY_TYPE: Mapping[str, tuple[str, ...]] = {
    "end_call": (),
    "transfer_call": ("transfer_destination", "transfer_option"),
    "check_availability_cal": ("cal_api_key", "event_type_id"),
    "book_appointment_cal": ("cal_api_key", "event_type_id"),
    "agent_swap": ("agent_id", "post_call_analysis_setting"),
    "press_digit": (),
    "send_sms": ("sms_content",),
    "custom": ("url",),
    "code": ("code",),
    "extract_dynamic_variable": ("variables", "description"),
    "bridge_transfer": (),
    "cancel_transfer": (),
    "mcp": ("description",),
}
_CUSTOM_STRINGS = ("url", "description", "execution_message_description")
_CUSTOM_BOOLEANS = ("speak_during_execution", "speak_after_execution", "args_at_root", "enable_typing_sound")
_CUSTOM_STRING_MAPS = ("headers", "query_params", "response_variables")
_CUSTOM_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def check_llm_tools(body: Mapping[str, Any]) -> None:
    """400 (ProviderError) unless the request's `general_tools` and `states[*].tools` are valid tools."""
    names: list[str] = []
    general = body.get("general_tools")
    if general is not None:
        names += _check_tool_list(general, "general_tools")
    states = body.get("states")
    if isinstance(states, list):
        for index, state in enumerate(states):
            if isinstance(state, dict) and state.get("tools") is not None:
                names += _check_tool_list(state["tools"], f"states[{index}].tools")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    _require(not duplicates, f"Tool names must be unique: {', '.join(duplicates)}.")


def find_custom_tool(llm: Mapping[str, Any], name: str) -> JsonObject | None:
    """The custom tool `name` among an LLM's general tools and its states' tools."""
    tools = list(llm.get("general_tools") or [])
    for state in llm.get("states") or []:
        tools += list(state.get("tools") or []) if isinstance(state, dict) else []
    for tool in tools:
        if isinstance(tool, dict) and tool.get("type") == "custom" and tool.get("name") == name:
            return dict(tool)
    return None


def tool_request_body(tool: Mapping[str, Any], call: JsonObject, args: JsonObject) -> bytes:
    """What Retell POSTs to a custom tool: `{"name", "call", "args"}`, or the args alone (args_at_root)."""
    payload: JsonObject = (
        args if tool.get("args_at_root") else {"name": tool["name"], "call": call, "args": args}
    )
    return json.dumps(payload, separators=(",", ":")).encode()


def tool_url(tool: Mapping[str, Any]) -> str:
    """The tool's url with its query_params appended."""
    query = tool.get("query_params") or {}
    if not query:
        return str(tool["url"])
    separator = "&" if urllib.parse.urlsplit(tool["url"]).query else "?"
    return f"{tool['url']}{separator}{urllib.parse.urlencode(query)}"


def tool_timeout_seconds(tool: Mapping[str, Any]) -> float:
    return int(tool.get("timeout_ms") or DEFAULT_TOOL_TIMEOUT_MS) / 1000


def send_tool_request(tool: Mapping[str, Any], body: bytes, signature: str) -> JsonObject:
    """One attempt: {"status": int or None (no answer), "body": the answer's text, "error": why none}."""
    method = str(tool.get("method") or "POST")
    headers = {**(tool.get("headers") or {}), "x-retell-signature": signature}
    data = body if method in _BODY_METHODS else None
    if data is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(tool_url(tool), data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=tool_timeout_seconds(tool)) as response:
            return {"status": int(response.status), "body": _text(response.read()), "error": None}
    except urllib.error.HTTPError as error:
        return {"status": int(error.code), "body": _text(error.read()), "error": None}
    except (urllib.error.URLError, OSError) as error:
        reason = error.reason if isinstance(error, urllib.error.URLError) else error
        return {"status": None, "body": "", "error": f"{type(reason).__name__}: {reason}"}


def retry_pause() -> None:
    time.sleep(_TOOL_RETRY_PAUSE_SECONDS)


def succeeded(attempt: Mapping[str, Any]) -> bool:
    status = attempt.get("status")
    return isinstance(status, int) and 200 <= status < 300


def _check_tool_list(tools: Any, where: str) -> list[str]:
    _require(isinstance(tools, list), f"{where} must be an array of tools.")
    return [_check_tool(tool, f"{where}[{index}]") for index, tool in enumerate(tools)]


def _check_tool(tool: Any, where: str) -> str:
    _require(isinstance(tool, dict), f"{where} must be an object.")
    tool_type = tool.get("type")
    _require(
        tool_type in _REQUIRED_BY_TYPE,
        f"{where}.type must be one of {', '.join(sorted(_REQUIRED_BY_TYPE))}.",
    )
    name = tool.get("name")
    _require(
        isinstance(name, str) and TOOL_NAME.fullmatch(name) is not None,
        f"{where}.name must be 1 to 64 of a-z, A-Z, 0-9, '_' and '-'.",
    )
    missing = [field for field in _REQUIRED_BY_TYPE[tool_type] if tool.get(field) is None]
    _require(not missing, f"{where} ({tool_type}) is missing {', '.join(missing)}.")
    if tool_type == "custom":
        _check_custom_tool(tool, where)
    return str(name)


def _check_custom_tool(tool: Mapping[str, Any], where: str) -> None:
    for field in _CUSTOM_STRINGS:
        _require(_optional(tool.get(field), str), f"{where}.{field} must be a string.")
    url = urllib.parse.urlsplit(tool["url"])
    _require(url.scheme in ("http", "https") and bool(url.netloc), f"{where}.url must be an http(s) URL.")
    for field in _CUSTOM_BOOLEANS:
        _require(_optional(tool.get(field), bool), f"{where}.{field} must be a boolean.")
    for field in _CUSTOM_STRING_MAPS:
        value = tool.get(field)
        _require(
            value is None or (isinstance(value, dict) and all(isinstance(v, str) for v in value.values())),
            f"{where}.{field} must map strings to strings.",
        )
    _require(
        tool.get("method") in (None, *_CUSTOM_METHODS), f"{where}.method must be one of {_CUSTOM_METHODS}."
    )
    _require(
        tool.get("execution_message_type") in (None, "prompt", "static_text"),
        f"{where}.execution_message_type must be 'prompt' or 'static_text'.",
    )
    timeout = tool.get("timeout_ms")
    _require(
        timeout is None
        or (
            isinstance(timeout, int)
            and not isinstance(timeout, bool)
            and _MIN_TOOL_TIMEOUT_MS <= timeout <= _MAX_TOOL_TIMEOUT_MS
        ),
        f"{where}.timeout_ms must be an integer from {_MIN_TOOL_TIMEOUT_MS} to {_MAX_TOOL_TIMEOUT_MS}.",
    )
    if tool.get("parameters") is not None:
        _check_parameters(tool["parameters"], f"{where}.parameters")


def _check_parameters(parameters: Any, where: str) -> None:
    """The spec's ToolParameter: a JSON Schema object; "Property must exist in properties"."""
    _require(isinstance(parameters, dict), f"{where} must be a JSON Schema object.")
    _require(parameters.get("type") == "object", f'{where}.type must be "object".')
    properties = parameters.get("properties")
    _require(isinstance(properties, dict), f"{where}.properties must be an object.")
    required = parameters.get("required")
    if required is not None:
        _require(
            isinstance(required, list) and all(isinstance(each, str) for each in required),
            f"{where}.required must be an array of strings.",
        )
        unknown = [each for each in required if each not in properties]
        _require(not unknown, f"{where}.required names properties it does not have: {', '.join(unknown)}.")


def _optional(value: Any, kind: type) -> bool:
    return value is None or isinstance(value, kind)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ProviderError(400, message)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")
