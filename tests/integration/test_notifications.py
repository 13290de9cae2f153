"""The business is told, on the local stack: the owner's settings through the local API (JWT routes),
Retell's signed call_analyzed through the real webhook handler, the notifications queue and SES in
moto's server, and the consumer run by the local SQS event source (local/aws.py), as Lambda runs it.
The owner's endpoint is a server on 127.0.0.1 (the stack allows loopback targets) that checks each
delivery with the Standard Webhooks library, as a business would."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from local.api.tokens import local_token
from local.aws import MAX_ATTEMPTS, SqsEventSource, consumer_event_source
from local.fakes.owner_endpoint import OwnerEndpoint, Received
from local.stack import LocalStack
from tests.integration import test_call_history as call_history
from tests.integration import test_twilio_webhook as twilio_webhook
from tests.integration.test_call_history import SUMMARY, analyzed, send
from tests.integration.test_twilio_webhook import CALL_SID, CALLER
from voice_agents import runtime

pytestmark = pytest.mark.integration

agent = twilio_webhook.agent
call = call_history.call
emitted = twilio_webhook.emitted

OWNER = "user-1234-owner"  # the sample events' owner: the agent and its calls are hers
OWNER_EMAIL = "frontdesk@example.com"
EVENT_ID = f"evt_{CALL_SID}_analyzed"
# Back-offs of 1 s, then 1-2 s (local/aws.py), and the time it takes SQS to hand a message out again.
DELIVERY_WAIT_SECONDS = 20


@pytest.fixture
def owner_endpoint() -> Iterator[OwnerEndpoint]:
    with OwnerEndpoint() as endpoint:
        yield endpoint


@pytest.fixture
def consumer(env: LocalStack) -> Iterator[SqsEventSource]:
    """DeliverNotificationsFunction, fed by the local SQS event source while the test runs; a failed
    delivery is reported per message, never as a function error (which would alarm)."""
    with consumer_event_source(env.aws) as source:
        yield source
    assert source.handler_errors == 0


def as_owner(owner: str = OWNER) -> dict[str, str]:
    return {"Authorization": f"Bearer {local_token(owner)}"}


def save_settings(client: httpx.Client, **settings: Any) -> dict[str, Any]:
    response = client.put("/api/notifications", json=settings, headers=as_owner())
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def verified(received: Received, secret: str) -> dict[str, Any]:
    """The body, verified as a receiver does (signature and a fresh timestamp), or an exception."""
    body: dict[str, Any] = Webhook(secret).verify(received.body, received.headers)
    return body


def delivery(db: Any, channel: str = "webhook", event_id: str = EVENT_ID) -> dict[str, Any]:
    record: dict[str, Any] = db.notification_deliveries.find_one({"_id": f"{event_id}#{channel}"})
    return record


def settled(db: Any, channel: str = "webhook", timeout: float = DELIVERY_WAIT_SECONDS) -> dict[str, Any]:
    """The delivery record once the consumer settled it for good (or as it is at the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        record = delivery(db, channel)
        if (record and record["status"] in ("delivered", "dead", "refused", "skipped")) or (
            time.monotonic() > deadline
        ):
            return record
        time.sleep(0.1)


# ---------------------------------------------------------------- the settings


def test_the_secret_is_shown_once_when_made_and_once_per_rotation(env, client, owner_endpoint):
    assert client.get("/api/notifications", headers=as_owner()).json() == {
        "webhookUrl": None, "email": None, "signingSecretCreatedAt": None,
        "previousSecretValidUntil": None, "updatedAt": None, "signingSecret": None,
    }  # fmt: skip

    first = save_settings(client, webhookUrl=owner_endpoint.url, email=OWNER_EMAIL)
    read = client.get("/api/notifications", headers=as_owner()).json()
    again = save_settings(client, webhookUrl=owner_endpoint.url, email=None)
    rotated = client.post("/api/notifications/secret", headers=as_owner())

    assert first["signingSecret"].startswith("whsec_")
    assert (first["webhookUrl"], first["email"]) == (owner_endpoint.url, OWNER_EMAIL)
    assert read["signingSecret"] is None and read["signingSecretCreatedAt"] == first["signingSecretCreatedAt"]
    assert again["signingSecret"] is None and again["email"] is None  # the secret is kept, not shown
    assert rotated.status_code == 200
    assert rotated.json()["signingSecret"] not in (None, first["signingSecret"])
    assert rotated.json()["previousSecretValidUntil"] is not None
    # Another owner sees none of it.
    other = client.get("/api/notifications", headers=as_owner("someone-else")).json()
    assert other["webhookUrl"] is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hooks",
        "https://127.0.0.1/hooks",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::ffff:169.254.169.254]/",
        "https://[::1]/hooks",
        "https://10.0.0.5/hooks",
        "https://localhost/hooks",
        "https://user:password@example.com/hooks",
    ],
)
def test_without_the_loopback_setting_private_and_loopback_urls_are_refused(env, client, monkeypatch, url):
    monkeypatch.delenv("NOTIFICATION_TARGETS")  # as deployed: the template never sets it
    runtime.reset()

    response = client.put("/api/notifications", json={"webhookUrl": url}, headers=as_owner())

    assert response.status_code == 400, response.text
    assert response.json()["fields"][0]["field"] == "webhookUrl"


