"""GET /api/agents (the caller's agents, paginated), GET /api/agents/{agentId}, its calls (filtered, as
JSON or CSV), one call in full, a call's recordings, GET /api/calls (every agent's calls), and
GET /api/phone-number-options (the countries and number types a create may ask for)."""

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from voice_agents import runtime
from voice_agents.core.days import DATE_PATTERN
from voice_agents.core.observability import logger, tracer
from voice_agents.core.statuses import CallStatus
from voice_agents.data.agent_record import AgentRecord
from voice_agents.flows.agents import numbers, reads
from voice_agents.flows.history import export, search, usage
from voice_agents.flows.history.filters import FIELD_PATTERN, CallQuery
from voice_agents.http.requests import owner_id, wants_csv
from voice_agents.http.resolver import (
    NEXT_CURSOR_HEADER,
    NOT_FOUND_ANSWER,
    SERVER_ANSWERS,
    agent_response,
    answers,
    build_resolver,
    csv_response,
)
from voice_agents.models.agents import Agent, AgentPage, PhoneNumberOptions
from voice_agents.models.calls import CallDetail, CallPage, RecordingLink
from voice_agents.models.usage import Usage

app = build_resolver(runtime.process())
AUDIO = {"type": "string", "format": "binary"}
NO_VOICEMAIL = "Also when the agent has no such call, or the call no voicemail."
NO_SUCH_CALL = f"{NOT_FOUND_ANSWER} Also: no such call of this agent (or its record has expired)."

# The calls routes' query parameters (both routes take the same filters).
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(pattern=reads.CURSOR_PATTERN)]
Status = Annotated[CallStatus | None, Query()]
FromDate = Annotated[str | None, Query(alias="from", pattern=DATE_PATTERN)]
ToDate = Annotated[str | None, Query(pattern=DATE_PATTERN)]
TimeZone = Annotated[str | None, Query(min_length=1, max_length=64)]
Caller = Annotated[str | None, Query(min_length=1, max_length=32)]
AnswerIs = Annotated[str | None, Query(alias="field", pattern=FIELD_PATTERN, max_length=1_041)]
Format = Annotated[Literal["json", "csv"] | None, Query(alias="format")]
CALLS_DESCRIPTION = (
    "Newest first, one page at a time: pass `nextCursor` back as `cursor` (with the same filters) for "
    "the next page; it is null on the last. Calls are kept `CALL_RECORD_RETENTION_DAYS` (90 days by "
    "default). `status` is `registered` (the call was handed to the Retell agent), `ongoing` (the "
    "agent answered), `ended`, or `not_connected` (Retell could not take it). Filters, all optional "
    "and combined with AND: `status`; `from` and `to`, dates (both included) in `timezone`, an IANA "
    "name (UTC by default), of when the call came in; `caller`, the caller's number in international "
    "format (send `+` as `%2B`); `field=name:value`, the calls whose post-call answer `name` is "
    "`value` (`true`/`false`, a number, one of an enum's choices, or the text exactly). "
    f"`Accept: text/csv` or `format=csv` answers CSV instead: at most {export.MAX_ROWS:,} calls and "
    f"{export.MAX_BYTES // 1_000_000} MB (an API answer is at most 6 MB and is not streamed); when more "
    f"match, `{NEXT_CURSOR_HEADER}` holds the cursor to send for the rest. Times in the CSV are in "
    "`timezone`; a cell starting with `=`, `+`, `-` or `@` starts with `'`."
)
FILTER_ERRORS = (
    "`validation_error`: `limit` outside 1-100, a `cursor` this API did not return, or a filter "
    "that cannot be read (the message names it): an unknown `status`, a date that is not YYYY-MM-DD "
    "or `from` after `to`, a `timezone` that is not an IANA name, a `caller` that is not a phone "
    "number, a `field` that no agent searched asks or a value its type cannot have."
)
CSV_BODY = (
    "One row per call after a header row; one column per post-call field (`answer.<name>`). "
    f"`{NEXT_CURSOR_HEADER}` names the next part's cursor when more calls match."
)


@app.get(
    "/api/agents",
    operation_id="listAgents",
    summary="List your agents",
    description=(
        "The caller's agents, newest first, one page at a time (deleted agents are left out). "
        "Pass `nextCursor` back as `cursor` for the next page; it is null on the last."
    ),
    responses=answers(
        {200: "One page of agents."},
        {
            400: "`validation_error`: `limit` outside 1-100, or a `cursor` this API did not return.",
            **SERVER_ANSWERS,
        },
    ),
)
def list_agents(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(pattern=reads.CURSOR_PATTERN)] = None,
) -> AgentPage:
    return reads.list_agents(
        owner_id=owner_id(app),
        limit=limit,
        cursor=cursor,
        store=runtime.store(),
        default_pair=runtime.settings().default_pair,
    )


