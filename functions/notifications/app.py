"""GET and PUT /api/notifications (where the owner is told of each analysed call), POST
/api/notifications/secret (a new signing secret) and POST /api/notifications/test (a sample event)."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from voice_agents import runtime
from voice_agents.core.observability import logger, tracer
from voice_agents.flows.notifications import delivery
from voice_agents.flows.notifications import settings as notification_settings
from voice_agents.http.requests import owner_id
from voice_agents.http.resolver import SERVER_ANSWERS, answers, build_resolver
from voice_agents.models.notifications import NotificationSettings, TestDelivery, UpdateNotificationsRequest

app = build_resolver(runtime.process())
SHOWN_ONCE = (
    "`signingSecret` (`whsec_…`, Standard Webhooks' format) is in this answer only: keep it to verify "
    "the `webhook-signature` header of each delivery."
)


@app.get(
    "/api/notifications",
    operation_id="getNotifications",
    summary="Your notification settings",
    description=(
        "Where you are told of each analysed call: `webhookUrl` (a signed POST) and `email` (plain "
        "text), each null when off. The signing secret itself is never shown here; "
        "`signingSecretCreatedAt` says which one is in use."
    ),
    responses=answers({200: "The settings (all null when never set)."}, SERVER_ANSWERS),
)
def get_notifications() -> NotificationSettings:
    return notification_settings.get_settings(owner_id(app), store=runtime.store().notifications)


@app.put(
    "/api/notifications",
    operation_id="putNotifications",
    summary="Set your notification settings",
    description=(
        "Replaces both settings: a field left out or null turns that channel off. After each analysed "
        "call, `webhookUrl` gets a `call.analyzed` event (JSON, signed per Standard Webhooks, retried "
        "with back-off for about an hour) and `email` a plain-text summary with the caller's number "
        f"and the answers to your post-call fields. The first `webhookUrl` saved makes the signing "
        f"secret: {SHOWN_ONCE}"
    ),
    responses=answers(
        {200: "The settings as saved."},
        {
            400: (
                "`validation_error`: `webhookUrl` is not https, carries a user name or password, or its "
                "host is `localhost` or a private, loopback or link-local address; or `email` is not "
                "an address."
            ),
            415: "`unsupported_media_type`: the body is not sent as `application/json`.",
            **SERVER_ANSWERS,
        },
    ),
)
def put_notifications(request: Annotated[UpdateNotificationsRequest, Body()]) -> NotificationSettings:
    return notification_settings.save_settings(
        owner_id(app), request, store=runtime.store().notifications, settings=runtime.settings()
    )


@app.post(
    "/api/notifications/secret",
    operation_id="rotateNotificationSecret",
    summary="Rotate the signing secret",
    description=(
        f"Makes a new signing secret. {SHOWN_ONCE} Deliveries are signed with the new one and, for "
        "24 hours (`previousSecretValidUntil`), the old one too: the header then carries two `v1,` "
        "signatures, and a receiver holding either verifies."
    ),
    responses=answers(
        {200: "The settings with the new `signingSecret`."},
        {
            409: "`request_in_progress`: another rotation happened at the same moment; retry.",
            **SERVER_ANSWERS,
        },
    ),
)
def rotate_notification_secret() -> NotificationSettings:
    return notification_settings.rotate_secret(owner_id(app), store=runtime.store().notifications)


@app.post(
    "/api/notifications/test",
    operation_id="testNotifications",
    summary="Send a test notification",
    description=(
        "Sends a sample `call.analyzed` event now to the webhook and the email that are set, once (no "
        "retries), and answers what each did: the endpoint's status, or why it was not delivered. "
        "The event's `webhook-id` starts with `evt_test_`."
    ),
    responses=answers(
        {200: "What each channel did."},
        {409: "`notifications_not_set`: neither a webhook URL nor an email is set.", **SERVER_ANSWERS},
    ),
)
def test_notifications() -> TestDelivery:
    return delivery.send_test(owner_id(app), process=runtime.process())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
