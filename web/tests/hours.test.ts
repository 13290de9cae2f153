import { describe, expect, it } from "vitest";
import {
  type Hours,
  defaultHoursDraft,
  draftFromHours,
  hoursErrors,
  hoursFromDraft,
  sameHours,
  timeZones,
} from "../src/hours";

const SYDNEY: Hours = {
  timezone: "Australia/Sydney",
  weekly: {
    mon: [["09:00", "17:00"]],
    tue: [["09:00", "12:00"], ["13:00", "17:00"]],
    wed: [["09:00", "17:00"]],
    thu: [["09:00", "17:00"]],
    fri: [["18:00", "24:00"]],
    sat: [],
    sun: [],
  },
  closedDates: ["2026-12-25"],
  afterHours: "voicemail",
};

describe("the hours editor's draft", () => {
  it("round-trips the API's hours: a day of two intervals kept, 24:00 edited as 00:00 and sent back as 24:00", () => {
    const draft = draftFromHours(SYDNEY);
    expect(draft.enabled).toBe(true);
    expect(draft.days.mon).toEqual({ open: true, from: "09:00", to: "17:00", kept: null });
    expect(draft.days.tue.kept).toEqual([["09:00", "12:00"], ["13:00", "17:00"]]);
    expect(draft.days.fri).toEqual({ open: true, from: "18:00", to: "00:00", kept: null });
    expect(draft.days.sat.open).toBe(false);
    const { hours } = hoursFromDraft(draft);
    expect(hours).toEqual(SYDNEY);
    expect(sameHours(hours, SYDNEY)).toBe(true);
  });

  it("no hours: switched off, starting from office hours in the browser's zone; off sends null", () => {
    const draft = draftFromHours(null, "Europe/London");
    expect(draft.enabled).toBe(false);
    expect(draft.timezone).toBe("Europe/London");
    expect(hoursFromDraft(draft).hours).toBeNull();
    const on = hoursFromDraft({ ...draft, enabled: true }).hours;
    expect(on?.weekly.mon).toEqual([["09:00", "17:00"]]);
    expect(on?.weekly.sat).toEqual([]);
    expect(on?.afterHours).toBe("agent");
    expect(defaultHoursDraft("UTC").timezone).toBe("UTC");
  });

  it("empty closed-date inputs are not sent; each date sent remembers its row", () => {
    const draft = { ...draftFromHours(SYDNEY), closedDates: ["", "2026-12-26", " ", "2027-01-01"] };
    const { hours, closedDateRows } = hoursFromDraft(draft);
    expect(hours?.closedDates).toEqual(["2026-12-26", "2027-01-01"]);
    expect(closedDateRows).toEqual([1, 3]);
  });

  it("the same hours in another order are the same; a changed day or date is not", () => {
    const reordered = { ...SYDNEY, closedDates: ["2026-12-26", "2026-12-25"] };
    expect(sameHours({ ...SYDNEY, closedDates: ["2026-12-25", "2026-12-26"] }, reordered)).toBe(true);
    expect(sameHours(SYDNEY, { ...SYDNEY, weekly: { ...SYDNEY.weekly, sat: [["10:00", "12:00"]] } })).toBe(false);
    expect(sameHours(SYDNEY, null)).toBe(false);
    expect(sameHours(null, null)).toBe(true);
  });

  it("offers the browser's time zones, with one it does not list first", () => {
    const zones = timeZones("Mars/Olympus_Mons", "Australia/Sydney");
    expect(zones[0]).toBe("Mars/Olympus_Mons");
    expect(zones).toContain("Australia/Sydney");
    expect(zones.filter((zone) => zone === "Australia/Sydney")).toHaveLength(1);
  });
});

describe("hoursErrors: the API's businessHours errors on the editor", () => {
  it("reads the path in front of the message onto a day, the time zone, a closed date's row, after hours", () => {
    const errors = hoursErrors(
      [
        { field: "businessHours", message: "businessHours.weekly.mon[1]: overlaps mon[0] (09:00-12:00)" },
        { field: "businessHours", message: "businessHours.weekly.fri[0][1]: must be a 24-hour time \"HH:MM\", e.g. \"09:00\"" },
        { field: "businessHours", message: "businessHours.timezone: unknown time zone 'Mars/Base'" },
        { field: "businessHours", message: "businessHours.closedDates[1]: 2026-13-01 is not a date in the calendar" },
        { field: "businessHours.afterHours", message: "forward needs a number: set transferNumber or fallback.number" },
        { field: "name", message: "not mine" },
      ],
      [0, 2],
    );
    expect(errors.days).toEqual({
      mon: "overlaps mon[0] (09:00-12:00)",
      fri: 'must be a 24-hour time "HH:MM", e.g. "09:00"',
    });
    expect(errors.timezone).toBe("unknown time zone 'Mars/Base'");
    // Sent index 1 came from the editor's row 2 (row 1 was empty and not sent).
    expect(errors.closedDateRows).toEqual({ 2: "2026-13-01 is not a date in the calendar" });
    expect(errors.afterHours).toBe("forward needs a number: set transferNumber or fallback.number");
    expect(errors.general).toBeUndefined();
  });

  it("pydantic's locations, the list as a whole, and paths without an input go where they can", () => {
    const errors = hoursErrors(
      [
        { field: "businessHours.closedDates.0", message: "String should match pattern" },
        { field: "businessHours", message: "businessHours.closedDates: at most 366 closed dates, got 400" },
        { field: "businessHours", message: "businessHours.weekly.someday: unknown day" },
        { field: "businessHours", message: "Input should be an object" },
        { field: "businessHours", message: "businessHours.closedDates[9]: duplicate" },
      ],
      [4],
    );
    expect(errors.closedDateRows).toEqual({ 4: "String should match pattern" });
    expect(errors.closedDates).toBe("at most 366 closed dates, got 400; duplicate");
    expect(errors.general).toBe("businessHours.weekly.someday: unknown day; Input should be an object");
  });
});
