import { useCallback, useEffect, useRef, useState } from "react";
import { type ApiClient, type CallDetail, type TranscriptTurn, errorMessage } from "../api";
import {
  CALL_STATUS_LABELS,
  SPEAKER_LABELS,
  callRoute,
  formatClock,
  formatDuration,
  formatWhen,
  sentimentWords,
} from "../calls";
import { formatCents } from "../money";
import { HOME_HREF } from "../pages";
import { formatPhoneNumber } from "../phone";
import { formatAnswer } from "../postCallFields";
import { KeepNumbers } from "./KeepNumbers";
import { RecordingPlayer } from "./RecordingPlayer";

interface Props {
  client: ApiClient;
  agentId: string;
  callSid: string;
}

type State = { kind: "loading" } | { kind: "failed"; message: string } | { kind: "ready"; call: CallDetail };

/** One call in full: what happened, the recording, the answers to the owner's questions, the transcript. */
export function CallPage({ client, agentId, callSid }: Props) {
  const [state, setState] = useState<State>({ kind: "loading" });
  const heading = useRef<HTMLHeadingElement>(null);

  const load = useCallback(async () => {
    try {
      const { data, error, response } = await client.GET("/api/agents/{agentId}/calls/{callSid}", {
        params: { path: { agentId, callSid } },
      });
      setState(
        data
          ? { kind: "ready", call: data }
          : {
              kind: "failed",
              message: response.status === 404 ? "No such call (or its record has expired)." : errorMessage(error, response),
            },
      );
    } catch (problem) {
      setState({ kind: "failed", message: errorMessage(problem) });
    }
  }, [client, agentId, callSid]);

  useEffect(() => {
    void load();
  }, [load]);
  // A new page: the keyboard and screen readers start at its heading.
  useEffect(() => heading.current?.focus(), []);

  const call = state.kind === "ready" ? state.call : null;
  const caller = call ? (call.from ? formatPhoneNumber(call.from).display : "an unknown caller") : null;
  return (
    <section className="call-page" aria-labelledby="call-title">
      <p className="back">
        <a href={HOME_HREF}>← Your agents</a>
      </p>
      <h2 id="call-title" ref={heading} tabIndex={-1}>
        {caller ? <KeepNumbers text={`Call from ${caller}`} /> : "Call"}
      </h2>
      {state.kind === "loading" ? <p>Loading…</p> : null}
      {state.kind === "failed" ? (
        <p className="form-error" role="alert">
          Could not load the call: {state.message}
        </p>
      ) : null}
      {call ? <CallDetails call={call} client={client} onRefresh={() => void load()} /> : null}
    </section>
  );
}

function CallDetails({ call, client, onRefresh }: { call: CallDetail; client: ApiClient; onRefresh: () => void }) {
  const duration = formatDuration(call.durationMs);
  const route = callRoute(call);
  const sentiment = sentimentWords(call.sentiment);
  const answers = Object.entries(call.postCallAnswers ?? {});
  return (
    <>
      <dl className="call-facts">
        <dt>When</dt>
        <dd>
          <time dateTime={call.registeredAt}>{formatWhen(call.registeredAt)}</time>
        </dd>
        <dt>Status</dt>
        <dd>{CALL_STATUS_LABELS[call.status]}</dd>
        {duration ? (
          <>
            <dt>Length</dt>
            <dd>{duration}</dd>
          </>
        ) : null}
        {route.length ? (
          <>
            <dt>Where it went</dt>
            <dd>
              <KeepNumbers text={route.join("; ")} />
            </dd>
          </>
        ) : null}
        {sentiment ? (
          <>
            <dt>Caller's mood</dt>
            <dd>{sentiment}</dd>
          </>
        ) : null}
        <dt>Retell's cost</dt>
        <dd className="call-cost">
          {call.cost ? <CallCostText cost={call.cost} /> : "Not reported yet"}
        </dd>
        <dt>Twilio's price</dt>
        <dd className="call-twilio-cost">
          {call.twilioCost
            ? formatCents(call.twilioCost.cents, call.twilioCost.currency)
            : "Not priced yet (Twilio prices a call minutes after it ends)"}
        </dd>
      </dl>
      {call.summary ? (
        <section aria-labelledby="call-summary-title">
          <h3 id="call-summary-title">Summary</h3>
          <p className="call-summary">{call.summary}</p>
        </section>
      ) : null}
      <section aria-labelledby="call-recording-title">
        <h3 id="call-recording-title">Recording</h3>
        <RecordingPlayer client={client} call={call} onRefresh={onRefresh} />
      </section>
      <section aria-labelledby="call-answers-title">
        <h3 id="call-answers-title">Answers to your questions</h3>
        {answers.length ? (
          <dl className="call-answers">
            {answers.map(([name, answer]) => (
              <div key={name}>
                <dt>{name}</dt>
                <dd>{formatAnswer(answer)}</dd>
              </div>
            ))}
          </dl>
        ) : (
          <p className="empty">
            {call.status === "ended" && call.summary
              ? "None: the agent asks no questions after a call, or Retell answered none."
              : "None yet: Retell answers them once the call is analysed."}
          </p>
        )}
      </section>
      <section aria-labelledby="call-transcript-title">
        <h3 id="call-transcript-title">Transcript</h3>
        <Transcript turns={call.transcript ?? []} truncated={call.transcriptTruncated ?? false} />
      </section>
    </>
  );
}

function CallCostText({ cost }: { cost: NonNullable<CallDetail["cost"]> }) {
  const total = formatCents(cost.totalCents, cost.currency);
  const parts = cost.products.map((product) => `${product.product} ${formatCents(product.cents, cost.currency)}`);
  const billed = cost.billedSeconds !== null ? `, ${formatDuration(cost.billedSeconds * 1000)} billed` : "";
  return (
    <>
      <strong>{total}</strong>
      {parts.length ? ` (${parts.join(", ")}${billed})` : billed ? ` (${billed.slice(2)})` : ""}
    </>
  );
}

/** The conversation, turn by turn: who spoke, when (from the call's start), what they said. */
export function Transcript({ turns, truncated }: { turns: readonly TranscriptTurn[]; truncated: boolean }) {
  if (turns.length === 0) return <p className="empty">No transcript.</p>;
  return (
    <>
      <ol className="transcript" aria-label="Conversation">
        {turns.map((turn, index) => {
          const at = formatClock(turn.startSeconds);
          return (
            <li key={index} className="turn" data-speaker={turn.speaker}>
              <span className="speaker">{SPEAKER_LABELS[turn.speaker]}</span>
              {at ? (
                <time className="turn-time" dateTime={`PT${Math.round(turn.startSeconds ?? 0)}S`}>
                  <span className="visually-hidden">at </span>
                  {at}
                </time>
              ) : null}
              <p className="turn-text">{turn.text}</p>
            </li>
          );
        })}
      </ol>
      {truncated ? (
        <p className="hint">The transcript is longer than the call's record keeps: this is its beginning.</p>
      ) : null}
    </>
  );
}
