/** The API as the dashboard's client sees it over fetch: each test says what it answers, and reads what was sent. */
import { vi } from "vitest";
import { type ApiClient, apiClient } from "../src/api";

export interface Sent {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Headers;
  body: unknown;
}

type Answer = (sent: Sent) => Response | Promise<Response>;

export const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });

/** A client whose requests `answer` answers; `sent` lists them in order. */
export function fakeApi(answer: Answer): { client: ApiClient; sent: Sent[] } {
  const sent: Sent[] = [];
  const fetch = vi.fn(async (input: Request) => {
    const url = new URL(input.url);
    const text = await input.text();
    const request: Sent = {
      method: input.method,
      path: url.pathname,
      query: url.searchParams,
      headers: input.headers,
      body: text ? JSON.parse(text) : undefined,
    };
    sent.push(request);
    return answer(request);
  });
  vi.stubGlobal("fetch", fetch);
  return { client: apiClient("http://api.test", async () => "token"), sent };
}

/** The creates among `sent` (the create form also reads the numbers on offer). */
export const creates = (sent: Sent[]) => sent.filter((request) => request.method === "POST");
