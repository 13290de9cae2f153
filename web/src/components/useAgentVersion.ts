import { useEffect, useRef, useState } from "react";
import { type Agent, type ApiClient, type ApiError, type UpdateAgentRequest, errorMessage } from "../api";

export type FieldError = NonNullable<ApiError["fields"]>[number];

interface Options {
  agent: Agent;
  client: ApiClient;
  /** The agent as the API now has it: after a save, or read again after someone else changed it. */
  onUpdated: (agent: Agent) => void;
  /** Fills the form from the agent as the API has it: when the form opens, and after a 412. */
  fill: (agent: Agent) => void;
}

/**
 * What a form that changes an agent in place shares: it reads the agent first for its `ETag` and
 * sends it as `If-Match`, so a change made elsewhere meanwhile is refused (412) rather than silently
 * overwritten; the form then shows the current values and says so.
 */
export function useAgentVersion({ agent, client, onUpdated, fill }: Options) {
  const [etag, setEtag] = useState<string | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  // A second click before the first answer would send the same ETag again: refused (412), it would
  // be reported as a change made elsewhere.
  const inFlight = useRef(false);

  const readAgent = () => client.GET("/api/agents/{agentId}", { params: { path: { agentId: agent.id } } });
  const reload = async (): Promise<boolean> => {
    let read: Awaited<ReturnType<typeof readAgent>>;
    try {
      read = await readAgent();
    } catch (failure) {
      setFormError(`Could not read ${agent.name}: ${errorMessage(failure)}`);
      return false;
    }
    const { data, error, response } = read;
    if (!data) {
      setFormError(`Could not read ${agent.name}: ${errorMessage(error, response)}`);
      return false;
    }
    fill(data);
    setEtag(response.headers.get("ETag"));
    onUpdated(data);
    return true;
  };

  // Read once, when the form opens: the list's copy may be stale and carries no ETag.
  useEffect(() => {
    void reload();
  }, []);

  /**
   * Sends `body` with If-Match; true once the API took it. A 400's `fields` go to `onFields`, which
   * shows those it has inputs for and answers the rest as one sentence (null: none left over).
   */
  const save = async (
    body: UpdateAgentRequest,
    onFields: (fields: FieldError[]) => string | null,
  ): Promise<boolean> => {
    if (inFlight.current || etag === null) return false;
    inFlight.current = true;
    setSaving(true);
    setFormError(null);
    try {
      const { data, error, response } = await client.PATCH("/api/agents/{agentId}", {
        params: { path: { agentId: agent.id }, header: { "If-Match": etag } },
        body,
      });
      if (data) {
        onUpdated(data);
        return true;
      }
      if (response.status === 412) {
        if (await reload()) {
          setFormError(
            `${agent.name} was changed elsewhere since this form opened: it shows the current values now. Make your change again and save.`,
          );
        }
      } else if (error && "fields" in error && error.fields?.length) {
        setFormError(onFields(error.fields) ?? "Please correct the fields marked below.");
      } else {
        setFormError(errorMessage(error, response));
      }
    } catch (failure) {
      setFormError(`The request did not complete: ${errorMessage(failure)}.`);
    } finally {
      inFlight.current = false;
      setSaving(false);
    }
    return false;
  };

  return { etag, saving, formError, save, inFlight };
}
