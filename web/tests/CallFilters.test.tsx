import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { NO_FILTERS, callQuery, csvFileName } from "../src/callFilters";
import { RecentCalls } from "../src/components/RecentCalls";
import { agent } from "./agents";
import { call } from "./calls";
import { fakeApi, json } from "./fakeApi";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

const withFields = agent({
  postCallFields: [
    { name: "appointment_booked", type: "boolean", description: "Booked?" },
    { name: "reason", type: "enum", description: "Why", choices: ["booking", "billing"] },
    { name: "party_size", type: "number", description: "How many" },
  ],
});

describe("callQuery", () => {
  it("sends only the filters set", () => {
    expect(callQuery(NO_FILTERS, "Australia/Sydney")).toEqual({});
  });

  it("days in the browser's time zone, the caller in E.164, a field's answer as name:value", () => {
    expect(
      callQuery(
        {
          status: "ended",
          from: "2026-11-01",
          to: "2026-11-30",
          caller: "+61 2 9876 5432",
          fieldName: "reason",
          fieldValue: " billing ",
        },
        "Australia/Sydney",
      ),
    ).toEqual({
      status: "ended",
      from: "2026-11-01",
      to: "2026-11-30",
      timezone: "Australia/Sydney",
      caller: "+61298765432",
      field: "reason:billing",
    });
    // A field without an answer is no filter; a number that does not parse is sent as typed.
    expect(callQuery({ ...NO_FILTERS, fieldName: "reason", caller: "12" }, "UTC")).toEqual({ caller: "12" });
  });

  it("names the CSV after the agent and the days", () => {
    expect(csvFileName("Front desk!", { ...NO_FILTERS, from: "2026-11-01" })).toBe("calls-front-desk-2026-11-01-to-now.csv");
    expect(csvFileName("Reception", NO_FILTERS, new Date("2026-12-03T10:00:00Z"))).toBe("calls-reception-2026-12-03.csv");
  });
});

function openFilters() {
  fireEvent.click(screen.getByText("Recent calls"));
  fireEvent.click(screen.getByText("Filter and download"));
  return screen.getByRole("search", { name: "Filter the calls" });
}

describe("the history's filters", () => {
  it("build the query of the first page and of Load more; Clear asks for all again", async () => {
    const { client, sent } = fakeApi((request) =>
      request.query.get("cursor")
        ? json(200, { items: [call(1)], nextCursor: null })
        : json(200, { items: [call(2)], nextCursor: request.query.get("status") ? "page-2" : null }),
    );
    render(<RecentCalls agent={withFields} client={client} />);
    const form = openFilters();
    await waitFor(() => expect(sent).toHaveLength(1));

    fireEvent.change(within(form).getByLabelText("Status"), { target: { value: "ended" } });
    fireEvent.change(within(form).getByLabelText("From (day)"), { target: { value: "2026-11-01" } });
    fireEvent.change(within(form).getByLabelText("To (day)"), { target: { value: "2026-11-30" } });
    fireEvent.change(within(form).getByLabelText("Caller's number"), { target: { value: "+61 2 9876 5432" } });
    fireEvent.change(within(form).getByLabelText("Answer to"), { target: { value: "appointment_booked" } });
    fireEvent.change(within(form).getByLabelText("Is"), { target: { value: "true" } });
    fireEvent.click(within(form).getByRole("button", { name: "Show calls" }));

    await waitFor(() => expect(sent).toHaveLength(2));
    const query = sent[1].query;
    expect(Object.fromEntries(query)).toEqual({
      limit: "10",
      status: "ended",
      from: "2026-11-01",
      to: "2026-11-30",
      timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
      caller: "+61298765432",
      field: "appointment_booked:true",
    });
    fireEvent.click(await screen.findByRole("button", { name: "Load more" }));
    await waitFor(() => expect(sent).toHaveLength(3));
    expect(sent[2].query.get("cursor")).toBe("page-2");
    expect(sent[2].query.get("field")).toBe("appointment_booked:true");

    fireEvent.click(within(form).getByRole("button", { name: "Clear" }));
    await waitFor(() => expect(sent).toHaveLength(4));
    expect(Object.fromEntries(sent[3].query)).toEqual({ limit: "10" });
    expect(within(form).getByLabelText("Status")).toHaveProperty("value", "");
  });

  it("an enum's answer is picked from its choices; a number's is typed", async () => {
    const { client } = fakeApi(() => json(200, { items: [], nextCursor: null }));
    render(<RecentCalls agent={withFields} client={client} />);
    const form = openFilters();
    fireEvent.change(within(form).getByLabelText("Answer to"), { target: { value: "reason" } });
    const choices = [...(within(form).getByLabelText("Is") as HTMLSelectElement).options].map((o) => o.value);
    expect(choices).toEqual(["", "booking", "billing"]);
    fireEvent.change(within(form).getByLabelText("Answer to"), { target: { value: "party_size" } });
    expect(within(form).getByLabelText("Is").getAttribute("type")).toBe("number");
  });

  it("no questions asked: no answer filter; nothing found says so", async () => {
    const { client } = fakeApi(() => json(200, { items: [], nextCursor: null }));
    render(<RecentCalls agent={agent()} client={client} />);
    const form = openFilters();
    expect(within(form).queryByLabelText("Answer to")).toBeNull();
    fireEvent.change(within(form).getByLabelText("Status"), { target: { value: "not_connected" } });
    fireEvent.click(within(form).getByRole("button", { name: "Show calls" }));
    expect(await screen.findByText("No calls match")).toBeTruthy();
  });

  it("a filter the API refuses (400) is said at the filters, as an alert", async () => {
    const { client } = fakeApi((request) =>
      request.query.get("from")
        ? json(400, { error: "validation_error", message: "from is after to", requestId: "r" })
        : json(200, { items: [call(1)], nextCursor: null }),
    );
    render(<RecentCalls agent={agent()} client={client} />);
    const form = openFilters();
    await screen.findByRole("list", { name: "Recent calls of Reception" });
    fireEvent.change(within(form).getByLabelText("From (day)"), { target: { value: "2026-12-01" } });
    fireEvent.change(within(form).getByLabelText("To (day)"), { target: { value: "2026-11-01" } });
    fireEvent.click(within(form).getByRole("button", { name: "Show calls" }));
    expect((await within(form).findByRole("alert")).textContent).toBe("from is after to");
    expect(within(screen.getByRole("list", { name: "Recent calls of Reception" })).getAllByRole("listitem")).toHaveLength(1);
  });
});

