"""GET /api/agents (the caller's agents, paginated), GET /api/agents/{agentId}, its calls, one call in
full, and a call's recordings."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from voice_agents import runtime
from voice_agents.core.observability import logger, tracer
from voice_agents.flows.agents import reads
from voice_agents.http.requests import owner_id
from voice_agents.http.resolver import (
    NOT_FOUND_ANSWER,
    SERVER_ANSWERS,
    agent_response,
    answers,
    build_resolver,
)
from voice_agents.models.agents import Agent, AgentPage
from voice_agents.models.calls import CallDetail, CallPage, RecordingLink

app = build_resolver()
NO_SUCH_CALL = f"{NOT_FOUND_ANSWER} Also: no such call of this agent (or its record has expired)."


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
    return reads.list_agents(owner_id=owner_id(app), limit=limit, cursor=cursor, store=runtime.store())


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
    found = reads.get_agent(agentId, owner_id=owner_id(app), store=runtime.store())
    return agent_response(found.agent, found.etag)


@app.get(
    "/api/agents/<agentId>/calls",
    operation_id="listCalls",
    summary="List an agent's calls",
    description=(
        "The agent's inbound calls, newest first, one page at a time, kept `CALL_RECORD_RETENTION_DAYS` "
        "(90 days by default). `status` is `registered` (the call was handed to the Retell agent), "
        "`ongoing` (the agent answered), `ended`, or `not_connected` (Retell could not take it); "
        "times, duration, disconnection reason, summary and sentiment appear as Retell reports them. "
        "Pass `nextCursor` back as `cursor` for the next page; it is null on the last."
    ),
    responses=answers(
        {200: "One page of calls."},
        {
            400: "`validation_error`: `limit` outside 1-100, or a `cursor` this API did not return.",
            404: NOT_FOUND_ANSWER,
            **SERVER_ANSWERS,
        },
    ),
)
def list_calls(
    agentId: str,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(pattern=reads.CURSOR_PATTERN)] = None,
) -> CallPage:
    return reads.list_calls(
        agentId, owner_id=owner_id(app), limit=limit, cursor=cursor, store=runtime.store()
    )


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


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