@app.get(
    "/api/phone-number-options",
    operation_id="listPhoneNumberOptions",
    summary="Countries and number types a create may ask for",
    description=(
        "The `country` and `numberType` pairs this deployment can buy a number of (its default, "
        "`PHONE_NUMBER_COUNTRY`/`PHONE_NUMBER_TYPE`, first with `default: true`, then the pairs "
        "`TWILIO_REGULATIONS` configures, by country and type). A create asking for any other pair "
        "is a 400."
    ),
    responses=answers({200: "The pairs offered."}, dict(SERVER_ANSWERS)),
)
def list_phone_number_options() -> PhoneNumberOptions:
    return numbers.phone_number_options(runtime.settings())


@app.get(
    "/api/agents/<agentId>",
    operation_id="getAgent",
    summary="Get an agent",
    description=(
        "One of the caller's agents (a deleted agent is a 404). Its `ETag` header is the agent's "
        "version: send it as `If-Match` on an update."
    ),
    responses=answers(
        {200: "The agent."},
        {404: NOT_FOUND_ANSWER, **SERVER_ANSWERS},
        body=Agent,
    ),
)
def get_agent(agentId: str) -> Response[str]:
    found = reads.get_agent(
        agentId, owner_id=owner_id(app), store=runtime.store(), default_pair=runtime.settings().default_pair
    )
    return agent_response(found.agent, found.etag)


@app.get(
    "/api/agents/<agentId>/calls",
    operation_id="listCalls",
    summary="List and export an agent's calls",
    description=f"The agent's inbound calls. {CALLS_DESCRIPTION}",
    responses=answers(
        {200: "One page of calls (or CSV)."},
        {400: FILTER_ERRORS, 404: NOT_FOUND_ANSWER, **SERVER_ANSWERS},
        body=CallPage,
        csv=CSV_BODY,
    ),
)
# No return annotation: a CSV answer is passed through as it is, a page is serialised as CallPage.
def list_calls(
    agentId: str,
    *,
    limit: Limit = 20,
    cursor: Cursor = None,
    status: Status = None,
    from_: FromDate = None,
    to: ToDate = None,
    timezone: TimeZone = None,
    caller: Caller = None,
    field: AnswerIs = None,
    answer_format: Format = None,
):
    store = runtime.store()
    agents = search.one_agent(agentId, owner_id(app), store)
    query = CallQuery(status, from_, to, timezone, caller, field)
    return _calls(agents, query, limit=limit, cursor=cursor, answer_format=answer_format)


@app.get(
    "/api/calls",
    operation_id="listAllCalls",
    summary="List and export the calls of all your agents",
    description=(
        "The calls of every agent of yours that is not deleted (as each agent's own list shows them), "
        f"in one list. {CALLS_DESCRIPTION}"
    ),
    responses=answers(
        {200: "One page of calls (or CSV)."},
        {400: FILTER_ERRORS, **SERVER_ANSWERS},
        body=CallPage,
        csv=CSV_BODY,
    ),
)
def list_all_calls(
    *,
    limit: Limit = 20,
    cursor: Cursor = None,
    status: Status = None,
    from_: FromDate = None,
    to: ToDate = None,
    timezone: TimeZone = None,
    caller: Caller = None,
    field: AnswerIs = None,
    answer_format: Format = None,
):
    store = runtime.store()
    agents = search.every_agent(owner_id(app), store)
    query = CallQuery(status, from_, to, timezone, caller, field)
    return _calls(agents, query, limit=limit, cursor=cursor, answer_format=answer_format)


def _calls(
    agents: list[AgentRecord], query: CallQuery, *, limit: int, cursor: str | None, answer_format: str | None
) -> Any:
    """The calls routes' answer: a page of JSON, or CSV when asked."""
    owner, store = owner_id(app), runtime.store()
    if wants_csv(app, answer_format):
        exported = search.calls_csv(agents, owner_id=owner, query=query, cursor=cursor, store=store)
        return csv_response(exported.body, filename="calls.csv", next_cursor=exported.next_cursor)
    return search.calls_page(agents, owner_id=owner, query=query, limit=limit, cursor=cursor, store=store)


