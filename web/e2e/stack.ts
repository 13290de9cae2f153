/** What the browser tests need of the local stack: its URLs, tokens, and the fakes' control surface. */
import { createHmac, randomBytes } from "node:crypto";
import type { components } from "../../openapi/types";

type Agent = components["schemas"]["Agent"];
type PostCallField = components["schemas"]["PostCallField"];

/** How the fake Retell plays a call out: what was said (`[role, text]`, role agent or user) and the
 * answers of its post-call analysis (by default one of the right type to each field). */
export interface CallScript {
  conversation?: [role: "agent" | "user", text: string][];
  answers?: Record<string, string | number | boolean>;
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: the global setup starts the local stack`);
  return value;
}

export const apiUrl = () => required("DASHBOARD_API_URL");

/** The page of `user`: the local API signs the dashboard in as that owner. */
export const dashboardUrl = (user: string, query = "") =>
  `${apiUrl()}/?user=${encodeURIComponent(user)}${query}`;

/** A fresh owner per test, so no test sees another's agents. */
export const uniqueUser = (label: string) => `${label}-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;

async function json<T>(response: Response): Promise<T> {
  if (!response.ok) throw new Error(`${response.url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

export async function tokenFor(user: string): Promise<string> {
  const config = await json<{ auth: { token: string } }>(
    await fetch(`${apiUrl()}/config.json?user=${encodeURIComponent(user)}`),
  );
  return config.auth.token;
}

/** Creates an agent through the API (not the page), as `user`. */
export async function createAgent(
  user: string,
  body: { name: string; description?: string; prompt: string; postCallFields?: PostCallField[] },
) {
  const response = await fetch(`${apiUrl()}/api/agents`, {
    method: "POST",
    headers: { Authorization: `Bearer ${await tokenFor(user)}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Agent & { step?: string } };
}

export interface OwnedNumber {
  sid: string;
  phone_number: string;
  friendly_name: string;
}

/** A call the fake Twilio played: where the caller got to. */
export interface PlayedCall {
  call_sid: string;
  state: string;
  reached: string | null;
}

/** A fake provider's `/__control` surface (local/fakes/server.py), from this process. */
export class FakeControl {
  constructor(private readonly baseUrl: string) {}

  private async send<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.baseUrl}/__control/${path}`, {
      method,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${method} /__control/${path}: ${response.status} ${await response.text()}`);
    const text = await response.text();
    return (text ? JSON.parse(text) : null) as T;
  }

  reset = () => this.send<null>("POST", "reset");
  clearFaults = () => this.send<null>("DELETE", "faults");
  calls = () => this.send<Record<string, number>>("GET", "calls");
  state = () => this.send<{ owned: Record<string, OwnedNumber> }>("GET", "state");

  /** Delays the next `times` requests of `operation`. */
  delay = (operation: string, delayMs: number, times = 1) =>
    this.send("POST", "faults", { operation, delay_ms: delayMs, times });

  /** Answers `status` (with the provider's `code`) to the next `times` requests (null: all), without acting. */
  fail = (operation: string, status: number, code?: number, times: number | null = 1) =>
    this.send("POST", "faults", { operation, status, code, times });

  /** The fake Retell's calls, by call_id. */
  retellState = () =>
    this.send<{ calls_registered: Record<string, { call_id: string; metadata?: Record<string, string> }> }>(
      "GET",
      "state",
    );

  /** Ends a call the fake Retell registered, `afterMs` after it started: it sends the call's events. */
  endCall = (callId: string, afterMs: number, script: CallScript = {}) =>
    this.send("POST", `calls/${encodeURIComponent(callId)}/end`, { after_ms: afterMs, ...script });

  /** The fake Twilio: how a dialled number answers (answered, no-answer, busy, failed). */
  setDialOutcome = (number: string, outcome: string) =>
    this.send("POST", "dial_outcomes", { number, outcome, talk_seconds: 30 });

  /** The fake Twilio plays a call to an owned number; its log once it is `wait` (settled: with the agent). */
  playCall = (from: string, to: string, wait: "settled" | "finished") =>
    this.send<PlayedCall>("POST", "calls/place", { from, to, wait, timeout_ms: 15_000 });

  waitForCall = (callSid: string) =>
    this.send<PlayedCall>("POST", `calls/${callSid}/wait`, { until: "finished", timeout_ms: 15_000 });

  /** The fake Retell: the call's agent calls its custom tool `name`. */
  invokeTool = (callId: string, name: string) =>
    this.send<{ status: number; body: string }>("POST", `calls/${encodeURIComponent(callId)}/tool`, { name, args: {} });

  async ownedNumbers(): Promise<OwnedNumber[]> {
    return Object.values((await this.state()).owned);
  }
}

