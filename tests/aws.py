"""moto's Secrets Manager and S3 for the tests: fake credentials, clean caches, a count of secret reads,
and the recordings bucket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from botocore.client import BaseClient
from moto import mock_aws

from voice_agents.core.settings import forget_secret

REGION = "ap-southeast-2"


def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake AWS credentials in os.environ (boto3 reads them there), and no real endpoint or profile."""
    for key in (
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER",
        "AWS_ENDPOINT_URL_S3",
        "AWS_SESSION_TOKEN",
    ):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@contextmanager
def secrets_manager(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A moto Secrets Manager client; fake credentials in os.environ (boto3 reads them there)."""
    fake_credentials(monkeypatch)
    parameters.clear_caches()
    forget_secret()
    try:
        with mock_aws():
            yield boto3.client("secretsmanager", region_name=REGION)
    finally:
        parameters.clear_caches()
        forget_secret()


class SecretReads:
    """Counts GetSecretValue calls, whoever makes them, by watching botocore (the call still runs)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = BaseClient._make_api_call

        def watched(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
            if operation == "GetSecretValue":
                self.count += 1
            return original(client, operation, params)

        monkeypatch.setattr(BaseClient, "_make_api_call", watched)


class Secret:
    """One JSON secret in moto's Secrets Manager, rotated value by value."""

    def __init__(self, client: Any, name: str, values: dict[str, str]) -> None:
        self.client = client
        self.values = dict(values)
        self.arn = str(client.create_secret(Name=name, SecretString=json.dumps(values))["ARN"])

    def rotate(self, **changes: str) -> None:
        self.values.update(changes)
        self.client.put_secret_value(SecretId=self.arn, SecretString=json.dumps(self.values))


RECORDINGS_BUCKET = "voice-agents-recordings-test"


@contextmanager
def recordings_bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto's S3 with the stack's recordings bucket, named by RECORDINGS_BUCKET; its S3 client."""
    fake_credentials(monkeypatch)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=RECORDINGS_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        monkeypatch.setenv("RECORDINGS_BUCKET", RECORDINGS_BUCKET)
        yield s3
