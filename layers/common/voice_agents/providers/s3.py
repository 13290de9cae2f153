"""The stack's recordings bucket (RECORDINGS_BUCKET): the copies of calls' recordings, written by the
reconciler's copy and handed to their owner as short-lived links. Every AWS error becomes an
UpstreamError (provider ``s3``).

boto3 is imported when the bucket is first used, not when this module is: the read routes and the
reconciler build the bucket at every cold start, and boto3 costs about 250 ms of it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from voice_agents.core.errors import UpstreamError
from voice_agents.core.observability import external_call

PROVIDER = "s3"
# boto3's multipart upload reads this much at a time: the copy's memory stays bounded whatever its size.
PART_BYTES = 8 * 1024 * 1024


class RecordingTooLarge(Exception):
    """The recording grew past the size the copy accepts."""


class RecordingBucket:
    def __init__(self, bucket: str, *, client: Any | None = None) -> None:
        self.bucket = bucket
        self._client = client

    def _s3(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            session = boto3.session.Session()
            region = session.region_name
            # Links name the bucket's regional endpoint: botocore would sign them for the global one,
            # which answers a bucket of another region with a redirect for a day after its creation.
            # An endpoint given in the environment (a local S3) wins.
            overridden = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
            regional = f"https://s3.{region}.amazonaws.com" if region and not overridden else None
            self._client = session.client(
                "s3",
                endpoint_url=regional,
                # Signature version 4: links to objects encrypted with a KMS key need it.
                config=Config(
                    signature_version="s3v4",
                    s3={"addressing_style": "virtual"},
                    retries={"max_attempts": 3, "mode": "standard"},
                ),
            )
        return self._client

    def put(self, key: str, chunks: Iterator[bytes], *, content_type: str, max_bytes: int) -> int:
        """Stream ``chunks`` into ``key`` (a multipart upload past PART_BYTES); the bytes written.
        Raises RecordingTooLarge past ``max_bytes`` (nothing is left behind: the upload is aborted)."""
        body = _ChunkReader(chunks, max_bytes)
        from boto3.s3.transfer import TransferConfig

        with external_call(PROVIDER, "put_recording"):
            try:
                self._s3().upload_fileobj(
                    body,
                    self.bucket,
                    key,
                    ExtraArgs={"ContentType": content_type},
                    Config=TransferConfig(multipart_threshold=PART_BYTES, multipart_chunksize=PART_BYTES),
                )
            except Exception as exc:
                # What went wrong while reading the recording is the source's error, not S3's.
                if body.source_error is not None:
                    raise body.source_error from None
                raise _error("put_recording", exc) from exc
        return body.read_bytes

    def link(self, key: str, *, seconds: int) -> str:
        """A GET link to ``key`` valid ``seconds`` (signed here: no request to AWS is made)."""
        try:
            url: str = self._s3().generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=seconds
            )
        except Exception as exc:
            raise _error("link_recording", exc) from exc
        return url


class _ChunkReader:
    """A file-like object over an iterator of byte chunks, as boto3's upload reads it."""

    def __init__(self, chunks: Iterator[bytes], max_bytes: int) -> None:
        self._chunks = chunks
        self._buffer = bytearray()
        self._max_bytes = max_bytes
        self.read_bytes = 0
        self.source_error: Exception | None = None  # raised by the chunks, or the size cap

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            try:
                chunk = next(self._chunks, None)
            except Exception as exc:
                self.source_error = exc
                raise
            if chunk is None:
                break
            self._buffer.extend(chunk)
        end = len(self._buffer) if size < 0 else min(size, len(self._buffer))
        taken = bytes(self._buffer[:end])
        del self._buffer[:end]
        self.read_bytes += len(taken)
        if self.read_bytes > self._max_bytes:
            self.source_error = RecordingTooLarge(f"the recording is over {self._max_bytes} bytes")
            raise self.source_error
        return taken


def _error(operation: str, exc: Exception) -> UpstreamError:
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = exc.response.get("Error", {}).get("Code", "")
        return UpstreamError(PROVIDER, operation, str(code), status=status, retryable=True)
    if isinstance(exc, BotoCoreError):
        return UpstreamError(PROVIDER, operation, type(exc).__name__, retryable=True)
    return UpstreamError(PROVIDER, operation, f"{type(exc).__name__}: {exc}", retryable=True)
