"""Which number a create buys: the request's country and numberType (the deployment's default pair
when left out), refused before anything is counted or bought when this deployment cannot buy it
(core.countries): a 400 naming ``country`` and ``numberType`` and what TWILIO_REGULATIONS lacks."""

from __future__ import annotations

from voice_agents.core.countries import NumberNotOffered, refuse_unoffered
from voice_agents.core.errors import InvalidRequest
from voice_agents.core.settings import Settings
from voice_agents.models.agents import CreateAgentRequest, PhoneNumberOption, PhoneNumberOptions


def with_offered_number(request: CreateAgentRequest, settings: Settings) -> CreateAgentRequest:
    """``request`` with its country and numberType filled in; InvalidRequest when not offered here."""
    country = request.country or settings.phone_number_country
    number_type = request.numberType or settings.phone_number_type
    try:
        refuse_unoffered(settings.number_order(country, number_type), settings.number_options())
    except NumberNotOffered as refusal:
        raise InvalidRequest("country", str(refusal), also=("numberType",)) from None
    return request.model_copy(update={"country": country, "numberType": number_type})


def phone_number_options(settings: Settings) -> PhoneNumberOptions:
    """GET /api/phone-number-options: the pairs a create may ask for, its default first."""
    return PhoneNumberOptions(
        options=[
            PhoneNumberOption(country=each.country, numberType=each.number_type, default=each.default)
            for each in settings.number_options()
        ]
    )
