import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Call } from "../src/api";
import { formatDuration } from "../src/calls";
import { CALLS_PAGE_SIZE, RecentCalls } from "../src/components/RecentCalls";
import { agent } from "./agents";
import { fakeApi, json } from "./fakeApi";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function call(n: number, overrides: Partial<Call> = {}): Call {
  return {
    callSid: `CA${String(n).padStart(32, "0")}`,
    retellCallId: `call_${n}`,
    agentId: "agt_1",
    from: "+61298765432",
    to: "+61412345678",
    status: "ended",
    registeredAt: "2026-11-27T01:00:00Z",
    startedAt: "2026-11-27T01:00:01Z",
    endedAt: "2026-11-27T01:01:06Z",
    durationMs: 65_000,
    disconnectionReason: "user_hangup",
    summary: null,
    sentiment: null,
    outcome: "agent",
    businessOpen: null,
    transfer: null,
    forward: null,
    voicemail: null,
    ...overrides,
  };
}

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
