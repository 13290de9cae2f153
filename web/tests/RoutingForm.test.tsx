import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { useState } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Agent, ApiClient } from "../src/api";
import { RoutingSummary } from "../src/components/CallsGoTo";
import { RingSecondsError, routingChanges, routingValuesOf } from "../src/components/RoutingForm";
import { VoiceAgentCard } from "../src/components/VoiceAgentCard";
import type { Hours } from "../src/hours";
import { formatDate } from "../src/routing";
import { agentApi, patches } from "./agentApi";
import { agent } from "./agents";
import { json } from "./fakeApi";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function Listed({ initial, client }: { initial: Agent; client: ApiClient }) {
  const [shown, setShown] = useState(initial);
  return <VoiceAgentCard agent={shown} client={client} onUpdated={setShown} onDelete={() => undefined} />;
}

const card = () => screen.getByRole("article");
const section = () => within(card()).getByRole("region", { name: "Calls go to" });
const FORM = "Where calls to Reception go";
/** The summary's words (its numbers are spans of their own, kept on one line). */
const summary = () => section().querySelector(".routing-summary")?.textContent;

const OFFICE: Hours = {
  timezone: "Australia/Sydney",
  weekly: {
    mon: [["09:00", "17:00"]],
    tue: [["09:00", "12:00"], ["13:00", "17:00"]],
    wed: [["09:00", "17:00"]],
    thu: [["09:00", "17:00"]],
    fri: [["09:00", "17:00"]],
    sat: [],
    sun: [],
  },
  closedDates: ["2026-12-25"],
  afterHours: "agent",
};

async function openRouting() {
  fireEvent.click(within(card()).getByRole("button", { name: "Change where calls to Reception go" }));
  const form = await within(card()).findByRole("form", { name: FORM });
  await waitFor(() => expect(within(form).getByRole("button", { name: "Save" })).toHaveProperty("disabled", false));
  return form;
}

const save = (form: HTMLElement) => fireEvent.click(within(form).getByRole("button", { name: "Save" }));
const change = (element: HTMLElement, value: string) => fireEvent.change(element, { target: { value } });
/** The text of the element's accessible description (its hint and error, as aria-describedby lists them). */
const description = (element: HTMLElement) =>
  (element.getAttribute("aria-describedby") ?? "")
    .split(" ")
    .map((id) => document.getElementById(id)?.textContent ?? "")
    .join(" ");

describe("Calls go to, on the card", () => {
  it("says where calls go in plain words; an agent that is not active says nothing of it", () => {
    const { rerender } = render(
      <VoiceAgentCard
        agent={agent({
          transferNumber: "+61293744000",
          fallback: { action: "forward", number: "+61412345678" },
          businessHours: { ...OFFICE, weekly: { ...OFFICE.weekly, tue: [["09:00", "17:00"]] }, afterHours: "voicemail" },
        })}
      />,
    );
    expect(summary()).toBe(
      "Agent answers; transfers to +61 2 9374 4000; if the agent can't answer: forward to +61 412 345 678; " +
        `hours Mon–Fri 09:00–17:00 Australia/Sydney; closed ${formatDate("2026-12-25")}; after hours: voicemail.`,
    );
    // Without a client the card only shows it.
    expect(within(section()).queryByRole("button")).toBeNull();
    rerender(<VoiceAgentCard agent={agent({ status: "provisioning" })} />);
    expect(within(card()).queryByRole("region", { name: "Calls go to" })).toBeNull();
  });

  it("RoutingSummary of an agent with nothing set", () => {
    render(<RoutingSummary agent={agent()} />);
    expect(document.querySelector(".routing-summary")?.textContent).toBe(
      "Agent answers; no transfer number; if the agent can't answer: voicemail (the default); open all hours.",
    );
  });
});

