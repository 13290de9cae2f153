import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Usage, UsageDay } from "../src/api";
import { AgentUsage } from "../src/components/AgentUsage";
import { UsageChart } from "../src/components/UsageChart";
import { browserTimeZone } from "../src/hours";
import { formatCents } from "../src/money";
import { formatDay, lastDays } from "../src/usage";
import { agent } from "./agents";
import { fakeApi, json } from "./fakeApi";

// The canvas is chart.js's (jsdom draws nothing): what it is given is what the test reads.
const charts: { data: { labels: string[]; datasets: { label: string; data: number[] }[] }; props: Record<string, unknown> }[] = [];
vi.mock("react-chartjs-2", () => ({
  Chart: (props: { data: (typeof charts)[number]["data"] } & Record<string, unknown>) => {
    charts.push({ data: props.data, props });
    return <canvas role={props.role as string} aria-label={props["aria-label"] as string} />;
  },
}));

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  charts.length = 0;
});

const amounts = { seconds: 0, retellCents: 0, twilioCents: 0, numberCents: 3, unpricedCalls: 0 };
const day = (date: string, calls: number, minutes: number, totalCents: number): UsageDay => ({
  ...amounts,
  date,
  calls,
  minutes,
  totalCents,
});
const DAYS = [day("2026-12-01", 2, 3, 45), day("2026-12-02", 0, 0, 3), day("2026-12-03", 5, 12, 1210)];
const USAGE: Usage = {
  agentId: "agt_1",
  timezone: "Australia/Sydney",
  from: "2026-12-01",
  to: "2026-12-03",
  currency: "USD",
  days: DAYS,
  total: { calls: 7, seconds: 800, minutes: 15, retellCents: 900, twilioCents: 349, numberCents: 9, totalCents: 1258, unpricedCalls: 1 },
};

describe("lastDays", () => {
  it("ends today in the time zone, the first day included", () => {
    // 3 Dec 2026 13:30 UTC is already 4 Dec in Sydney.
    const now = new Date("2026-12-03T13:30:00Z");
    expect(lastDays(7, "Australia/Sydney", now)).toEqual({ from: "2026-11-28", to: "2026-12-04" });
    expect(lastDays(30, "UTC", now)).toEqual({ from: "2026-11-04", to: "2026-12-03" });
  });
});

describe("UsageChart", () => {
  it("draws calls as bars and minutes as a line, one label a day", () => {
    render(<UsageChart title="Usage of Reception" days={DAYS} currency="USD" />);
    const [{ data }] = charts;
    expect(data.labels).toEqual(DAYS.map((each) => formatDay(each.date)));
    expect(data.datasets.map((set) => [set.label, set.data])).toEqual([
      ["Calls", [2, 0, 5]],
      ["Minutes", [3, 0, 12]],
    ]);
    expect(screen.getByRole("img", { name: /^Usage of Reception: calls and minutes per day/ })).toBeTruthy();
  });

  it("the same numbers in a table for screen readers: hidden from sight until shown", () => {
    render(<UsageChart title="Usage of Reception" days={DAYS} currency="USD" />);
    const table = screen.getByRole("table", { name: "Usage of Reception: per day" });
    expect(table.parentElement?.classList.contains("visually-hidden")).toBe(true);
    const rows = within(table).getAllByRole("row").map((row) => [...row.children].map((cell) => cell.textContent));
    expect(rows).toEqual([
      ["Day", "Calls", "Minutes", "Cost"],
      [formatDay("2026-12-01"), "2", "3", formatCents(45)],
      [formatDay("2026-12-02"), "0", "0", formatCents(3)],
      [formatDay("2026-12-03"), "5", "12", formatCents(1210)],
    ]);
    expect(within(table).getAllByRole("rowheader")).toHaveLength(3);

    const toggle = screen.getByRole("button", { name: "Show as a table" });
    expect(toggle.getAttribute("aria-expanded")).toBe("false");
    expect(toggle.getAttribute("aria-controls")).toBe(table.id);
    fireEvent.click(toggle);
    expect(table.parentElement?.classList.contains("visually-hidden")).toBe(false);
    expect(screen.getByRole("button", { name: "Hide the table" }).getAttribute("aria-expanded")).toBe("true");
  });
});

describe("AgentUsage", () => {
  it("asks for nothing until opened; then the last 30 days in the browser's time zone, with the period's cost", async () => {
    const { client, sent } = fakeApi(() => json(200, USAGE));
    render(<AgentUsage agent={agent()} client={client} />);
    expect(sent).toEqual([]);
    fireEvent.click(screen.getByText("Usage and costs"));
    await screen.findByRole("table");
    const timezone = browserTimeZone();
    expect(sent[0].path).toBe("/api/agents/agt_1/usage");
    expect(Object.fromEntries(sent[0].query)).toEqual({ ...lastDays(30, timezone), timezone });
    const totals = document.querySelector(".usage-total");
    expect(totals?.textContent).toContain(formatCents(1258));
    expect(totals?.textContent).toContain(`Retell ${formatCents(900)}, Twilio calls ${formatCents(349)}, number ${formatCents(9)}`);
    expect(screen.getByText(/1 call has no Twilio price yet/)).toBeTruthy();

    fireEvent.change(screen.getByLabelText("Period"), { target: { value: "7" } });
    await waitFor(() => expect(sent).toHaveLength(2));
    expect(sent[1].query.get("from")).toBe(lastDays(7, timezone).from);
  });

  it("a failed read says why", async () => {
    const { client } = fakeApi(() => json(400, { error: "validation_error", message: "more than 92 days", requestId: "r" }));
    render(<AgentUsage agent={agent()} client={client} />);
    fireEvent.click(screen.getByText("Usage and costs"));
    expect((await screen.findByRole("alert")).textContent).toBe("Could not load the usage: more than 92 days");
  });
});
