"""The owner's own questions about each call (an agent's ``postCallFields``): the rules the API checks
when they are set and the call events read when Retell answers them (``custom_analysis_data``).

Retell asks its post-call model each field (``post_call_analysis_data``) and answers by name, so a
name is also a key of the stored answers: an identifier, never a MongoDB path (no ``.``, no ``$``).
"""

from __future__ import annotations

import re

# Retell's custom analysis item types (specs/retell-openapi.yaml: StringAnalysisData, EnumAnalysisData,
# BooleanAnalysisData, NumberAnalysisData).
FIELD_TYPES = ("string", "enum", "boolean", "number")
MAX_FIELDS = 10
NAME_MAX_LENGTH = 40
NAME_PATTERN = rf"^[a-z][a-z0-9_]{{0,{NAME_MAX_LENGTH - 1}}}$"
NAME = re.compile(NAME_PATTERN)
DESCRIPTION_MAX_LENGTH = 500
MAX_CHOICES = 20
CHOICE_MAX_LENGTH = 100
# Retell's own analysis (its presets and fields of call_analysis): a custom field of the same name
# would be confused with them.
RESERVED_NAMES = frozenset({"call_summary", "call_successful", "user_sentiment", "in_voicemail"})
# What a stored text answer keeps (an answer is a short extraction, not a transcript).
ANSWER_TEXT_MAX_LENGTH = 1_000

# A stored answer: text (string and enum fields), true/false, or a number.
Answer = str | bool | int | float


def answer_text(answer: Answer) -> str:
    """An answer written one way whatever its type: ``true``/``false``, a number without a needless
    fraction (2 and 2.0 are both ``2``), text as it is."""
    if isinstance(answer, bool):
        return "true" if answer else "false"
    if isinstance(answer, float):
        return str(int(answer)) if answer.is_integer() else repr(answer)
    return str(answer)


def answer_term(name: str, answer: Answer) -> str:
    """``name=answer`` (``answer_text``): what a call is found by when the owner asks for the calls
    with a given answer, an equality that one index serves whatever the field."""
    return f"{name}={answer_text(answer)}"
