"""The API's shapes of an agent's routing settings: where its calls go besides the agent
(``core.routing`` holds the rules). Numbers are parsed and written back as E.164; business hours are
read by ``core.hours``, whose errors name the JSON path to fix."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from voice_agents.core.hours import AFTER_HOURS, DAYS, BusinessHours, HoursError
from voice_agents.core.phones import MAX_LENGTH, normalize_e164
from voice_agents.core.routing import ANSWER_MODES, FALLBACK_ACTIONS, RING_SECONDS_RANGE


def _e164(value: Any) -> Any:
    """A phone number as people write it ("+61 412 345 678") becomes E.164; anything else is refused
    with why."""
    if not isinstance(value, str):
        return value
    try:
        return normalize_e164(value)
    except ValueError as exc:
        raise PydanticCustomError("phone_number", str(exc)) from None


# One schema in requests and answers: a request may write the number as people do; answers give E.164.
PhoneNumber = Annotated[
    str,
    BeforeValidator(_e164),
    Field(
        max_length=MAX_LENGTH,
        examples=["+61412345678"],
        description="A phone number in international format: sent as people write it "
        "(+61 412 345 678), answered in E.164 (+61412345678).",
    ),
]
AnswerMode = Literal[ANSWER_MODES]  # type: ignore[valid-type]
RingSeconds = Annotated[int, Field(ge=RING_SECONDS_RANGE[0], le=RING_SECONDS_RANGE[1])]
_TIME = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
Day = Literal[DAYS]  # type: ignore[valid-type]
Interval = Annotated[list[Annotated[str, Field(pattern=_TIME)]], Field(min_length=2, max_length=2)]


class Fallback(BaseModel):
    """What happens when the agent cannot take a call: ``forward`` to ``number`` (transferNumber when
    left out), ``voicemail``, or a spoken ``message`` asking to call back."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Literal[FALLBACK_ACTIONS]  # type: ignore[valid-type]
    number: PhoneNumber | None = None


class BusinessHoursSetting(BaseModel):
    """Opening hours in the business's IANA time zone (daylight saving included): per day a list of
    ["HH:MM", "HH:MM"] intervals (a day left out is closed; "24:00" ends a day), dates closed all day,
    and what a call gets while closed: the ``agent`` (told the business is closed), ``forward`` (to
    transferNumber, or fallback.number), or ``voicemail``. Answered normalised: every day listed,
    intervals and dates in order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = Field(max_length=64, examples=["Australia/Sydney"])
    weekly: dict[Day, Annotated[list[Interval], Field(max_length=6)]]
    closedDates: Annotated[list[Annotated[str, Field(pattern=_DATE)]], Field(max_length=366)] = []
    afterHours: Literal[AFTER_HOURS]  # type: ignore[valid-type]

    @model_validator(mode="before")
    @classmethod
    def _readable(cls, raw: Any) -> Any:
        """Read by core.hours, whose errors name the JSON path; passed on normalised."""
        if not isinstance(raw, dict):
            return raw
        try:
            return BusinessHours.parse(raw).to_json()
        except HoursError as exc:
            raise PydanticCustomError(
                "business_hours", "{path}: {message}", {"path": exc.field_path, "message": exc.message}
            ) from None
