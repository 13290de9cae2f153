"""The voices an agent may be given (ALLOWED_VOICE_IDS), checked by create and update before anything
else: a voice outside the list is a 400 naming ``voiceId`` and the voices allowed."""

from __future__ import annotations

from voice_agents.core.errors import InvalidRequest
from voice_agents.core.settings import Settings


def refuse_unlisted_voice(voice_id: str | None, settings: Settings) -> None:
    """InvalidRequest when ``voice_id`` (None: not being set) is outside a non-empty allow-list."""
    allowed = settings.voice_allow_list
    if voice_id is None or not allowed or voice_id in allowed:
        return
    offered = ", ".join(allowed)
    raise InvalidRequest("voiceId", f"{voice_id} is not a voice offered here; use one of {offered}")
