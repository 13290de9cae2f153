import { useEffect, useState } from "react";
import { type ApiClient, errorMessage } from "../api";
import { type CallFilters, callQuery, csvFileName } from "../callFilters";

interface Props {
  client: ApiClient;
  agentId: string;
  /** Names the file: calls-<label>-<days>.csv */
  label: string;
  filters: CallFilters;
}

type State =
  | { kind: "idle" }
  | { kind: "loading" }
  | { kind: "ready"; href: string; name: string; more: string | null }
  | { kind: "failed"; message: string };

/**
 * The calls the filters find, as CSV: fetched through the API client (an <a href> could not carry the
 * token), then saved from a blob URL. A CSV holds at most 1,000 calls: when more match, the API's
 * X-Next-Cursor is offered as the next part.
 */
export function CsvDownload({ client, agentId, label, filters }: Props) {
  const [state, setState] = useState<State>({ kind: "idle" });
  const href = state.kind === "ready" ? state.href : null;
  useEffect(() => () => (href ? URL.revokeObjectURL(href) : undefined), [href]);
  // Other filters: another file.
  useEffect(() => setState({ kind: "idle" }), [filters]);

  const download = async (cursor?: string) => {
    setState({ kind: "loading" });
    try {
      const { data, error, response } = await client.GET("/api/agents/{agentId}/calls", {
        params: { path: { agentId }, query: { ...callQuery(filters), format: "csv", cursor } },
        headers: { Accept: "text/csv" },
        parseAs: "blob",
      });
      if (!data) {
        setState({ kind: "failed", message: errorMessage(error, response) });
        return;
      }
      const part = cursor ? "-next" : "";
      const name = csvFileName(label, filters).replace(/\.csv$/, `${part}.csv`);
      const url = URL.createObjectURL(data);
      setState({ kind: "ready", href: url, name, more: response.headers.get("X-Next-Cursor") });
      // Saved at once, as a download link does; the link stays for a browser that blocked it.
      const link = document.createElement("a");
      link.href = url;
      link.download = name;
      link.click();
    } catch (problem) {
      setState({ kind: "failed", message: errorMessage(problem) });
    }
  };

  return (
    <div className="csv">
      <button type="button" className="secondary" disabled={state.kind === "loading"} onClick={() => void download()}>
        {state.kind === "loading" ? "Preparing the CSV…" : "Download CSV"}
      </button>
      <span role="status">
        {state.kind === "ready" ? (
          <>
            Saved <a href={state.href} download={state.name}>{state.name}</a>
            {state.more ? ": the first 1,000 calls. " : "."}
          </>
        ) : null}
      </span>
      {state.kind === "ready" && state.more ? (
        <button type="button" className="link" onClick={() => void download(state.more ?? undefined)}>
          Download the next 1,000
        </button>
      ) : null}
      {state.kind === "failed" ? (
        <p className="form-error" role="alert">
          Could not download the calls: {state.message}
        </p>
      ) : null}
    </div>
  );
}