@app.get(
    "/api/agents/<agentId>/calls/<callSid>",
    operation_id="getCall",
    summary="Get one call in full",
    description=(
        "One call of the agent as the call history lists it, with its transcript (turns of `agent`, "
        "`caller` or `person`, timed in seconds from the call's start; at most 1,000 turns and "
        "100,000 characters, the beginning kept and `transcriptTruncated` true past that), the answers "
        "to the agent's `postCallFields`, Retell's cost, and its recording: `pending` while it is "
        "copied, `available` with `url` (`getConversationRecordingLink`), or `unavailable`."
    ),
    responses=answers({200: "The call."}, {404: NO_SUCH_CALL, **SERVER_ANSWERS}),
)
def get_call(agentId: str, callSid: str) -> CallDetail:
    return reads.get_call(agentId, callSid, owner_id=owner_id(app), store=runtime.store())


@app.get(
    "/api/agents/<agentId>/calls/<callSid>/conversation-recording",
    operation_id="getConversationRecordingLink",
    summary="Get a link to play a call's recording",
    description=(
        "A link to the recording of the caller's conversation with the agent, valid 15 minutes: the "
        "stack's own copy (Retell's link never reaches the browser), kept as long as the call's record. "
        "Play it as it is (`<audio src>`); ask again for a new one once it expires. A recording can "
        "last an hour, more than any answer of this API may carry: hence a link, not the audio."
    ),
    responses=answers(
        {200: "The link."},
        {
            404: f"{NO_SUCH_CALL} Or no copy of its recording exists (yet: see the call's `recording`).",
            **SERVER_ANSWERS,
        },
    ),
)
def get_conversation_recording_link(agentId: str, callSid: str) -> RecordingLink:
    return reads.conversation_recording_link(
        agentId, callSid, owner_id=owner_id(app), store=runtime.store(), recordings=runtime.recordings
    )


@app.get(
    "/api/agents/<agentId>/calls/<callSid>/recording",
    operation_id="getCallRecording",
    summary="Play a call's voicemail",
    description=(
        "The voicemail a caller left, as audio (`audio/mpeg`), fetched from Twilio with the account's "
        "credentials: Twilio's own URL never reaches the browser. Twilio keeps the recording until it "
        "is deleted there; this route answers as long as the call's record is kept."
    ),
    responses={
        200: {
            "description": "The recording.",
            "content": {"audio/mpeg": {"schema": {"type": "string", "format": "binary"}}},
        },
        **answers(
            {},
            {
                404: f"{NO_SUCH_CALL} Or the call has no voicemail.",
                **SERVER_ANSWERS,
            },
        ),
    },
)
# No return annotation: Powertools then passes the audio through instead of validating it as JSON.
def get_call_recording(agentId: str, callSid: str):
    audio, media_type = reads.voicemail_audio(
        agentId, callSid, owner_id=owner_id(app), store=runtime.store(), twilio=runtime.twilio
    )
    return Response(status_code=200, content_type=media_type, body=audio)


@app.get(
    "/api/agents/<agentId>/usage",
    operation_id="getUsage",
    summary="An agent's usage and costs per day",
    description=(
        "Every day from `from` to `to` (dates in `timezone`, an IANA name, UTC by default; both "
        f"included, at most {usage.MAX_DAYS} days; by default the last {usage.DEFAULT_DAYS} days up to "
        "today): the calls that came in that day, their seconds and started minutes, and their cost "
        "in whole US cents: Retell's, Twilio's price of the minutes (read from Twilio minutes after "
        "each call; `unpricedCalls` counts the calls still without it) and the number's monthly "
        "rental (its country and type's `monthlyCents` in `TWILIO_REGULATIONS`, else "
        "`TWILIO_NUMBER_MONTHLY_CENTS`) spread over each month's days. Each amount is rounded "
        "once, from exact sums."
    ),
    responses=answers(
        {200: "The usage per day, and over the range."},
        {
            400: "`validation_error`: a date that is not YYYY-MM-DD, `from` after `to`, more than "
            f"{usage.MAX_DAYS} days, or a `timezone` that is not an IANA name.",
            404: NOT_FOUND_ANSWER,
            **SERVER_ANSWERS,
        },
    ),
)
def get_usage(agentId: str, from_: FromDate = None, to: ToDate = None, timezone: TimeZone = None) -> Usage:
    return usage.agent_usage(
        agentId,
        owner_id=owner_id(app),
        from_date=from_,
        to_date=to,
        timezone=timezone,
        number_monthly_cents=runtime.settings().number_monthly_cents,
        default_pair=runtime.settings().default_pair,
        store=runtime.store(),
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
