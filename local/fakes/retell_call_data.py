"""What the fake Retell's ended calls carry, and the agents' post-call analysis items it takes.

Shapes from the spec (specs/retell-openapi.yaml): `Utterance` (role, content, words with start and end
seconds), `V2CallBase.call_cost` (`product_costs` of `ProductCost`, `total_duration_seconds`,
`total_duration_unit_price`, `combined_cost`, amounts in cents) and `PostCallAnalysisData` (a oneOf of
`StringAnalysisData`, `EnumAnalysisData`, `BooleanAnalysisData`, `NumberAnalysisData` and
`CallPresetAnalysisData`). An agent whose `post_call_analysis_data` breaks that schema is refused with
a 400, as Retell refuses an agent it cannot save.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from local.fakes.server import JsonObject, ProviderError

# A short exchange, when a test gives no conversation of its own.
DEFAULT_CONVERSATION: tuple[tuple[str, str], ...] = (
    ("agent", "Thanks for calling, how can I help?"),
    ("user", "Hi, what are your opening hours today?"),
    ("agent", "We are open from nine to five today."),
    ("user", "Great, thank you. Bye."),
)
# How the plain `transcript` names each role.
ROLE_NAMES = {"agent": "Agent", "user": "User"}
# Per-second prices in cents (Retell quotes them per minute: 7 and 4.5 US cents): fractions of cents.
PRODUCT_PRICES = (("elevenlabs_tts", 7 / 60), ("gpt_4_1", 4.5 / 60))
ANALYSIS_TYPES = ("string", "enum", "boolean", "number")
PRESET_TYPE = "system-presets"
PRESET_NAMES = ("call_summary", "call_successful", "user_sentiment")
_SAMPLE_ANSWERS: dict[str, Any] = {"string": "a short answer", "boolean": True, "number": 2}


@dataclass(frozen=True)
class Script:
    """How `end_call` plays a call out."""

    disconnection_reason: str = "user_hangup"
    connected: bool = True
    conversation: tuple[tuple[str, str], ...] = DEFAULT_CONVERSATION
    answers: JsonObject | None = None  # custom_analysis_data; None: a sample answer to each item


def is_conversation(value: Any) -> bool:
    """`[[role, text], ...]` with roles agent and user."""
    return isinstance(value, list) and all(
        isinstance(turn, list | tuple)
        and len(turn) == 2
        and turn[0] in ROLE_NAMES
        and isinstance(turn[1], str)
        for turn in value
    )


def utterances(conversation: Sequence[tuple[str, str]], seconds: float) -> list[JsonObject]:
    """`transcript_object`: the conversation's words timed evenly over the call's `seconds`."""
    step = seconds / max(sum(len(text.split()) for _, text in conversation), 1)
    clock, spoken = 0.0, []
    for role, text in conversation:
        words = []
        for word in text.split():
            words.append({"word": word, "start": round(clock, 3), "end": round(clock + step, 3)})
            clock += step
        spoken.append({"role": role, "content": text, "words": words})
    return spoken


def transcript(spoken: Sequence[JsonObject]) -> str:
    """`transcript`: one line per utterance, as Retell writes it ("Agent: ...")."""
    return "".join(f"{ROLE_NAMES[each['role']]}: {each['content']}\n" for each in spoken)


def call_cost(duration_ms: int) -> JsonObject:
    """`call_cost` of a call of `duration_ms`, billed per started second."""
    seconds = max(math.ceil(duration_ms / 1000), 1)
    costs = [round(price * seconds, 6) for _, price in PRODUCT_PRICES]
    return {
        "product_costs": [
            {"product": product, "unit_price": round(price, 7), "cost": cost}
            for (product, price), cost in zip(PRODUCT_PRICES, costs, strict=True)
        ],
        "total_duration_seconds": seconds,
        "total_duration_unit_price": round(sum(price for _, price in PRODUCT_PRICES), 7),
        "combined_cost": round(sum(costs), 6),
    }


def sample_answers(items: Sequence[JsonObject]) -> JsonObject:
    """`custom_analysis_data`: an answer of the right type to each custom item (presets are Retell's)."""
    return {
        item["name"]: item["choices"][0] if item["type"] == "enum" else _SAMPLE_ANSWERS[item["type"]]
        for item in items
        if item.get("type") in ANALYSIS_TYPES
    }


def check_post_call_analysis_data(body: JsonObject) -> None:
    """400 (ProviderError) unless `post_call_analysis_data` is absent, null or a list of the spec's
    `PostCallAnalysisData` items."""
    items = body.get("post_call_analysis_data")
    if items is None:
        return
    _require(isinstance(items, list), "post_call_analysis_data must be an array or null.")
    for index, item in enumerate(items):
        where = f"post_call_analysis_data[{index}]"
        _require(isinstance(item, dict), f"{where} must be an object.")
        kind, name = item.get("type"), item.get("name")
        if kind == PRESET_TYPE:
            _require(name in PRESET_NAMES, f"{where}.name must be one of {', '.join(PRESET_NAMES)}.")
            description = item.get("description")
            _require(
                description is None or (isinstance(description, str) and bool(description)),
                f"{where}.description must be a non-empty string.",
            )
            continue
        _require(kind in ANALYSIS_TYPES, f"{where}.type must be one of {', '.join(ANALYSIS_TYPES)}.")
        _require(isinstance(name, str) and bool(name), f"{where}.name must be a non-empty string.")
        _require(isinstance(item.get("description"), str), f"{where}.description must be a string.")
        choices = item.get("choices")
        if kind == "enum":
            _require(
                isinstance(choices, list) and bool(choices) and all(isinstance(c, str) for c in choices),
                f"{where}.choices must be a non-empty array of strings.",
            )
        required = item.get("required")
        _require(required is None or isinstance(required, bool), f"{where}.required must be a boolean.")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ProviderError(400, message)
