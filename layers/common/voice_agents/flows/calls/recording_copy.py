"""Copying calls' recordings from Retell into the stack's bucket (docs/decision_log.md, "Recordings are
copied into the stack's bucket"): run by the reconciler's scheduled runs, never within the 10 s
Retell gives a call event.

Retell's ``recording_url`` is a storage link that may be signed to expire 24 hours after it is made;
the owner's copy must outlive it, and must never be handed out as Retell's own link. Each recording
the events filed (``data/recordings.py``, ``pending`` and due) is downloaded from its latest link
(no API key: the link is the credential) and streamed into ``{agentId}/{CallSid}{extension}`` of the
bucket, where the bucket's lifecycle removes it after CALL_RECORD_RETENTION_DAYS, as the call's
record goes. A failure is tried again 1, 2, 4... minutes later (at most an hour apart) until 24 hours
after the events named it, then given up (``lost``); a recording over MAX_RECORDING_BYTES is given up
at once. Whatever fails for one recording (a bug included: logged with its traceback) is that
recording's, tried again later; only the database failing stops the copy. A copy made twice (two
runs, or an answer lost) writes the same bytes to the same key.
"""

from __future__ import annotations

import ipaddress
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePosixPath

from voice_agents.core.clock import now
from voice_agents.core.errors import DomainError
from voice_agents.core.observability import logger
from voice_agents.data.agents import AgentStore
from voice_agents.data.recordings import Recording
from voice_agents.providers.retell import download_recording
from voice_agents.providers.s3 import RecordingBucket, RecordingTooLarge

# A one-hour call (Retell's longest by default) as 16-bit mono WAV at 24 kHz is 173 MB.
MAX_RECORDING_BYTES = 256 * 1024 * 1024
# Each read of the download may wait this long (the whole copy takes as long as its size needs).
DOWNLOAD_TIMEOUT_SECONDS = 30.0
RETRY_AFTER = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=1)
BATCH = 20
EXTENSIONS = {
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/wave": ".wav",
    "audio/mpeg": ".mp3",
    "audio/mp3": ".mp3",
    "audio/ogg": ".ogg",
}
MEDIA_TYPES = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg"}
UNKNOWN_MEDIA = "application/octet-stream"


@dataclass
class CopyReport:
    copied: int = 0
    retried: int = 0
    lost: int = 0


def copy_due_recordings(
    store: AgentStore, bucket: RecordingBucket, *, has_time: Callable[[], bool]
) -> CopyReport:
    """Copy the recordings that are due, oldest first, while ``has_time()``."""
    report = CopyReport()
    while has_time():
        due = store.recordings.due(now(), limit=BATCH)
        for recording in due:
            if not has_time():
                break
            logger.append_keys(call_sid=recording.call_sid)
            try:
                _copy(store, bucket, recording, report, now())
            finally:
                logger.remove_keys(["call_sid"])
        if len(due) < BATCH:
            break
    return report


def recording_key(recording: Recording, media_type: str) -> str:
    """Where a call's copy lives: under its agent, named by its CallSid."""
    extension = next((ext for ext, known in MEDIA_TYPES.items() if known == media_type), "")
    return f"{recording.agent_id or 'unknown-agent'}/{recording.call_sid}{extension}"


def _copy(
    store: AgentStore, bucket: RecordingBucket, recording: Recording, report: CopyReport, moment: datetime
) -> None:
    url = recording.text("sourceUrl")
    if url is None or not fetchable(url):
        _give_up(store, recording, report, "the recording's link is not one we fetch (https only)")
        return
    try:
        with download_recording(url, timeout_seconds=DOWNLOAD_TIMEOUT_SECONDS) as download:
            if download.length is not None and download.length > MAX_RECORDING_BYTES:
                raise RecordingTooLarge(f"the recording is {download.length} bytes")
            media_type = _media_type(download.content_type, url)
            key = recording_key(recording, media_type)
            size = bucket.put(key, download.chunks, content_type=media_type, max_bytes=MAX_RECORDING_BYTES)
    except RecordingTooLarge as exc:
        _give_up(store, recording, report, f"too large to keep: {exc}")
        return
    except Exception as exc:  # one recording's failure, even a bug, never holds up the others
        if not isinstance(exc, DomainError):
            logger.exception("recording copy failed unexpectedly")
        give_up_at = recording.give_up_at
        if give_up_at is None or moment >= give_up_at:
            _give_up(store, recording, report, f"Retell's link failed for a day: {exc}")
            return
        delay = min(RETRY_AFTER * 2 ** min(recording.attempts, 16), RETRY_CAP)
        logger.info(
            "recording not copied yet; tried again later",
            error=str(exc)[:200],
            retry_in_seconds=int(delay.total_seconds()),
        )
        store.recordings.retry_later(recording.call_sid, error=str(exc), due=moment + delay)
        report.retried += 1
        return
    store.recordings.copied(recording.call_sid, key=key, content_type=media_type, size=size, moment=moment)
    logger.info("recording copied", bytes=size)
    report.copied += 1


def fetchable(url: str) -> bool:
    """An https link; or http to this machine, where the local stack's fake Retell serves them."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    try:
        loopback = parts.hostname is not None and ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        loopback = False
    return parts.scheme == "http" and loopback


def _media_type(announced: str | None, url: str) -> str:
    """The recording's media type: as announced when it is audio we know, else by the link's extension."""
    media_type = (announced or "").split(";", 1)[0].strip().lower()
    if media_type in EXTENSIONS:
        return MEDIA_TYPES[EXTENSIONS[media_type]]
    suffix = PurePosixPath(urllib.parse.urlsplit(url).path).suffix.lower()
    return MEDIA_TYPES.get(suffix, UNKNOWN_MEDIA)


def _give_up(store: AgentStore, recording: Recording, report: CopyReport, reason: str) -> None:
    logger.warning("recording given up; the call shows it unavailable", reason=reason[:200])
    store.recordings.give_up(recording.call_sid, error=reason)
    report.lost += 1
