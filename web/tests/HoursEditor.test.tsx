import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { useState } from "react";
import { afterEach, describe, expect, it } from "vitest";
import { HoursEditor } from "../src/components/HoursEditor";
import { type HoursDraft, type HoursErrors, draftFromHours, hoursFromDraft, timeZones } from "../src/hours";

afterEach(cleanup);

const NO_ERRORS: HoursErrors = { days: {}, closedDateRows: {} };
let latest: HoursDraft;

/** The editor as a form holds it: its draft in state; `latest` is what it last changed to. */
function Editor({ initial, errors = NO_ERRORS }: { initial: HoursDraft; errors?: HoursErrors }) {
  const [draft, setDraft] = useState(initial);
  latest = draft;
  return (
    <form aria-label="Hours">
      <HoursEditor id="h" draft={draft} onChange={setDraft} errors={errors} zones={timeZones(draft.timezone)} />
    </form>
  );
}

const hours = () => screen.getByRole("group", { name: "Business hours" });
const describedText = (element: HTMLElement) =>
  (element.getAttribute("aria-describedby") ?? "")
    .split(" ")
    .map((id) => document.getElementById(id)?.textContent ?? "")
    .join(" ");

describe("HoursEditor", () => {
  it("off means always open; on starts from Mon–Fri 09:00–17:00 in the browser's time zone", () => {
    render(<Editor initial={draftFromHours(null)} />);
    expect(within(hours()).getByText("Off: always open.")).toBeTruthy();
    expect(within(hours()).queryByLabelText("Time zone")).toBeNull();

    fireEvent.click(within(hours()).getByLabelText("Set business hours"));
    const zone = within(hours()).getByLabelText<HTMLSelectElement>("Time zone");
    expect(zone.value).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
    // Every zone the browser knows is offered.
    expect(zone.options.length).toBe(timeZones(zone.value).length);
    expect(zone.options.length).toBeGreaterThan(300);
    for (const day of ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]) {
      expect(within(hours()).getByLabelText<HTMLInputElement>(`Open on ${day}`).checked).toBe(true);
      expect(within(hours()).getByLabelText<HTMLInputElement>(`${day} opens`).value).toBe("09:00");
      expect(within(hours()).getByLabelText<HTMLInputElement>(`${day} closes`).value).toBe("17:00");
    }
    for (const day of ["Saturday", "Sunday"]) {
      expect(within(hours()).getByLabelText<HTMLInputElement>(`Open on ${day}`).checked).toBe(false);
      expect(within(hours()).queryByLabelText(`${day} opens`)).toBeNull();
    }
    expect(within(hours()).getAllByText("Closed")).toHaveLength(2);
    expect(within(hours()).getByLabelText<HTMLSelectElement>("After hours").value).toBe("agent");
  });

  it("closing a day hides its times and opening it again brings them back", () => {
    render(<Editor initial={draftFromHours(null, "Australia/Sydney")} />);
    fireEvent.click(within(hours()).getByLabelText("Set business hours"));
    fireEvent.change(within(hours()).getByLabelText("Monday opens"), { target: { value: "08:30" } });
    fireEvent.click(within(hours()).getByLabelText("Open on Monday"));
    expect(within(hours()).queryByLabelText("Monday opens")).toBeNull();
    expect(hoursFromDraft(latest).hours?.weekly.mon).toEqual([]);
    fireEvent.click(within(hours()).getByLabelText("Open on Monday"));
    expect(within(hours()).getByLabelText<HTMLInputElement>("Monday opens").value).toBe("08:30");
    expect(hoursFromDraft(latest).hours?.weekly.mon).toEqual([["08:30", "17:00"]]);
  });

  it("closed dates: added with the keyboard on the new input, removed by row with the keyboard back on Add", () => {
    render(
      <Editor
        initial={draftFromHours({
          timezone: "Australia/Sydney",
          weekly: { mon: [], tue: [], wed: [], thu: [], fri: [], sat: [], sun: [] },
          closedDates: ["2026-12-25"],
          afterHours: "voicemail",
        })}
      />,
    );
    expect(within(hours()).getByLabelText<HTMLInputElement>("Closed date 1").value).toBe("2026-12-25");
    const add = within(hours()).getByRole("button", { name: "Add a closed date" });
    fireEvent.click(add);
    const second = within(hours()).getByLabelText<HTMLInputElement>("Closed date 2");
    expect(document.activeElement).toBe(second);
    fireEvent.change(second, { target: { value: "2026-12-26" } });
    fireEvent.click(add);
    fireEvent.change(within(hours()).getByLabelText("Closed date 3"), { target: { value: "2027-01-01" } });

    fireEvent.click(within(hours()).getByRole("button", { name: "Remove closed date 1" }));
    expect(document.activeElement).toBe(add);
    expect(latest.closedDates).toEqual(["2026-12-26", "2027-01-01"]);
    expect(within(hours()).getByLabelText<HTMLInputElement>("Closed date 1").value).toBe("2026-12-26");
    expect(within(hours()).queryByLabelText("Closed date 3")).toBeNull();
  });

  it("a day of several intervals is kept, and says so", () => {
    render(
      <Editor
        initial={draftFromHours({
          timezone: "Australia/Sydney",
          weekly: { mon: [["08:00", "12:00"], ["13:00", "17:00"], ["18:00", "20:00"]], tue: [], wed: [], thu: [], fri: [], sat: [], sun: [] },
          closedDates: [],
          afterHours: "agent",
        })}
      />,
    );
    expect(within(hours()).getByText(/08:00–12:00 and 13:00–17:00 and 18:00–20:00/).textContent).toBe(
      "08:00–12:00 and 13:00–17:00 and 18:00–20:00 (more than one interval, set through the API: kept as it is)",
    );
    expect(within(hours()).queryByLabelText("Open on Monday")).toBeNull();
    expect(hoursFromDraft(latest).hours?.weekly.mon).toHaveLength(3);
  });

  it("the API's errors: the whole, the time zone, a day's inputs, a closed date, after hours", () => {
    const draft = draftFromHours({
      timezone: "Mars/Olympus_Mons",
      weekly: { mon: [["09:00", "17:00"]], tue: [], wed: [], thu: [], fri: [], sat: [], sun: [] },
      closedDates: ["2026-12-25"],
      afterHours: "forward",
    });
    render(
      <Editor
        initial={draft}
        errors={{
          general: "businessHours.weekly.someday: unknown day",
          timezone: "unknown time zone 'Mars/Olympus_Mons'",
          afterHours: "forward needs a number",
          closedDates: "at most 366 closed dates",
          days: { mon: "end 17:00 is not after start 09:00" },
          closedDateRows: { 0: "duplicate" },
        }}
      />,
    );
    expect(describedText(hours())).toContain("businessHours.weekly.someday: unknown day");
    const zone = within(hours()).getByLabelText<HTMLSelectElement>("Time zone");
    expect(zone.value).toBe("Mars/Olympus_Mons"); // offered, though the browser does not know it
    expect(zone.getAttribute("aria-invalid")).toBe("true");
    expect(describedText(zone)).toBe("unknown time zone 'Mars/Olympus_Mons'");
    for (const label of ["Open on Monday", "Monday opens", "Monday closes"]) {
      const input = within(hours()).getByLabelText(label);
      expect(input.getAttribute("aria-invalid")).toBe("true");
      expect(describedText(input)).toBe("end 17:00 is not after start 09:00");
    }
    expect(within(hours()).getByLabelText("Open on Tuesday").getAttribute("aria-invalid")).toBeNull();
    expect(describedText(within(hours()).getByLabelText("Closed date 1"))).toBe("duplicate");
    expect(describedText(within(hours()).getByRole("group", { name: "Closed dates" }))).toContain(
      "at most 366 closed dates",
    );
    expect(describedText(within(hours()).getByLabelText("After hours"))).toBe("forward needs a number");
  });
});
