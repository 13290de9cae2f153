import { useCallback, useEffect, useRef, useState } from "react";
import { type Agent, type ApiClient, errorMessage } from "../api";
import { usePage } from "../pages";
import { CallPage } from "./CallPage";
import { ConfirmDelete } from "./ConfirmDelete";
import { CreateAgentForm } from "./CreateAgentForm";
import { NotificationSettings } from "./NotificationSettings";
import { VoiceAgentCard } from "./VoiceAgentCard";

interface Props {
  client: ApiClient;
  user: string;
  onSignOut?: () => void;
  pageSize?: number;
}

/** How often agents that are changing (being set up or deleted) are fetched again. */
export const POLL_MS = 1000;

const newestFirst = (a: Agent, b: Agent) => b.createdAt.localeCompare(a.createdAt);

/** The first page again, keeping the later pages already loaded (those older than its last item). */
function mergeFirstPage(current: Agent[], firstPage: Agent[], nextCursor: string | null): Agent[] {
  if (nextCursor === null) return firstPage;
  const oldest = firstPage.at(-1)?.createdAt ?? "";
  const fresh = new Set(firstPage.map((agent) => agent.id));
  const later = current.filter((agent) => !fresh.has(agent.id) && agent.createdAt < oldest);
  return [...firstPage, ...later].sort(newestFirst);
}

export function App({ client, user, onSignOut, pageSize = 20 }: Props) {
  const page = usePage();
  return (
    <>
      <header className="top">
        <h1>Voice agents</h1>
        <p className="who">
          Signed in as <strong>{user}</strong>
          {onSignOut ? (
            <button type="button" className="link" onClick={onSignOut}>
              Sign out
            </button>
          ) : null}
        </p>
      </header>
      {page.kind === "call" ? (
        <main className="page">
          <CallPage key={`${page.agentId}/${page.callSid}`} client={client} agentId={page.agentId} callSid={page.callSid} />
        </main>
      ) : (
        <Agents client={client} pageSize={pageSize} />
      )}
    </>
  );
}

/** The home page: the create form, the owner's settings, and the agents' cards. */
function Agents({ client, pageSize }: { client: ApiClient; pageSize: number }) {
  const [agents, setAgents] = useState<Agent[]>([]);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [confirming, setConfirming] = useState<Agent | null>(null);
  // Once a later page is loaded, its cursor (not the first page's) is where "Load more" goes on.
  const loadedLaterPages = useRef(false);

  const refresh = useCallback(async () => {
    const { data, error: failure, response } = await client.GET("/api/agents", {
      params: { query: { limit: pageSize } },
    });
    if (!data) {
      setError(errorMessage(failure, response));
      return;
    }
    setError(null);
    setAgents((current) => mergeFirstPage(current, data.items, data.nextCursor));
    if (!loadedLaterPages.current) setNextCursor(data.nextCursor);
    setLoaded(true);
  }, [client, pageSize]);

  const loadMore = async () => {
    if (!nextCursor) return;
    const { data, error: failure, response } = await client.GET("/api/agents", {
      params: { query: { limit: pageSize, cursor: nextCursor } },
    });
    if (!data) {
      setError(errorMessage(failure, response));
      return;
    }
    loadedLaterPages.current = true;
    setAgents((current) => {
      const known = new Set(current.map((agent) => agent.id));
      return [...current, ...data.items.filter((agent) => !known.has(agent.id))];
    });
    setNextCursor(data.nextCursor);
  };

  useEffect(() => {
    void refresh();
  }, [refresh]);

  // A create answers only when it is done: meanwhile the list shows its record being set up.
  useEffect(() => {
    if (!creating) return;
    const timer = window.setInterval(() => void refresh(), POLL_MS);
    return () => window.clearInterval(timer);
  }, [creating, refresh]);

  // Agents being set up or deleted are fetched again until they settle (or are gone).
  const changing = agents
    .filter((agent) => agent.status === "provisioning" || agent.status === "deleting")
    .map((agent) => agent.id)
    .join(",");
  useEffect(() => {
    if (!changing || creating) return;
    const timer = window.setInterval(async () => {
      for (const id of changing.split(",")) {
        const { data, response } = await client.GET("/api/agents/{agentId}", {
          params: { path: { agentId: id } },
        });
        if (data) setAgents((current) => current.map((agent) => (agent.id === id ? data : agent)));
        else if (response.status === 404) setAgents((current) => current.filter((agent) => agent.id !== id));
      }
    }, POLL_MS);
    return () => window.clearInterval(timer);
  }, [changing, creating, client]);

  const replace = useCallback((updated: Agent) => {
    setAgents((current) => current.map((agent) => (agent.id === updated.id ? updated : agent)));
  }, []);

  const remove = async (agent: Agent) => {
    setConfirming(null);
    setAgents((current) =>
      current.map((each) => (each.id === agent.id ? { ...each, status: "deleting" } : each)),
    );
    const { data, error: failure, response } = await client.DELETE("/api/agents/{agentId}", {
      params: { path: { agentId: agent.id } },
    });
    if (data?.status === "deleted") {
      setAgents((current) => current.filter((each) => each.id !== agent.id));
    } else if (!data) {
      setError(`Could not delete ${agent.name}: ${errorMessage(failure, response)}`);
      await refresh();
    }
    // 202 "deleting": the card stays and is polled until the reconciler finishes.
  };

  return (
    <>
      <main>
        <div className="side">
          <CreateAgentForm
            client={client}
            onStarted={() => setCreating(true)}
            onFinished={() => {
              setCreating(false);
              void refresh();
            }}
          />
          <NotificationSettings client={client} />
        </div>
        <section className="agents" aria-labelledby="agents-title">
          <h2 id="agents-title">Your agents</h2>
          {error ? (
            <p className="form-error" role="alert">
              {error}
            </p>
          ) : null}
          {loaded && agents.length === 0 ? <p className="empty">No agents yet: create one.</p> : null}
          {!loaded && !error ? <p>Loading…</p> : null}
          <ul className="cards" aria-live="polite">
            {agents.map((agent) => (
              <li key={agent.id}>
                <VoiceAgentCard agent={agent} onDelete={setConfirming} client={client} onUpdated={replace} />
              </li>
            ))}
          </ul>
          {nextCursor ? (
            <button type="button" className="more" onClick={loadMore}>
              Load more
            </button>
          ) : null}
        </section>
      </main>
      {confirming ? (
        <ConfirmDelete
          agent={confirming}
          onConfirm={() => void remove(confirming)}
          onCancel={() => setConfirming(null)}
        />
      ) : null}
    </>
  );
}
