"""A database that cannot be reached, however: a StoreError for the domain, 503 for the API.

pymongo resolves a ``mongodb+srv`` host in the MongoClient constructor, before any operation, so
``store.connect`` is where a name that DNS cannot resolve has to become a StoreError.
"""

from __future__ import annotations

import pytest

from local.invoke import invoke, json_body
from local.sample_events import load_event
from voice_agents import runtime
from voice_agents.core.errors import ConfigurationError, StoreError
from voice_agents.data.database import connect

pytestmark = pytest.mark.integration

UNRESOLVABLE_SRV_URI = "mongodb+srv://cluster0.voice-agents.invalid/"


def test_an_unresolvable_srv_host_is_a_store_error():
    with pytest.raises(StoreError):
        connect(UNRESOLVABLE_SRV_URI, "voice_agents", 1)


def test_a_uri_that_is_not_one_is_a_configuration_error_that_does_not_quote_it():
    with pytest.raises(ConfigurationError) as raised:
        connect("https://user:s3cret@cluster0.example.net", "voice_agents", 1)

    assert raised.value.setting == "MONGODB_URI"
    assert "s3cret" not in str(raised.value)


def test_the_api_answers_503_when_the_srv_host_does_not_resolve(env, monkeypatch):
    # Given a deployment whose MONGODB_URI names a host DNS cannot resolve
    monkeypatch.setenv("MONGODB_URI", UNRESOLVABLE_SRV_URI)
    runtime.reset()

    # When the agents are listed
    response = invoke("get_agents", load_event("get_agents.json"))

    # Then the answer is the documented 503
    assert response["statusCode"] == 503, response["body"]
    assert json_body(response)["error"] == "database_unavailable"
