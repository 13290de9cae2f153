import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Call } from "../src/api";
import { callRoute, formatClock, formatDuration } from "../src/calls";
import { CALLS_PAGE_SIZE, RecentCalls } from "../src/components/RecentCalls";
import { agent } from "./agents";
import { call } from "./calls";
import { fakeApi, json } from "./fakeApi";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

const open = () => fireEvent.click(screen.getByText("Recent calls"));

describe("formatDuration", () => {
  it.each([
    [65_000, "1 min 05 s"],
    [0, "0 s"],
    [45_400, "45 s"],
    [59_600, "1 min 00 s"], // rounded to the second, never "60 s"
    [600_000, "10 min 00 s"],
    [3_725_000, "1 h 02 min 05 s"],
    [null, null], // not ended yet
    [-1, null],
    [Number.NaN, null],
  ])("%s ms is %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe("RecentCalls", () => {
  it("asks for nothing until opened; then the last 10: caller, status, duration, when, summary", async () => {
    const { client, sent } = fakeApi(() =>
      json(200, {
        items: [
          call(2, { summary: "Booked a cleaning for Tuesday." }),
          call(1, { status: "ongoing", durationMs: null, endedAt: null, from: null }),
        ],
        nextCursor: null,
      }),
    );
    render(<RecentCalls agent={agent()} client={client} />);
    expect(sent).toEqual([]);

    open();
    const list = await screen.findByRole("list", { name: "Recent calls of Reception" });
    expect(sent.map((request) => [request.path, request.query.get("limit")])).toEqual([
      ["/api/agents/agt_1/calls", String(CALLS_PAGE_SIZE)],
    ]);
    const [ended, ongoing] = within(list).getAllByRole("listitem");
    expect(within(ended).getByText("+61 2 9876 5432")).toBeTruthy();
    expect(within(ended).getByText("Ended")).toBeTruthy();
    expect(within(ended).getByText("1 min 05 s")).toBeTruthy();
    expect(within(ended).getByText("Booked a cleaning for Tuesday.")).toBeTruthy();
    expect(ended.querySelector("time")?.getAttribute("dateTime")).toBe("2026-11-27T01:00:00Z");
    expect(within(ongoing).getByText("Unknown caller")).toBeTruthy();
    expect(within(ongoing).getByText("In progress")).toBeTruthy();
    expect(ongoing.querySelector(".call-duration, .call-summary")).toBeNull();
    expect(screen.queryByRole("button", { name: "Load more" })).toBeNull();

    // Closing and opening again does not fetch again.
    open();
    open();
    expect(sent).toHaveLength(1);
  });

  it("Load more follows nextCursor, appends, and shows a call already listed once", async () => {
    const { client, sent } = fakeApi((request) =>
      request.query.get("cursor") === "page-2"
        ? json(200, { items: [call(8), call(7)], nextCursor: null })
        : json(200, { items: [call(9), call(8)], nextCursor: "page-2" }),
    );
    render(<RecentCalls agent={agent()} client={client} />);
    open();
    const more = await screen.findByRole("button", { name: "Load more" });
    fireEvent.click(more);

    await vi.waitFor(() => expect(screen.queryByRole("button", { name: "Load more" })).toBeNull());
    expect(sent.map((request) => request.query.get("cursor"))).toEqual([null, "page-2"]);
    const items = within(screen.getByRole("list")).getAllByRole("listitem");
    expect(items).toHaveLength(3);
  });

  it("no calls: says so", async () => {
    const { client } = fakeApi(() => json(200, { items: [], nextCursor: null }));
    render(<RecentCalls agent={agent()} client={client} />);
    open();
    expect(await screen.findByText("No calls yet")).toBeTruthy();
    expect(screen.queryByRole("list")).toBeNull();
  });

  it("a failed read says why, as an alert", async () => {
    const { client } = fakeApi(() => json(503, { error: "database_unavailable", message: "MongoDB failed; retry" }));
    render(<RecentCalls agent={agent()} client={client} />);
    open();
    expect((await screen.findByRole("alert")).textContent).toBe("Could not load the calls: MongoDB failed; retry");
    expect(screen.queryByText("No calls yet")).toBeNull();
  });
});

describe("where each call went", () => {
  const leg = (to: string, answered: boolean | null, reason: string | null = null) => ({ to, answered, reason });
  // The call history's recordingUrl, and the route the player asks (the same: the API's own path).
  const RECORDING = `/api/agents/agt_1/calls/${call(1).callSid}/recording`;

  it.each<[string, Partial<Call>, string[]]>([
    ["the agent", { outcome: "agent" }, ["Answered by the agent"]],
    [
      "a transfer answered",
      { outcome: "person", transfer: leg("+61293744000", true, "transfer") },
      ["Answered by the agent", "Transferred to +61 2 9374 4000 — answered"],
    ],
    [
      "a transfer not answered, back to the agent",
      { outcome: "agent", transfer: leg("+61293744000", false) },
      ["Answered by the agent", "Transferred to +61 2 9374 4000 — not answered"],
    ],
    [
      "your phone first, answered",
      { outcome: "person", transfer: leg("+61293744000", true, "person_first") },
      ["Rang +61 2 9374 4000 first — answered"],
    ],
    [
      "your phone first, nobody picked up, then the agent",
      { outcome: "agent", transfer: leg("+61293744000", false, "person_first") },
      ["Rang +61 2 9374 4000 first — not answered", "Answered by the agent"],
    ],
    [
      "forwarded after hours",
      { outcome: "person", businessOpen: false, forward: leg("+61412345678", true, "after_hours") },
      ["Forwarded to +61 412 345 678 (after hours) — answered"],
    ],
    [
      "forwarded because the agent could not be reached, not answered, then voicemail",
      {
        outcome: "voicemail",
        forward: leg("+61412345678", false, "agent_unreachable"),
        voicemail: { durationSeconds: 42, recordingUrl: RECORDING, reason: "agent_unreachable" },
      },
      ["Forwarded to +61 412 345 678 (the agent could not be reached) — not answered", "Voicemail, 0:42"],
    ],
    [
      "forward reasons in words",
      { outcome: null, status: "ongoing", forward: leg("+61412345678", null, "agent_leg_failed") },
      ["Forwarded to +61 412 345 678 (the call to the agent failed) — ringing"],
    ],
    [
      "a reason the dashboard does not know yet, as it is",
      { outcome: "missed", forward: leg("+61412345678", null, "carrier_busy") },
      ["Forwarded to +61 412 345 678 (carrier busy)", "Missed"],
    ],
    [
      "voicemail after hours",
      { outcome: "voicemail", voicemail: { durationSeconds: 125, recordingUrl: RECORDING, reason: "after_hours" } },
      ["Voicemail, 2:05 (after hours)"],
    ],
    ["a message", { outcome: "message" }, ["Message played"]],
    ["missed", { outcome: "missed" }, ["Missed"]],
    ["in progress", { outcome: null, status: "ongoing" }, []],
  ])("%s", (_, overrides, steps) => {
    expect(callRoute(call(1, overrides))).toEqual(steps);
  });

  it.each([
    [42, "0:42"],
    [0, "0:00"],
    [600, "10:00"],
    [null, null],
  ])("%s s plays as %s", (seconds, clock) => {
    expect(formatClock(seconds)).toBe(clock);
  });

  it("the list shows each call's route and marks calls after hours", async () => {
    const { client } = fakeApi(() =>
      json(200, {
        items: [
          call(3, { outcome: "message", businessOpen: false }),
          call(2, { outcome: "person", businessOpen: true, transfer: leg("+61293744000", true) }),
          call(1, { outcome: "missed", businessOpen: null }),
        ],
        nextCursor: null,
      }),
    );
    render(<RecentCalls agent={agent()} client={client} />);
    open();
    const [message, transferred, missed] = within(await screen.findByRole("list")).getAllByRole("listitem");
    expect(within(message).getByText("After hours")).toBeTruthy();
    expect(message.querySelector(".call-route")?.textContent).toBe("Message played.");
    expect(transferred.querySelector(".call-route")?.textContent).toBe(
      "Answered by the agent. Transferred to +61 2 9374 4000 — answered.",
    );
    expect(within(transferred).queryByText("After hours")).toBeNull();
    expect(missed.querySelector(".call-route")?.textContent).toBe("Missed.");
    expect(within(missed).queryByText("After hours")).toBeNull();
  });

  function voicemailApi(recording: (sent: import("./fakeApi").Sent) => Response | Promise<Response>) {
    return fakeApi((sent) =>
      sent.path === RECORDING
        ? recording(sent)
        : json(200, {
            items: [
              call(1, {
                outcome: "voicemail",
                voicemail: { durationSeconds: 42, recordingUrl: RECORDING, reason: "agent_unreachable" },
              }),
            ],
            nextCursor: null,
          }),
    );
  }

  it("a voicemail plays from a blob fetched with the API's Authorization, in a labelled audio player", async () => {
    const createObjectURL = vi.fn((_: Blob) => "blob:http://dashboard.test/voicemail-1");
    const revokeObjectURL = vi.fn();
    Object.assign(URL, { createObjectURL, revokeObjectURL });
    // The bytes themselves (jsdom's Blob is not one Node's Response can send).
    const audio = new Uint8Array([0xff, 0xfb, 0x90, 0x00]);
    const { client, sent } = voicemailApi(
      () => new Response(audio, { status: 200, headers: { "Content-Type": "audio/mpeg" } }),
    );
    const { unmount } = render(<RecentCalls agent={agent()} client={client} />);
    open();
    const item = within(await screen.findByRole("list")).getByRole("listitem");
    expect(item.querySelector(".call-route")?.textContent).toBe("Voicemail, 0:42 (the agent could not be reached).");
    // Nothing is fetched until asked for.
    expect(sent.filter((request) => request.path === RECORDING)).toEqual([]);

    fireEvent.click(within(item).getByRole("button", { name: "Play voicemail from +61 2 9876 5432, 0:42" }));
    const player = await waitFor(() => {
      const element = item.querySelector("audio");
      if (!element) throw new Error("no player yet");
      return element;
    });
    const [fetched] = sent.filter((request) => request.path === RECORDING);
    expect(fetched.method).toBe("GET");
    expect(fetched.headers.get("Authorization")).toBe("Bearer token");
    expect(player.getAttribute("src")).toBe("blob:http://dashboard.test/voicemail-1");
    expect(player.hasAttribute("controls")).toBe(true);
    expect(player.getAttribute("aria-label")).toBe("Voicemail from +61 2 9876 5432, 0:42");
    expect((await createObjectURL.mock.calls[0][0].arrayBuffer()).byteLength).toBe(4);
    expect(document.activeElement).toBe(player);
    unmount();
    expect(revokeObjectURL).toHaveBeenCalledWith("blob:http://dashboard.test/voicemail-1");
  });

  it.each<[string, () => Response, string]>([
    [
      "the route is not there yet (API Gateway's 404)",
      () => json(404, { message: "Not Found" }),
      "Could not load the voicemail: Not Found",
    ],
    [
      "the API's error",
      () => json(503, { error: "database_unavailable", message: "the database is unavailable; retry shortly" }),
      "Could not load the voicemail: the database is unavailable; retry shortly",
    ],
    [
      "an answer without a body",
      () => new Response("", { status: 502, statusText: "Bad Gateway" }),
      "Could not load the voicemail: The API answered 502 Bad Gateway",
    ],
    [
      "something that is not audio",
      () => new Response("<html></html>", { status: 200, headers: { "Content-Type": "text/html" } }),
      "Could not load the voicemail: the API answered text/html, not audio",
    ],
    [
      "no answer at all",
      () => {
        throw new TypeError("Failed to fetch");
      },
      "Could not load the voicemail: Failed to fetch",
    ],
  ])("a voicemail that cannot be fetched (%s) says so, and can be tried again", async (_, answer, message) => {
    const { client, sent } = voicemailApi(answer);
    render(<RecentCalls agent={agent()} client={client} />);
    open();
    const item = within(await screen.findByRole("list")).getByRole("listitem");
    fireEvent.click(within(item).getByRole("button", { name: /^Play voicemail/ }));
    expect((await within(item).findByRole("alert")).textContent).toBe(message);
    expect(item.querySelector("audio")).toBeNull();
    fireEvent.click(within(item).getByRole("button", { name: "Try again to play voicemail from +61 2 9876 5432, 0:42" }));
    await waitFor(() => expect(sent.filter((request) => request.path === RECORDING)).toHaveLength(2));
  });

  it("a voicemail without a recording says so and offers no player", async () => {
    const { client } = fakeApi(() =>
      json(200, {
        items: [call(1, { outcome: "voicemail", voicemail: { durationSeconds: null, recordingUrl: null, reason: null } })],
        nextCursor: null,
      }),
    );
    render(<RecentCalls agent={agent()} client={client} />);
    open();
    const item = within(await screen.findByRole("list")).getByRole("listitem");
    expect(within(item).getByText("Voicemail.")).toBeTruthy();
    expect(within(item).getByText("No recording of this voicemail.")).toBeTruthy();
    expect(within(item).queryByRole("button")).toBeNull();
  });
});
