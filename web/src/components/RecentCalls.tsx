import { useState } from "react";
import { type Agent, type ApiClient, type Call, errorMessage } from "../api";
import { type CallFilters as Filters, NO_FILTERS, callQuery, isFiltered } from "../callFilters";
import { CALL_STATUS_LABELS, callRoute, formatClock, formatDuration, formatWhen } from "../calls";
import { callHref } from "../pages";
import { formatPhoneNumber } from "../phone";
import { CallFilters } from "./CallFilters";
import { CsvDownload } from "./CsvDownload";
import { KeepNumbers } from "./KeepNumbers";
import { VoicemailPlayer } from "./VoicemailPlayer";

/** How many calls the disclosure shows at first, and adds per "Load more". */
export const CALLS_PAGE_SIZE = 10;

interface Props {
  agent: Agent;
  client: ApiClient;
}

/** The agent's latest calls, fetched when the disclosure is first opened (most cards stay closed). */
export function RecentCalls({ agent, client }: Props) {
  const [calls, setCalls] = useState<Call[] | null>(null);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [filterError, setFilterError] = useState<string | null>(null);

  // The next page is asked with the same filters as the first (the cursor belongs to them).
  const load = async (cursor?: string, shown: Filters = filters) => {
    setLoading(true);
    const { data, error: failure, response } = await client.GET("/api/agents/{agentId}/calls", {
      params: { path: { agentId: agent.id }, query: { limit: CALLS_PAGE_SIZE, cursor, ...callQuery(shown) } },
    });
    setLoading(false);
    if (!data) {
      // A filter the API cannot read (400) is said at the filters; the list stays as it was.
      if (response.status === 400 && !cursor && isFiltered(shown)) setFilterError(errorMessage(failure, response));
      else setError(`Could not load the calls: ${errorMessage(failure, response)}`);
      return;
    }
    setError(null);
    setFilterError(null);
    setCalls((current) => {
      // A call answered between two pages moves the rest down: one already shown is not shown twice.
      const earlier = cursor ? (current ?? []) : [];
      const known = new Set(earlier.map((call) => call.callSid));
      return [...earlier, ...data.items.filter((call) => !known.has(call.callSid))];
    });
    setNextCursor(data.nextCursor);
  };

  return (
    <details
      className="calls"
      onToggle={(event) => {
        if (event.currentTarget.open && calls === null && !loading) void load();
      }}
    >
      <summary>Recent calls</summary>
      <details className="filters">
        <summary>Filter and download</summary>
        <CallFilters
          id={`calls-${agent.id}`}
          fields={agent.postCallFields ?? []}
          error={filterError}
          onApply={(chosen) => {
            setFilters(chosen);
            void load(undefined, chosen);
          }}
        />
        <CsvDownload client={client} agentId={agent.id} label={agent.name} filters={filters} />
      </details>
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
      {calls === null && !error ? <p>Loading…</p> : null}
      {calls?.length === 0 ? <p className="empty">{isFiltered(filters) ? "No calls match" : "No calls yet"}</p> : null}
      {calls?.length ? (
        <ul className="call-list" aria-label={`Recent calls of ${agent.name}`}>
          {calls.map((call) => (
            <CallItem key={call.callSid} call={call} client={client} />
          ))}
        </ul>
      ) : null}
      {nextCursor ? (
        <button type="button" className="link" disabled={loading} onClick={() => void load(nextCursor)}>
          Load more
        </button>
      ) : null}
    </details>
  );
}

function CallItem({ call, client }: { call: Call; client: ApiClient }) {
  const duration = formatDuration(call.durationMs);
  const caller = call.from ? formatPhoneNumber(call.from).display : "Unknown caller";
  const route = callRoute(call);
  const voicemail = call.outcome === "voicemail" ? call.voicemail : null;
  return (
    <li className="call" data-status={call.status} data-outcome={call.outcome ?? undefined}>
      <span className="call-from">{caller}</span>
      <span className="call-status">{CALL_STATUS_LABELS[call.status]}</span>
      {call.businessOpen === false ? <span className="call-after-hours">After hours</span> : null}
      {duration ? <span className="call-duration">{duration}</span> : null}
      <time dateTime={call.registeredAt}>{formatWhen(call.registeredAt)}</time>
      <a className="call-link" href={callHref(call.agentId, call.callSid)}>
        Details{" "}
        <span className="visually-hidden">
          of the call from {caller}, {formatWhen(call.registeredAt)}
        </span>
      </a>
      {route.length ? (
        <p className="call-route">
          <KeepNumbers text={route.map((step) => `${step}.`).join(" ")} />
        </p>
      ) : null}
      {/* recordingUrl says there is audio to play: the route it names is the one the player asks. */}
      {voicemail?.recordingUrl ? (
        <VoicemailPlayer
          client={client}
          agentId={call.agentId}
          callSid={call.callSid}
          caller={caller}
          length={formatClock(voicemail.durationSeconds)}
        />
      ) : voicemail ? (
        <p className="call-route hint">No recording of this voicemail.</p>
      ) : null}
      {call.summary ? <p className="call-summary">{call.summary}</p> : null}
    </li>
  );
}
