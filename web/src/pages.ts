import { useEffect, useState } from "react";

/** Where the dashboard is: the agents (home) or one call's page. The hash carries it, so the page
 * works from any static host and `?user=` (the local API's) stays in the query. */
export type Page = { kind: "home" } | { kind: "call"; agentId: string; callSid: string };

const CALL = /^#\/agents\/([^/]+)\/calls\/([^/]+)$/;

export function pageOf(hash: string): Page {
  const call = CALL.exec(hash);
  if (call) {
    try {
      return { kind: "call", agentId: decodeURIComponent(call[1]), callSid: decodeURIComponent(call[2]) };
    } catch {
      return { kind: "home" };
    }
  }
  return { kind: "home" };
}

export const callHref = (agentId: string, callSid: string) =>
  `#/agents/${encodeURIComponent(agentId)}/calls/${encodeURIComponent(callSid)}`;

export const HOME_HREF = "#/";

/** The page the location's hash names, following the browser's back and forward buttons. */
export function usePage(): Page {
  const [page, setPage] = useState(() => pageOf(window.location.hash));
  useEffect(() => {
    const follow = () => setPage(pageOf(window.location.hash));
    window.addEventListener("hashchange", follow);
    return () => window.removeEventListener("hashchange", follow);
  }, []);
  return page;
}
