"""The TwiML the call path answers with: one builder per thing that can happen to a caller. Built
with the Twilio SDK's TwiML writer (``twilio.twiml``, not ``twilio.rest``: it imports in milliseconds),
so every attribute is escaped."""

from __future__ import annotations

from twilio.twiml.voice_response import VoiceResponse

SORRY = "Sorry, this agent cannot take your call right now. Please try again later."
VOICEMAIL_GREETING = "Sorry, nobody can take your call right now. Please leave a message after the tone."
NO_MESSAGE = "We did not get a message. Goodbye."
THANKS = "Thank you. Your message has been recorded. Goodbye."
CONNECTING = "Please hold while I put you through."
# A voicemail long enough for a message, short enough that its audio fits one API answer (6 MB).
VOICEMAIL_MAX_SECONDS = 120
# How long a forwarded or transferred call rings before it counts as not answered.
FORWARD_RING_SECONDS = 25


def dial_agent(sip_uri: str, action: str) -> str:
    """Hand the caller to the Retell agent over SIP; ``action`` learns how the leg ended."""
    response = VoiceResponse()
    response.dial(action=action, method="POST").sip(sip_uri)
    return str(response)


def dial_number(
    number: str, *, caller_id: str | None, action: str, ring_seconds: int, say: str | None = None
) -> str:
    """Ring ``number`` for ``ring_seconds`` showing ``caller_id`` (the agent's number: Twilio lets a
    call show only a number of the account's, or the caller's own); ``action`` learns the outcome."""
    response = VoiceResponse()
    if say:
        response.say(say)
    dial = response.dial(action=action, method="POST", timeout=ring_seconds, caller_id=caller_id)
    dial.number(number)
    return str(response)


def voicemail(*, action: str, recording_callback: str) -> str:
    """Ask for a message and record it; Twilio posts the recording to ``recording_callback`` and,
    when the caller hangs up or stops talking, requests ``action``."""
    response = VoiceResponse()
    response.say(VOICEMAIL_GREETING)
    response.record(
        action=action,
        method="POST",
        max_length=VOICEMAIL_MAX_SECONDS,
        play_beep=True,
        recording_status_callback=recording_callback,
        recording_status_callback_method="POST",
        recording_status_callback_event="completed",
    )
    response.say(NO_MESSAGE)
    return str(response)


def message(text: str = SORRY) -> str:
    """Say ``text`` and hang up: the caller is told, not left in silence."""
    response = VoiceResponse()
    response.say(text)
    response.hangup()
    return str(response)


def hang_up() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)


APOLOGY = message()
