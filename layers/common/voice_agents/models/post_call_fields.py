"""The API's shape of the owner's own questions about each call (an agent's ``postCallFields``; the
rules are ``core.post_call_fields``'): what Retell's post-call analysis extracts from every call, and
the call history then shows as ``postCallAnswers``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from voice_agents.core.observability import logger
from voice_agents.core.post_call_fields import (
    CHOICE_MAX_LENGTH,
    DESCRIPTION_MAX_LENGTH,
    FIELD_TYPES,
    MAX_CHOICES,
    MAX_FIELDS,
    NAME,
    NAME_MAX_LENGTH,
    NAME_PATTERN,
    RESERVED_NAMES,
)
from voice_agents.models.text import REQUIRED_LINE_PATTERN, Line, declared_pattern, sent_at_most


def _identifier(name: str) -> str:
    if not NAME.fullmatch(name):
        raise PydanticCustomError(
            "field_name",
            "must be a lower-case identifier: a letter, then letters, digits or underscores "
            "(at most {limit} characters), e.g. appointment_booked",
            {"limit": NAME_MAX_LENGTH},
        )
    if name in RESERVED_NAMES:
        raise PydanticCustomError("field_name", "is one of Retell's own analysis fields: choose another name")
    return name


FieldName = Annotated[str, AfterValidator(_identifier), Field(**declared_pattern(NAME_PATTERN))]
FieldDescription = Annotated[
    Line,
    Field(min_length=1, max_length=DESCRIPTION_MAX_LENGTH, **declared_pattern(REQUIRED_LINE_PATTERN)),
    sent_at_most(DESCRIPTION_MAX_LENGTH),
]
Choice = Annotated[
    Line,
    Field(min_length=1, max_length=CHOICE_MAX_LENGTH, **declared_pattern(REQUIRED_LINE_PATTERN)),
    sent_at_most(CHOICE_MAX_LENGTH),
]
FieldType = Literal[FIELD_TYPES]  # type: ignore[valid-type]


class PostCallField(BaseModel):
    """One question Retell answers about every call after it ends: ``name`` (the answer's key in a
    call's ``postCallAnswers``), ``type`` (``string``: text; ``enum``: one of ``choices``; ``boolean``;
    ``number``) and ``description`` (what to extract, as the model reads it). ``choices`` is required
    for an enum and refused for the other types."""

    # One schema for requests and answers (as Fallback's): choices is optional in both.
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: FieldName
    type: FieldType
    description: FieldDescription
    choices: Annotated[list[Choice], Field(min_length=1, max_length=MAX_CHOICES)] | None = None

    @model_validator(mode="after")
    def _choices_for_enum_only(self) -> PostCallField:
        if self.type == "enum" and self.choices is None:
            raise PydanticCustomError("choices_required", "an enum field needs its choices")
        if self.type != "enum" and self.choices is not None:
            raise PydanticCustomError("choices_refused", "only an enum field has choices")
        if self.choices is not None and len(set(self.choices)) != len(self.choices):
            raise PydanticCustomError("choices_repeated", "a choice is listed twice")
        return self


def _unique_names(fields: list[PostCallField]) -> list[PostCallField]:
    names = [field.name for field in fields]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise PydanticCustomError(
            "field_names_repeated",
            "each field needs a name of its own ({names} repeated)",
            {"names": ", ".join(repeated)},
        )
    return fields


PostCallFields = Annotated[list[PostCallField], Field(max_length=MAX_FIELDS), AfterValidator(_unique_names)]


def read_post_call_fields(stored: Any) -> list[PostCallField]:
    """The record's fields, read defensively: one that no longer validates is left out (logged), so
    a record of an older shape still shows."""
    fields = []
    for each in stored if isinstance(stored, list) else []:
        try:
            fields.append(PostCallField.model_validate(each))
        except ValueError:
            logger.warning("stored post-call field unreadable; left out")
    return fields