def test_with_the_loopback_setting_only_this_machine_is_allowed(env, client):
    for refused in ("https://169.254.169.254/", "https://example.com/hooks", "http://10.1.2.3/"):
        response = client.put("/api/notifications", json={"webhookUrl": refused}, headers=as_owner())
        assert response.status_code == 400, refused


def test_a_url_saved_before_is_refused_at_send_time_without_the_loopback_setting(
    env, db, client, owner_endpoint, agent, call, monkeypatch, consumer
):
    save_settings(client, webhookUrl=owner_endpoint.url)
    # As deployed, with a URL saved before the rules refused it (or a name that now resolves there).
    https_loopback = f"https://127.0.0.1:{owner_endpoint.port}/hooks/calls"
    db.notification_settings.update_one({"_id": OWNER}, {"$set": {"webhookUrl": https_loopback}})
    monkeypatch.setenv("NOTIFICATION_TARGETS", "public")
    runtime.reset()

    assert send(analyzed(call["call_id"]))["statusCode"] == 204
    record = settled(db)

    assert record["status"] == "refused"
    assert "loopback" in record["lastError"]
    assert owner_endpoint.received == []
    assert env.aws.dead_letters() == []  # refused is final: not retried, not dead-lettered


# ---------------------------------------------------------------- the webhook


def test_a_duplicate_call_analyzed_is_delivered_once_signed_per_standard_webhooks(
    env, db, client, owner_endpoint, agent, call, consumer
):
    secret = save_settings(client, webhookUrl=owner_endpoint.url)["signingSecret"]

    first = send(analyzed(call["call_id"]))
    repeated = send(analyzed(call["call_id"]))  # Retell repeats an event it thinks was lost
    [received] = owner_endpoint.wait_for(1, DELIVERY_WAIT_SECONDS)
    # And a message SQS hands out twice: the same message queued again.
    env.aws.sqs().send_message(
        QueueUrl=env.aws.queue_url,
        MessageBody=json.dumps({"eventId": EVENT_ID, "channel": "webhook", "callSid": CALL_SID,
                                "ownerId": OWNER, "occurredAt": "2026-01-01T00:00:00+00:00"}),
    )  # fmt: skip
    time.sleep(3)

    assert (first["statusCode"], repeated["statusCode"]) == (204, 204)
    assert len(owner_endpoint.received) == 1
    assert received.headers["webhook-id"] == EVENT_ID
    event = verified(received, secret)
    assert event["type"] == "call.analyzed"
    assert event["data"]["callSid"] == CALL_SID
    assert event["data"]["from"] == CALLER
    assert event["data"]["summary"] == SUMMARY
    assert event["data"]["agentId"] == agent["id"]
    assert event["data"]["agentName"] == agent["name"]
    assert received.headers["host"] == f"127.0.0.1:{owner_endpoint.port}"
    record = delivery(db)
    assert (record["status"], record["attempts"], record["lastStatus"]) == ("delivered", 1, 200)
    assert env.aws.waiting() == 0


def test_an_endpoint_answering_500_then_200_gets_the_event_again(
    env, db, client, owner_endpoint, agent, call, consumer
):
    secret = save_settings(client, webhookUrl=owner_endpoint.url)["signingSecret"]
    owner_endpoint.answer(500)

    send(analyzed(call["call_id"]))
    tries = owner_endpoint.wait_for(2, DELIVERY_WAIT_SECONDS)
    record = settled(db)

    assert [each.status for each in tries] == [500, 200]
    assert tries[0].body == tries[1].body  # the same event...
    assert tries[0].headers["webhook-id"] == tries[1].headers["webhook-id"] == EVENT_ID
    assert verified(tries[1], secret)["data"]["callSid"] == CALL_SID  # ...signed again as it is sent
    assert tries[1].at - tries[0].at >= 0.9  # after the back-off
    assert (record["status"], record["attempts"]) == ("delivered", 2)


def test_an_endpoint_failing_every_try_is_dead_lettered_after_the_last(
    env, db, client, owner_endpoint, agent, call, consumer, emitted
):
    save_settings(client, webhookUrl=owner_endpoint.url)
    owner_endpoint.answer(*[503] * MAX_ATTEMPTS)

    send(analyzed(call["call_id"]))
    tries = owner_endpoint.wait_for(MAX_ATTEMPTS, DELIVERY_WAIT_SECONDS)
    record = settled(db)
    deadline = time.monotonic() + 10
    while not (dead := env.aws.dead_letters()) and time.monotonic() < deadline:
        time.sleep(0.2)

    assert len(tries) == MAX_ATTEMPTS
    assert (record["status"], record["attempts"], record["lastStatus"]) == ("dead", MAX_ATTEMPTS, 503)
    assert [each["eventId"] for each in dead] == [EVENT_ID]
    time.sleep(2)
    assert len(owner_endpoint.received) == MAX_ATTEMPTS  # nothing after the last try
    assert emitted()["NotificationsDeadLettered"] == 1


