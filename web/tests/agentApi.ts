/** One agent behind a faked API, as the card's forms read and change it (GET with an ETag, PATCH with If-Match). */
import type { Agent } from "../src/api";
import { type Sent, fakeApi, json } from "./fakeApi";

export const patches = (sent: Sent[]) => sent.filter((request) => request.method === "PATCH");

/** An API holding one agent at version `v<n>`; PATCH answers what `patch` says (by default: applies it). */
export function agentApi(stored: Agent, patch?: (sent: Sent) => Response | undefined) {
  let version = 1;
  let current = stored;
  const api = fakeApi((sent) => {
    if (sent.method === "GET" && sent.path === `/api/agents/${stored.id}`) {
      return json(200, current, { ETag: `"v${version}"` });
    }
    if (sent.method === "PATCH") {
      const answer = patch?.(sent);
      if (answer) return answer;
      current = { ...current, ...(sent.body as Partial<Agent>) };
      version += 1;
      return json(200, current, { ETag: `"v${version}"` });
    }
    return json(404, { error: "not_found", message: "no such route" });
  });
  return {
    ...api,
    /** Someone else's change, behind the form's back. */
    changeElsewhere: (change: Partial<Agent>) => {
      current = { ...current, ...change };
      version += 1;
    },
  };
}
