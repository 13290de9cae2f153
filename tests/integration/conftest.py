"""Fixtures for integration tests: the local stack once per session, clean state per test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from pymongo import MongoClient

from local.api.server import LocalHttpApi
from local.stack import LocalStack, local_stack
from tests.integration.answers import LogLines, capture_log_lines
from voice_agents import runtime
from voice_agents.core.settings import SECRET_ARN_VARIABLES


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    with local_stack() as started:
        yield started


@pytest.fixture
def env(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalStack]:
    """The handlers' environment pointed at the stack, an empty database and fresh fakes."""
    for key, value in stack.environment().items():
        monkeypatch.setenv(key, value)
    for key in SECRET_ARN_VARIABLES:  # the stack sets the bundle and address its default pair needs
        monkeypatch.delenv(key, raising=False)
    stack.reset()
    client: MongoClient = MongoClient(stack.mongodb_uri)
    client.drop_database(stack.database)
    client.close()
    runtime.reset()
    yield stack
    runtime.reset()


@pytest.fixture
def db(env: LocalStack) -> Iterator:
    client: MongoClient = MongoClient(env.mongodb_uri, tz_aware=True)
    yield client[env.database]
    client.close()


@pytest.fixture
def log_lines() -> Iterator[LogLines]:
    """The structured log lines the functions write during the test."""
    with capture_log_lines() as lines:
        yield lines


@pytest.fixture(scope="session")
def server() -> Iterator[LocalHttpApi]:
    with LocalHttpApi(port=0) as api:
        yield api


@pytest.fixture
def client(env: LocalStack, server: LocalHttpApi, monkeypatch: pytest.MonkeyPatch) -> Iterator[httpx.Client]:
    """An HTTP client of the local API; the handlers give Twilio numbers this API's webhook URL."""
    monkeypatch.setenv("WEBHOOK_BASE_URL", server.base_url)
    runtime.reset()  # settings are cached once read: forget them after changing the environment
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        yield http