def test_a_rotated_secret_and_its_predecessor_both_verify_for_a_day(
    env, client, owner_endpoint, agent, call, consumer
):
    old = save_settings(client, webhookUrl=owner_endpoint.url)["signingSecret"]
    new = client.post("/api/notifications/secret", headers=as_owner()).json()["signingSecret"]

    send(analyzed(call["call_id"]))
    [received] = owner_endpoint.wait_for(1, DELIVERY_WAIT_SECONDS)

    assert len(received.headers["webhook-signature"].split(" ")) == 2
    assert verified(received, new) == verified(received, old)


# ---------------------------------------------------------------- the email


def test_the_email_tells_the_summary_caller_and_answers(env, db, client, agent, call, consumer):
    save_settings(client, email=OWNER_EMAIL)
    # The answers to the owner's post-call fields, as the call record keeps Retell's custom_analysis_data.
    db.calls.update_one(
        {"_id": CALL_SID}, {"$set": {"postCallAnswers": {"party_size": 2, "wants_callback": True}}}
    )

    send(analyzed(call["call_id"]))
    record = settled(db, "email")
    [email] = env.aws.sent_emails()

    assert record["status"] == "delivered"
    assert email["source"] == "calls@voice-agents.local"
    assert email["to"] == [OWNER_EMAIL]
    assert email["subject"] == f"Call from {CALLER} to {agent['name']}"
    body = email["body"]
    assert f"Caller: {CALLER}" in body
    assert f"Summary:\n{SUMMARY}\n" in body
    assert "Answers:\n- party_size: 2\n- wants_callback: yes\n" in body
    assert "Duration: 1 min 12 s" in body
    assert "<" not in body  # plain text


def test_both_channels_are_sent_and_settled_apart(env, db, client, owner_endpoint, agent, call, consumer):
    save_settings(client, webhookUrl=owner_endpoint.url, email=OWNER_EMAIL)
    owner_endpoint.answer(500)  # the webhook's retry must not send the email again

    send(analyzed(call["call_id"]))
    webhook, email = settled(db, "webhook"), settled(db, "email")

    assert (webhook["status"], webhook["attempts"]) == ("delivered", 2)
    assert (email["status"], email["attempts"]) == ("delivered", 1)
    assert len(env.aws.sent_emails()) == 1


# ---------------------------------------------------------------- queuing


def test_without_settings_nothing_is_queued(env, db, agent, call):
    assert send(analyzed(call["call_id"]))["statusCode"] == 204
    assert db.notification_deliveries.count_documents({}) == 0
    assert env.aws.waiting() == 0


def test_a_queue_that_fails_leaves_the_event_answered_and_the_repeat_queues_it(
    env, db, client, owner_endpoint, agent, call, monkeypatch, emitted, consumer
):
    save_settings(client, webhookUrl=owner_endpoint.url)
    monkeypatch.setenv("NOTIFICATIONS_QUEUE_URL", env.aws.queue_url + "-missing")
    runtime.reset()

    answer = send(analyzed(call["call_id"]))

    assert answer["statusCode"] == 204  # the call's record is written whatever the queue does
    assert delivery(db)["status"] == "unqueued"
    assert emitted()["NotificationsNotQueued"] == 1

    monkeypatch.setenv("NOTIFICATIONS_QUEUE_URL", env.aws.queue_url)
    runtime.reset()
    send(analyzed(call["call_id"]))

    assert owner_endpoint.wait_for(1, DELIVERY_WAIT_SECONDS)
    assert settled(db)["status"] == "delivered"


# ---------------------------------------------------------------- the test delivery


def test_the_test_route_sends_a_sample_to_each_channel_and_says_what_happened(env, client, owner_endpoint):
    secret = save_settings(client, webhookUrl=owner_endpoint.url, email=OWNER_EMAIL)["signingSecret"]

    answer = client.post("/api/notifications/test", headers=as_owner())

    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["webhook"]["delivered"] is True and result["webhook"]["status"] == 200
    assert result["email"] == {"delivered": True, "status": None, "error": None, "durationMs": None}
    [received] = owner_endpoint.received
    assert received.headers["webhook-id"] == result["eventId"]
    assert result["eventId"].startswith("evt_test_")
    assert verified(received, secret)["data"]["summary"].startswith("This is a test notification")
    [email] = env.aws.sent_emails()
    assert email["to"] == [OWNER_EMAIL]


def test_the_test_route_reports_an_endpoint_that_fails(env, client, owner_endpoint):
    save_settings(client, webhookUrl=owner_endpoint.url)
    owner_endpoint.answer(500)

    result = client.post("/api/notifications/test", headers=as_owner()).json()

    assert result["webhook"]["delivered"] is False
    assert result["webhook"]["status"] == 500
    assert result["email"] is None


def test_the_test_route_without_settings_is_409(env, client):
    answer = client.post("/api/notifications/test", headers=as_owner())

    assert answer.status_code == 409
    assert answer.json()["error"] == "notifications_not_set"
