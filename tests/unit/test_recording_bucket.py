"""The recordings bucket's adapter against moto's S3: a recording streams in (in parts past 8 MB), one
over the size cap leaves nothing behind, an error reading the recording stays the source's, and a
link is signed for the regional endpoint with the time asked."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from tests.aws import RECORDINGS_BUCKET, recordings_bucket
from voice_agents.core.errors import UpstreamError, UpstreamNotFound
from voice_agents.providers.s3 import PART_BYTES, RecordingBucket, RecordingTooLarge


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with recordings_bucket(monkeypatch) as client:
        yield client


def chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, total, size):
        yield bytes((start // size) % 251 for _ in range(min(size, total - start)))


def test_a_recording_past_a_part_streams_in_as_a_multipart_upload(s3):
    total = 2 * PART_BYTES + 12_345

    written = RecordingBucket(RECORDINGS_BUCKET).put(
        "agent/CA1.wav", chunks(total), content_type="audio/wav", max_bytes=3 * PART_BYTES
    )

    assert written == total
    stored = s3.get_object(Bucket=RECORDINGS_BUCKET, Key="agent/CA1.wav")
    assert stored["Body"].read() == b"".join(chunks(total))
    assert stored["ContentType"] == "audio/wav"


@pytest.mark.parametrize("total", [5_000, 2 * PART_BYTES])
def test_a_recording_over_the_cap_is_refused_and_leaves_nothing(s3, total):
    with pytest.raises(RecordingTooLarge):
        RecordingBucket(RECORDINGS_BUCKET).put(
            "agent/CA2.wav", chunks(total), content_type="audio/wav", max_bytes=total - 1
        )

    assert s3.list_objects_v2(Bucket=RECORDINGS_BUCKET)["KeyCount"] == 0
    assert s3.list_multipart_uploads(Bucket=RECORDINGS_BUCKET).get("Uploads", []) == []


def test_an_error_reading_the_recording_is_the_sources_not_s3s(s3):
    def failing() -> Iterator[bytes]:
        yield b"RIFF"
        raise UpstreamNotFound("retell", "download_recording", "gone")

    with pytest.raises(UpstreamNotFound):
        RecordingBucket(RECORDINGS_BUCKET).put(
            "a/CA3.wav", failing(), content_type="audio/wav", max_bytes=10**6
        )


def test_a_missing_bucket_is_an_s3_error(s3):
    with pytest.raises(UpstreamError) as failed:
        RecordingBucket("no-such-bucket-here").put(
            "a/b", iter([b"x"]), content_type="audio/wav", max_bytes=10
        )

    assert failed.value.provider == "s3"


def test_a_link_names_the_regional_endpoint_and_expires_when_asked(s3):
    url = urllib.parse.urlsplit(RecordingBucket(RECORDINGS_BUCKET).link("agent/CA1.wav", seconds=900))

    assert url.scheme == "https"
    assert url.netloc == f"{RECORDINGS_BUCKET}.s3.ap-southeast-2.amazonaws.com"
    assert url.path == "/agent/CA1.wav"
    assert dict(urllib.parse.parse_qsl(url.query))["X-Amz-Expires"] == "900"
