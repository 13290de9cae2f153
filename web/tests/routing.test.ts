import { describe, expect, it } from "vitest";
import type { Agent } from "../src/api";
import type { Hours } from "../src/hours";
import { describeRouting, describeWeek, formatDate } from "../src/routing";
import { agent } from "./agents";

const OFFICE: Hours["weekly"] = {
  mon: [["09:00", "17:00"]],
  tue: [["09:00", "17:00"]],
  wed: [["09:00", "17:00"]],
  thu: [["09:00", "17:00"]],
  fri: [["09:00", "17:00"]],
  sat: [],
  sun: [],
};

const hours = (overrides: Partial<Hours> = {}): Hours => ({
  timezone: "Australia/Sydney",
  weekly: OFFICE,
  closedDates: [],
  afterHours: "voicemail",
  ...overrides,
});

const routing = (overrides: Partial<Agent>) => describeRouting(agent(overrides), "en-AU").join("; ");

describe("describeRouting: the card's summary in plain words", () => {
  it("an agent with no routing settings: the agent answers, no transfer, voicemail by default, always open", () => {
    expect(routing({})).toBe(
      "Agent answers; no transfer number; if the agent can't answer: voicemail (the default); open all hours",
    );
  });

  it("the brief's example: transfer, forward fallback, office hours in Sydney, voicemail after hours", () => {
    expect(
      routing({
        transferNumber: "+61293744000",
        fallback: { action: "forward", number: "+61412345678" },
        businessHours: hours(),
      }),
    ).toBe(
      "Agent answers; transfers to +61 2 9374 4000; if the agent can't answer: forward to +61 412 345 678; " +
        "hours Mon–Fri 09:00–17:00 Australia/Sydney; after hours: voicemail",
    );
  });

  it("person first: whose phone rings, for how long, then the agent", () => {
    expect(routing({ transferNumber: "+61293744000", answerMode: "person_first", ringSeconds: 15 })).toBe(
      "Rings +61 2 9374 4000 first for 15 s; the agent answers if nobody picks up; transfers to +61 2 9374 4000; " +
        "if the agent can't answer: forward to +61 2 9374 4000 (the default); open all hours",
    );
  });

  it.each<[Partial<Agent>, string]>([
    [{ fallback: { action: "voicemail" } }, "if the agent can't answer: voicemail"],
    [{ fallback: { action: "message" } }, "if the agent can't answer: a message asking them to call back"],
    // Forward without a number of its own goes to the transfer number...
    [
      { fallback: { action: "forward" }, transferNumber: "+61293744000" },
      "if the agent can't answer: forward to +61 2 9374 4000",
    ],
    // ...and with neither, the API's rules send the caller to voicemail.
    [{ fallback: { action: "forward" } }, "if the agent can't answer: voicemail (forward has no number)"],
    // An agent stored before the API checked it: ring-first without a number rings nobody.
    [{ answerMode: "person_first" }, "Agent answers (ringing your phone first needs a transfer number)"],
  ])("%o: %s", (settings, phrase) => {
    expect(routing(settings)).toContain(phrase);
  });

  it("hours: several runs, split days, closed dates and what after hours does", () => {
    const text = routing({
      transferNumber: "+61293744000",
      businessHours: hours({
        weekly: { ...OFFICE, wed: [["09:00", "12:00"], ["13:00", "17:00"]], sat: [["10:00", "14:00"]] },
        closedDates: ["2026-12-25", "2026-12-26"],
        afterHours: "forward",
      }),
    });
    expect(text).toContain(
      "hours Mon, Tue 09:00–17:00, Wed 09:00–12:00 and 13:00–17:00, Thu, Fri 09:00–17:00, Sat 10:00–14:00 Australia/Sydney",
    );
    expect(text).toContain("closed 25 Dec 2026, 26 Dec 2026");
    expect(text).toContain("after hours: forward to +61 2 9374 4000");
  });

  it("after hours by the agent", () => {
    expect(routing({ businessHours: hours({ afterHours: "agent" }) })).toContain(
      "after hours: the agent answers and says you are closed",
    );
  });
});

describe("describeWeek", () => {
  it.each<[Hours["weekly"], string]>([
    [OFFICE, "Mon–Fri 09:00–17:00"],
    [{ ...OFFICE, sat: [["09:00", "17:00"]], sun: [["09:00", "17:00"]] }, "Mon–Sun 09:00–17:00"],
    [{ mon: [], tue: [], wed: [], thu: [], fri: [], sat: [], sun: [] }, "closed every day"],
    [{ ...OFFICE, wed: [] }, "Mon, Tue 09:00–17:00, Thu, Fri 09:00–17:00"],
    [{ ...OFFICE, sun: [["00:00", "24:00"]] }, "Mon–Fri 09:00–17:00, Sun 00:00–24:00"],
  ])("%o reads %s", (weekly, text) => {
    expect(describeWeek(weekly)).toBe(text);
  });
});

describe("formatDate", () => {
  it("a calendar day in the reader's way, never shifted by a time zone", () => {
    expect(formatDate("2026-12-25", "en-AU")).toBe("25 Dec 2026");
    expect(formatDate("2026-01-01", "en-US")).toBe("Jan 1, 2026");
    expect(formatDate("not a date", "en-AU")).toBe("not a date");
  });
});
