"""The API's rules for text a person writes (a name, a description, a prompt): no control or
bidirectional-override characters, lengths counted as sent, and the same rules as patterns for the
OpenAPI document (the validators give the messages; tests/unit/test_declared_constraints.py checks that
code and document agree)."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, StringConstraints
from pydantic_core import PydanticCustomError

# Bidirectional embedding, override and isolate characters: they make a name display in another
# order than it is stored (a "Trojan Source" name in the dashboard, the Retell agent name, logs).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _refuse_invisible(allowed: frozenset[str]) -> AfterValidator:
    """Refuse control characters (except ``allowed``) and bidirectional controls in a text field."""

    def check(value: str) -> str:
        for position, character in enumerate(value):
            crlf = character == "\r" and value[position + 1 : position + 2] == "\n"
            if character in allowed or (crlf and "\n" in allowed):
                continue
            if character in BIDI_CONTROLS or unicodedata.category(character) == "Cc":
                raise PydanticCustomError(
                    "forbidden_character",
                    "must not contain control or bidirectional-override characters "
                    "({code} at position {position})",
                    {"code": f"U+{ord(character):04X}", "position": position},
                )
        return value

    return AfterValidator(check)


Text = Annotated[str, StringConstraints(strip_whitespace=True)]
# One line of text (a name, a description): no control characters at all.
Line = Annotated[Text, _refuse_invisible(frozenset())]
# Text a model reads (a prompt, a greeting): newlines (LF or CRLF) and tabs are fine.
Paragraphs = Annotated[Text, _refuse_invisible(frozenset("\n\t"))]


# The same rules as patterns, for the OpenAPI document only (the validators above give the messages):
# no control or bidirectional characters; text a model reads may hold tabs, LF and CRLF; a required
# field needs one character that is not whitespace. Whitespace around the text (control characters
# among it too) is stripped before any rule applies.
_LINE_FORBIDDEN = r"\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069"
_PARAGRAPHS_FORBIDDEN = r"\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069"
_PARAGRAPH_CHARACTER = rf"(?:[^{_PARAGRAPHS_FORBIDDEN}]|\r\n)"
LINE_PATTERN = rf"^\s*[^{_LINE_FORBIDDEN}]*\s*$"
REQUIRED_LINE_PATTERN = rf"^\s*[^{_LINE_FORBIDDEN}]*[^\s{_LINE_FORBIDDEN}][^{_LINE_FORBIDDEN}]*\s*$"
PARAGRAPHS_PATTERN = rf"^\s*{_PARAGRAPH_CHARACTER}*\s*$"
REQUIRED_PARAGRAPHS_PATTERN = (
    rf"^\s*{_PARAGRAPH_CHARACTER}*[^\s{_PARAGRAPHS_FORBIDDEN}]{_PARAGRAPH_CHARACTER}*\s*$"
)


def declared_pattern(pattern: str) -> dict[str, Any]:
    return {"json_schema_extra": {"pattern": pattern}}


def sent_at_most(limit: int) -> BeforeValidator:
    """A length limit on the text as sent, whitespace around it included, as the document declares it
    (max_length alone counts the stripped text)."""

    def check(value: Any) -> Any:
        if isinstance(value, str) and len(value) > limit:
            raise PydanticCustomError(
                "string_too_long", "String should have at most {max_length} characters", {"max_length": limit}
            )
        return value

    return BeforeValidator(check)