describe("routingChanges", () => {
  const before = routingValuesOf(agent({ transferNumber: "+61293744000", fallback: { action: "forward" } }));

  it("nothing changed sends nothing; the number typed another way is the same number", () => {
    expect(routingChanges(before, before, null)).toEqual({});
    expect(routingChanges(before, { ...before, transferNumber: " +61293744000 " }, null)).toEqual({});
    expect(before.transferNumber).toBe("+61 2 9374 4000");
  });

  it("each setting alone", () => {
    expect(routingChanges(before, { ...before, transferNumber: "" }, null)).toEqual({ transferNumber: null });
    expect(routingChanges(before, { ...before, answerMode: "person_first" }, null)).toEqual({
      answerMode: "person_first",
    });
    expect(routingChanges(before, { ...before, answerMode: "person_first", ringSeconds: "15" }, null)).toEqual({
      answerMode: "person_first",
      ringSeconds: 15,
    });
    // Not while the agent answers: the input is hidden, and an error on it could not be seen.
    expect(routingChanges(before, { ...before, ringSeconds: "3" }, null)).toEqual({});
    expect(routingChanges(before, { ...before, fallbackNumber: "0412 345 678" }, null)).toEqual({
      fallback: { action: "forward", number: "0412 345 678" },
    });
    expect(routingChanges(before, { ...before, fallbackAction: "" }, null)).toEqual({ fallback: null });
    // A number typed for forward is dropped with forward: the API refuses one with another action.
    expect(
      routingChanges(before, { ...before, fallbackAction: "voicemail", fallbackNumber: "+61412345678" }, null),
    ).toEqual({ fallback: { action: "voicemail" } });
  });

  it("a ring time that is not a whole number cannot be sent", () => {
    const ringing = { ...before, answerMode: "person_first" as const };
    expect(() => routingChanges(before, { ...ringing, ringSeconds: "" }, null)).toThrow(RingSecondsError);
    expect(() => routingChanges(before, { ...ringing, ringSeconds: "1.5" }, null)).toThrow(RingSecondsError);
  });
});

