"""Calls' recordings on the local stack, S3 being moto's: Retell's events file the recording's link,
the reconciler's run copies it from the fake Retell (on loopback) into the recordings bucket, and
GET .../calls/{callSid}/conversation-recording hands the call's owner a short-lived link to the copy.
Retell's link never leaves the backend; a link that keeps failing is given up after a day."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from local.stack import LocalStack
from tests.aws import RECORDINGS_BUCKET, recordings_bucket
from tests.integration.faults import run_reconciler
from tests.integration.test_call_path import bearer, place, retell_call_id
from voice_agents import runtime
from voice_agents.core.clock import now
from voice_agents.flows.calls import recording_copy

pytestmark = pytest.mark.integration


@pytest.fixture
def s3(env: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with recordings_bucket(monkeypatch) as client:
        runtime.reset()  # the settings now name the bucket
        yield client


def ended_call(client: httpx.Client, env: LocalStack, **options: Any) -> tuple[dict[str, Any], str]:
    """An agent of OWNER, and a call to it the fake Retell played out (its events delivered)."""
    created = client.post(
        "/api/agents", json={"name": "Clinic", "prompt": "You book visits."}, headers=bearer()
    )
    assert created.status_code == 201, created.text
    agent = created.json()
    sid = place(env, agent)
    env.retell.end_call(retell_call_id(env), 1_000, **options).join()
    return agent, sid


def shown(client: httpx.Client, agent: dict[str, Any], sid: str, sub: str | None = None) -> httpx.Response:
    return client.get(f"/api/agents/{agent['id']}/calls/{sid}", headers=bearer(*([sub] if sub else [])))


def link(client: httpx.Client, agent: dict[str, Any], sid: str, sub: str | None = None) -> httpx.Response:
    path = f"/api/agents/{agent['id']}/calls/{sid}/conversation-recording"
    return client.get(path, headers=bearer(*([sub] if sub else [])))


def test_the_reconciler_copies_the_recording_and_its_owner_gets_a_short_link_to_the_copy(client, env, db, s3):
    agent, sid = ended_call(client, env)
    filed = db.recordings.find_one({"_id": sid})
    retell_link = env.retell.calls_registered[retell_call_id(env)]["recording_url"]
    assert (filed["state"], filed["sourceUrl"]) == ("pending", retell_link)
    assert shown(client, agent, sid).json()["recording"] == {"status": "pending", "url": None}
    assert link(client, agent, sid).status_code == 404  # nothing to play before the copy

    report = run_reconciler()

    assert report["recordings"] == {"copied": 1, "retried": 0, "lost": 0}
    key = f"{agent['id']}/{sid}.wav"
    copy = s3.get_object(Bucket=RECORDINGS_BUCKET, Key=key)
    original = httpx.get(retell_link)
    assert copy["Body"].read() == original.content and copy["ContentType"] == "audio/wav"
    call = shown(client, agent, sid).json()
    path = f"/api/agents/{agent['id']}/calls/{sid}/conversation-recording"
    assert call["recording"] == {"status": "available", "url": path}

    answer = link(client, agent, sid)

    assert answer.status_code == 200, answer.text
    played = answer.json()
    assert (played["contentType"], played["sizeBytes"]) == ("audio/wav", len(original.content))
    url = urllib.parse.urlsplit(played["url"])
    query = dict(urllib.parse.parse_qsl(url.query))
    assert RECORDINGS_BUCKET in url.netloc + url.path and url.path.endswith(f"/{sid}.wav")
    assert (query["X-Amz-Algorithm"], query["X-Amz-Expires"]) == ("AWS4-HMAC-SHA256", "900")
    assert retell_link not in answer.text and "retell" not in played["url"]
    # Only the call's owner gets one
    assert link(client, agent, sid, "someone-else").status_code == 404
    assert shown(client, agent, sid, "someone-else").status_code == 404
    # A second run finds nothing left to copy
    assert run_reconciler()["recordings"] == {"copied": 0, "retried": 0, "lost": 0}


def test_a_link_that_fails_is_tried_again_later_then_given_up_after_a_day(client, env, db, s3):
    agent, sid = ended_call(client, env)
    env.retell.inject("get_recording", 403)  # an expired signed link, or not there yet

    assert run_reconciler()["recordings"] == {"copied": 0, "retried": 1, "lost": 0}

    filed = db.recordings.find_one({"_id": sid})
    assert (filed["state"], filed["attempts"]) == ("pending", 1)
    assert timedelta(seconds=50) < filed["due"] - now() <= timedelta(minutes=1)
    # Not due yet: the next run leaves it
    assert run_reconciler()["recordings"] == {"copied": 0, "retried": 0, "lost": 0}
    # A day later, the link still failing
    db.recordings.update_one({"_id": sid}, {"$set": {"due": now(), "giveUpAt": now() - timedelta(seconds=1)}})
    env.retell.inject("get_recording", 403)

    assert run_reconciler()["recordings"] == {"copied": 0, "retried": 0, "lost": 1}

    assert shown(client, agent, sid).json()["recording"] == {"status": "unavailable", "url": None}
    assert link(client, agent, sid).status_code == 404
    assert s3.list_objects_v2(Bucket=RECORDINGS_BUCKET)["KeyCount"] == 0


def test_a_link_that_fails_once_is_copied_on_a_later_run(client, env, db, s3):
    agent, sid = ended_call(client, env)
    env.retell.inject("get_recording", 503, times=1)
    run_reconciler()
    db.recordings.update_one({"_id": sid}, {"$set": {"due": now()}})

    assert run_reconciler()["recordings"] == {"copied": 1, "retried": 0, "lost": 0}

    assert shown(client, agent, sid).json()["recording"]["status"] == "available"


def test_a_recording_over_the_size_cap_is_given_up_and_nothing_is_left_in_the_bucket(
    client, env, db, s3, monkeypatch
):
    agent, sid = ended_call(client, env)
    monkeypatch.setattr(recording_copy, "MAX_RECORDING_BYTES", 1_000)

    assert run_reconciler()["recordings"] == {"copied": 0, "retried": 0, "lost": 1}

    assert "too large" in db.recordings.find_one({"_id": sid})["lastError"]
    assert shown(client, agent, sid).json()["recording"]["status"] == "unavailable"
    assert s3.list_objects_v2(Bucket=RECORDINGS_BUCKET)["KeyCount"] == 0


def test_a_recording_whose_copy_fails_unexpectedly_holds_up_no_other(client, env, db, s3, monkeypatch):
    agent, sid = ended_call(client, env)
    # Filed before it (so first in line), a recording whose copy meets a bug
    first = {
        **db.recordings.find_one({"_id": sid}),
        "_id": "CA" + "e" * 32,
        "sourceUrl": "https://x.test/a.wav",
    }
    first["due"] -= timedelta(minutes=1)
    db.recordings.insert_one(first)
    real = recording_copy.download_recording

    def download(url: str, **options: Any) -> Any:
        if url == "https://x.test/a.wav":
            raise RuntimeError("a bug")
        return real(url, **options)

    monkeypatch.setattr(recording_copy, "download_recording", download)

    assert run_reconciler()["recordings"] == {"copied": 1, "retried": 1, "lost": 0}

    assert db.recordings.find_one({"_id": first["_id"]})["state"] == "pending"
    assert shown(client, agent, sid).json()["recording"]["status"] == "available"


def test_a_link_that_is_not_https_is_never_fetched(client, env, db, s3):
    agent, sid = ended_call(client, env)
    db.recordings.update_one({"_id": sid}, {"$set": {"sourceUrl": "http://169.254.169.254/latest/meta-data"}})

    assert run_reconciler()["recordings"] == {"copied": 0, "retried": 0, "lost": 1}

    assert shown(client, agent, sid).json()["recording"]["status"] == "unavailable"


def test_without_a_bucket_nothing_is_copied_and_the_recording_stays_pending(client, env, db):
    agent, sid = ended_call(client, env)

    assert run_reconciler()["recordings"] is None

    assert shown(client, agent, sid).json()["recording"]["status"] == "pending"
    assert link(client, agent, sid).status_code == 404


@pytest.mark.parametrize(
    ("url", "fetched"),
    [
        ("https://retellai.s3.us-west-2.amazonaws.com/call_x/recording.wav", True),
        ("http://127.0.0.1:8081/recordings/call_x/recording.wav", True),
        ("http://[::1]/r.wav", True),
        ("http://retellai.s3.amazonaws.com/r.wav", False),
        ("http://169.254.169.254/latest/meta-data", False),
        ("file:///etc/passwd", False),
        ("ftp://example.com/r.wav", False),
        ("https:///r.wav", False),
    ],
)
def test_only_https_links_and_loopback_ones_are_fetched(url, fetched):
    assert recording_copy.fetchable(url) is fetched