export const twilio = () => new FakeControl(required("FAKE_TWILIO_URL"));
export const retell = () => new FakeControl(required("FAKE_RETELL_URL"));

/** Twilio's `X-Twilio-Signature`: HMAC-SHA1 of the URL followed by each parameter, sorted by name. */
function twilioSignature(url: string, params: Record<string, string>): string {
  const signed = Object.keys(params)
    .sort()
    .reduce((text, name) => text + name + params[name], url);
  return createHmac("sha1", required("FAKE_TWILIO_AUTH_TOKEN")).update(signed).digest("base64");
}

/**
 * A caller rings the agent's number and hangs up after `durationMs`: Twilio's signed webhook hands
 * the call to the fake Retell, which then sends the call's events (started, ended, analyzed) to the API.
 */
export async function placeCall(
  agent: Agent,
  caller: string,
  durationMs: number,
  script: CallScript = {},
): Promise<string> {
  const callSid = `CA${randomBytes(16).toString("hex")}`;
  const params = {
    CallSid: callSid,
    AccountSid: `AC${"0".repeat(32)}`,
    From: caller,
    To: agent.phoneNumber ?? "",
    CallStatus: "ringing",
    Direction: "inbound",
    ApiVersion: "2010-04-01",
  };
  const answered = await fetch(agent.webhookUrl ?? "", {
    method: "POST",
    headers: { "X-Twilio-Signature": twilioSignature(agent.webhookUrl ?? "", params) },
    body: new URLSearchParams(params),
  });
  if (!answered.ok) throw new Error(`Twilio webhook: ${answered.status} ${await answered.text()}`);
  const { calls_registered: registered } = await retell().retellState();
  const retellCall = Object.values(registered).find((call) => call.metadata?.twilio_call_sid === callSid);
  if (!retellCall) throw new Error(`the webhook registered no Retell call for ${callSid}`);
  await retell().endCall(retellCall.call_id, durationMs, script);
  return callSid;
}

/** Waits until the agent's newest call has Retell's summary: the last of its events has been taken. */
export async function callAnalysed(user: string, agentId: string, timeoutMs = 15_000): Promise<void> {
  const token = await tokenFor(user);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(`${apiUrl()}/api/agents/${agentId}/calls`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    const { items } = await json<{ items: { summary: string | null }[] }>(response);
    if (items[0]?.summary) return;
    if (Date.now() > deadline) throw new Error(`no analysed call for ${agentId} in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * A caller rings the agent's number, the fake Twilio plays the call (every <Dial> action included),
 * and the agent's transfer tool puts them through to its transfer number, which answers.
 */
export async function transferredCall(agent: Agent, caller: string, person: string): Promise<PlayedCall> {
  await twilio().setDialOutcome(person, "answered");
  const placed = await twilio().playCall(caller, agent.phoneNumber ?? "", "settled");
  if (placed.state !== "with_agent") throw new Error(`the call did not reach the agent: ${JSON.stringify(placed)}`);
  const { calls_registered: registered } = await retell().retellState();
  const retellCall = Object.values(registered).find((call) => call.metadata?.twilio_call_sid === placed.call_sid);
  if (!retellCall) throw new Error(`no Retell call for ${placed.call_sid}`);
  const tool = await retell().invokeTool(retellCall.call_id, "transfer_to_person");
  if (tool.status !== 200) throw new Error(`the transfer tool answered ${tool.status}: ${tool.body}`);
  return twilio().waitForCall(placed.call_sid);
}