describe("the CSV download", () => {
  it("asks for CSV with the filters in force, and saves it from a blob link named after the agent", async () => {
    const createObjectURL = vi.fn((_: Blob) => "blob:http://dashboard.test/calls-1");
    Object.assign(URL, { createObjectURL, revokeObjectURL: vi.fn() });
    const click = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(() => undefined);
    const { client, sent } = fakeApi((request) =>
      request.query.get("format") === "csv"
        ? new Response("callSid,from\nCA1,+61298765432\n", {
            status: 200,
            headers: { "Content-Type": "text/csv", "X-Next-Cursor": "csv-2" },
          })
        : json(200, { items: [], nextCursor: null }),
    );
    render(<RecentCalls agent={agent()} client={client} />);
    const form = openFilters();
    fireEvent.change(within(form).getByLabelText("Status"), { target: { value: "ended" } });
    fireEvent.click(within(form).getByRole("button", { name: "Show calls" }));
    fireEvent.click(screen.getByRole("button", { name: "Download CSV" }));

    const link = await screen.findByRole("link", { name: /^calls-reception-.*\.csv$/ });
    const csv = sent.find((request) => request.query.get("format") === "csv");
    expect(csv?.headers.get("Accept")).toBe("text/csv");
    expect(csv?.query.get("status")).toBe("ended");
    expect(link.getAttribute("href")).toBe("blob:http://dashboard.test/calls-1");
    expect(link.hasAttribute("download")).toBe(true);
    expect(click).toHaveBeenCalledTimes(1);
    expect(await createObjectURL.mock.calls[0][0].text()).toBe("callSid,from\nCA1,+61298765432\n");
    // More than a CSV holds: the next part follows X-Next-Cursor.
    expect(screen.getByText(/the first 1,000 calls/)).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Download the next 1,000" }));
    await waitFor(() => expect(sent.filter((request) => request.query.get("cursor") === "csv-2")).toHaveLength(1));
  });

  it("a failed download says why", async () => {
    const { client } = fakeApi((request) =>
      request.query.get("format") === "csv"
        ? json(503, { error: "database_unavailable", message: "MongoDB failed; retry" })
        : json(200, { items: [], nextCursor: null }),
    );
    render(<RecentCalls agent={agent()} client={client} />);
    openFilters();
    fireEvent.click(screen.getByRole("button", { name: "Download CSV" }));
    expect((await screen.findByRole("alert")).textContent).toBe("Could not download the calls: MongoDB failed; retry");
  });
});