describe("changing where calls go", () => {
  it("transfer number, ring my phone first for 15 s and voicemail: only those, with If-Match; the card shows them", async () => {
    const api = agentApi(agent());
    render(<Listed initial={agent()} client={api.client} />);
    const form = await openRouting();
    expect(document.activeElement).toBe(within(form).getByLabelText("Your phone number"));
    expect(api.sent.map((request) => `${request.method} ${request.path}`)).toEqual(["GET /api/agents/agt_1"]);

    change(within(form).getByLabelText("Your phone number"), "+61 2 9374 4000");
    expect(within(form).queryByLabelText("Ring for (seconds)")).toBeNull();
    fireEvent.click(within(form).getByLabelText("Ring my phone first"));
    change(within(form).getByLabelText("Ring for (seconds)"), "15");
    change(within(form).getByLabelText("If the agent can't answer"), "voicemail");
    save(form);

    await waitFor(() => expect(within(card()).queryByRole("form", { name: FORM })).toBeNull());
    const [patch] = patches(api.sent);
    expect(patch.path).toBe("/api/agents/agt_1");
    expect(patch.headers.get("If-Match")).toBe('"v1"');
    expect(patch.body).toEqual({
      transferNumber: "+61 2 9374 4000",
      answerMode: "person_first",
      ringSeconds: 15,
      fallback: { action: "voicemail" },
    });
    expect(summary()).toBe(
      "Rings +61 2 9374 4000 first for 15 s; the agent answers if nobody picks up; transfers to +61 2 9374 4000; " +
        "if the agent can't answer: voicemail; open all hours.",
    );
    expect(document.activeElement).toBe(
      within(card()).getByRole("button", { name: "Change where calls to Reception go" }),
    );
  });

  it("the form shows the settings the API has, the number as people read it; an untouched one is not sent", async () => {
    const stored = agent({
      transferNumber: "+61293744000",
      answerMode: "person_first",
      ringSeconds: 25,
      fallback: { action: "forward", number: "+61412345678" },
    });
    const api = agentApi(stored);
    render(<Listed initial={stored} client={api.client} />);
    const form = await openRouting();
    expect(within(form).getByLabelText<HTMLInputElement>("Your phone number").value).toBe("+61 2 9374 4000");
    expect(within(form).getByLabelText<HTMLInputElement>("Ring my phone first").checked).toBe(true);
    expect(within(form).getByLabelText<HTMLInputElement>("Ring for (seconds)").value).toBe("25");
    expect(within(form).getByLabelText<HTMLSelectElement>("If the agent can't answer").value).toBe("forward");
    expect(within(form).getByLabelText<HTMLInputElement>("Forward to (optional)").value).toBe("+61 412 345 678");
    expect(within(form).getByLabelText<HTMLInputElement>("Set business hours").checked).toBe(false);

    change(within(form).getByLabelText("Forward to (optional)"), "");
    save(form);
    await waitFor(() => expect(patches(api.sent)).toHaveLength(1));
    expect(patches(api.sent)[0].body).toEqual({ fallback: { action: "forward" } });
  });

  it("business hours: set from nothing, a day closed, Saturday opened, a closed date, after hours", async () => {
    const api = agentApi(agent());
    render(<Listed initial={agent()} client={api.client} />);
    const form = await openRouting();
    fireEvent.click(within(form).getByLabelText("Set business hours"));
    change(within(form).getByLabelText("Time zone"), "Australia/Sydney");
    fireEvent.click(within(form).getByLabelText("Open on Wednesday"));
    fireEvent.click(within(form).getByLabelText("Open on Saturday"));
    change(within(form).getByLabelText("Saturday opens"), "10:00");
    change(within(form).getByLabelText("Saturday closes"), "14:00");
    change(within(form).getByLabelText("Friday closes"), "00:00"); // open until midnight
    fireEvent.click(within(form).getByRole("button", { name: "Add a closed date" }));
    change(within(form).getByLabelText("Closed date 1"), "2026-12-25");
    change(within(form).getByLabelText("After hours"), "voicemail");
    save(form);

    await waitFor(() => expect(patches(api.sent)).toHaveLength(1));
    expect(patches(api.sent)[0].body).toEqual({
      businessHours: {
        timezone: "Australia/Sydney",
        weekly: {
          mon: [["09:00", "17:00"]],
          tue: [["09:00", "17:00"]],
          wed: [],
          thu: [["09:00", "17:00"]],
          fri: [["09:00", "24:00"]],
          sat: [["10:00", "14:00"]],
          sun: [],
        },
        closedDates: ["2026-12-25"],
        afterHours: "voicemail",
      },
    });
    await waitFor(() => expect(within(card()).queryByRole("form", { name: FORM })).toBeNull());
    expect(summary()).toContain(
      "hours Mon, Tue 09:00–17:00, Thu 09:00–17:00, Fri 09:00–24:00, Sat 10:00–14:00 Australia/Sydney; closed",
    );
  });

  it("a day of two intervals from the API is shown, said to be kept, and sent back untouched", async () => {
    const stored = agent({ businessHours: OFFICE });
    const api = agentApi(stored);
    render(<Listed initial={stored} client={api.client} />);
    const form = await openRouting();
    expect(within(form).getByText(/09:00–12:00 and 13:00–17:00/).textContent).toContain("kept as it is");
    expect(within(form).queryByLabelText("Open on Tuesday")).toBeNull();
    change(within(form).getByLabelText("After hours"), "voicemail");
    save(form);
    await waitFor(() => expect(patches(api.sent)).toHaveLength(1));
    expect(patches(api.sent)[0].body).toEqual({ businessHours: { ...OFFICE, afterHours: "voicemail" } });
  });

  it("hours switched off send null; saving with nothing changed sends nothing", async () => {
    const stored = agent({ businessHours: OFFICE });
    const api = agentApi(stored);
    render(<Listed initial={stored} client={api.client} />);
    let form = await openRouting();
    save(form);
    await waitFor(() => expect(within(card()).queryByRole("form", { name: FORM })).toBeNull());
    expect(patches(api.sent)).toEqual([]);

    form = await openRouting();
    fireEvent.click(within(form).getByLabelText("Set business hours"));
    expect(within(form).queryByLabelText("Time zone")).toBeNull();
    save(form);
    await waitFor(() => expect(patches(api.sent)).toHaveLength(1));
    expect(patches(api.sent)[0].body).toEqual({ businessHours: null });
  });

  it("400: each error beside its input, businessHours paths on the hours editor, the rest above the buttons", async () => {
    const stored = agent({ businessHours: { ...OFFICE, weekly: { ...OFFICE.weekly, tue: [["09:00", "17:00"]] } } });
    const api = agentApi(stored, () =>
      json(400, {
        error: "validation_error",
        message: "Invalid request",
        fields: [
          { field: "transferNumber", message: "must be in international format, e.g. +61 412 345 678" },
          { field: "answerMode", message: "person_first rings transferNumber first: set transferNumber too" },
          { field: "fallback.number", message: "not a phone number" },
          { field: "businessHours", message: "businessHours.weekly.mon[0]: end 08:00 is not after start 09:00" },
          {
            field: "businessHours",
            message: "businessHours.closedDates[1]: duplicate of businessHours.closedDates[0] (2026-12-25)",
          },
          { field: "businessHours.afterHours", message: "forward needs a number: set transferNumber or fallback.number" },
          { field: "voiceId", message: "unknown voice" },
        ],
      }),
    );
    render(<Listed initial={stored} client={api.client} />);
    const form = await openRouting();
    change(within(form).getByLabelText("Your phone number"), "12");
    fireEvent.click(within(form).getByLabelText("Ring my phone first"));
    change(within(form).getByLabelText("If the agent can't answer"), "forward");
    change(within(form).getByLabelText("Forward to (optional)"), "bad");
    change(within(form).getByLabelText("Monday closes"), "08:00");
    fireEvent.click(within(form).getByRole("button", { name: "Add a closed date" }));
    change(within(form).getByLabelText("Closed date 2"), "2026-12-25");
    change(within(form).getByLabelText("After hours"), "forward");
    save(form);

    const transfer = within(form).getByLabelText("Your phone number");
    await waitFor(() => expect(transfer.getAttribute("aria-invalid")).toBe("true"));
    expect(description(transfer)).toContain("must be in international format");
    const agentFirst = within(form).getByLabelText("The agent");
    expect(agentFirst.getAttribute("aria-invalid")).toBe("true");
    expect(description(within(form).getByRole("group", { name: "Who answers" }))).toContain(
      "person_first rings transferNumber first",
    );
    const forwardTo = within(form).getByLabelText("Forward to (optional)");
    expect(description(forwardTo)).toContain("not a phone number");
    expect(within(form).getByLabelText("If the agent can't answer").getAttribute("aria-invalid")).toBeNull();
    const mondayCloses = within(form).getByLabelText("Monday closes");
    expect(mondayCloses.getAttribute("aria-invalid")).toBe("true");
    expect(description(mondayCloses)).toBe("end 08:00 is not after start 09:00");
    expect(within(form).getByLabelText("Tuesday closes").getAttribute("aria-invalid")).toBeNull();
    expect(within(form).getByLabelText("Closed date 1").getAttribute("aria-invalid")).toBeNull();
    expect(description(within(form).getByLabelText("Closed date 2"))).toBe(
      "duplicate of businessHours.closedDates[0] (2026-12-25)",
    );
    expect(description(within(form).getByLabelText("After hours"))).toContain("forward needs a number");
    expect(within(form).getByRole("alert").textContent).toBe("voiceId: unknown voice");
    // The card still shows what the API has.
    expect(within(form).getByLabelText<HTMLInputElement>("Your phone number").value).toBe("12");
  });

  it("a number error while forward is not chosen shows at the fallback select", async () => {
    const api = agentApi(agent(), () =>
      json(400, {
        error: "validation_error",
        message: "fallback.number: a number is only used with the action forward",
        fields: [{ field: "fallback.number", message: "a number is only used with the action forward" }],
      }),
    );
    render(<Listed initial={agent()} client={api.client} />);
    const form = await openRouting();
    change(within(form).getByLabelText("If the agent can't answer"), "message");
    save(form);
    const select = within(form).getByLabelText("If the agent can't answer");
    await waitFor(() => expect(select.getAttribute("aria-invalid")).toBe("true"));
    expect(description(select)).toBe("a number is only used with the action forward");
    expect(within(form).getByRole("alert").textContent).toBe("Please correct the fields marked below.");
  });

  it("412: says the agent changed elsewhere, shows its settings now, and the next save carries the new ETag", async () => {
    const api = agentApi(agent(), (sent) =>
      sent.headers.get("If-Match") === '"v1"'
        ? json(412, { error: "precondition_failed", message: "The agent changed", etag: '"v2"' })
        : undefined,
    );
    render(<Listed initial={agent()} client={api.client} />);
    const form = await openRouting();
    api.changeElsewhere({ transferNumber: "+61412345678" });
    change(within(form).getByLabelText("If the agent can't answer"), "message");
    save(form);

    expect((await within(form).findByRole("alert")).textContent).toMatch(/changed elsewhere/);
    expect(within(form).getByLabelText<HTMLInputElement>("Your phone number").value).toBe("+61 412 345 678");
    expect(within(form).getByLabelText<HTMLSelectElement>("If the agent can't answer").value).toBe("");

    change(within(form).getByLabelText("If the agent can't answer"), "message");
    save(form);
    await waitFor(() => expect(within(card()).queryByRole("form", { name: FORM })).toBeNull());
    expect(patches(api.sent).map((patch) => patch.headers.get("If-Match"))).toEqual(['"v1"', '"v2"']);
    expect(patches(api.sent)[1].body).toEqual({ fallback: { action: "message" } });
    expect(summary()).toContain("transfers to +61 412 345 678");
  });

  it("a ring time that is not a number is caught before sending", async () => {
    const api = agentApi(agent({ transferNumber: "+61293744000" }));
    render(<Listed initial={agent({ transferNumber: "+61293744000" })} client={api.client} />);
    const form = await openRouting();
    fireEvent.click(within(form).getByLabelText("Ring my phone first"));
    change(within(form).getByLabelText("Ring for (seconds)"), "");
    save(form);
    const ring = within(form).getByLabelText("Ring for (seconds)");
    await waitFor(() => expect(ring.getAttribute("aria-invalid")).toBe("true"));
    expect(description(ring)).toContain("Ring for a whole number of seconds, 5 to 60.");
    expect(patches(api.sent)).toEqual([]);
  });

  it("cancel closes the form without a request and keeps the summary", async () => {
    const api = agentApi(agent());
    render(<Listed initial={agent()} client={api.client} />);
    const form = await openRouting();
    change(within(form).getByLabelText("Your phone number"), "+61 2 9374 4000");
    fireEvent.click(within(form).getByRole("button", { name: "Cancel" }));
    expect(within(card()).queryByRole("form", { name: FORM })).toBeNull();
    expect(patches(api.sent)).toEqual([]);
    expect(summary()).toContain("no transfer number");
  });
});
