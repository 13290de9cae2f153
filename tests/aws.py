"""moto's Secrets Manager for the tests: fake credentials, clean caches, and a count of secret reads."""

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


@contextmanager
def secrets_manager(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A moto Secrets Manager client; fake credentials in os.environ (boto3 reads them there)."""
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
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
