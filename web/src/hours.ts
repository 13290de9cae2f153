/**
 * Business hours as the hours editor holds them, and back to the API's shape.
 *
 * The editor gives each day one interval (open from, until); a day the API holds with more than one
 * interval is kept exactly as it is and shown read-only. An interval that ends at "24:00" (the end
 * of the day, which a time input cannot show) is edited as an end of "00:00".
 */
import type { Agent, ApiError } from "./api";

export type Hours = NonNullable<Agent["businessHours"]>;
export const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Day = (typeof DAYS)[number];
export const AFTER_HOURS = ["agent", "forward", "voicemail"] as const;

export interface DayHours {
  open: boolean;
  /** "HH:MM", as a time input gives it. */
  from: string;
  /** "HH:MM"; "00:00" stands for the end of the day (the API's "24:00"). */
  to: string;
  /** More than one interval, as the API holds them: sent back untouched. */
  kept: string[][] | null;
}

export interface HoursDraft {
  /** Off: no business hours (always open). */
  enabled: boolean;
  timezone: string;
  days: Record<Day, DayHours>;
  /** One entry per date input, in the order shown; an empty one is not sent. */
  closedDates: string[];
  afterHours: Hours["afterHours"];
}

const OPEN_FROM = "09:00";
const OPEN_UNTIL = "17:00";
const END_OF_DAY = "24:00";
const MIDNIGHT = "00:00";

/** The browser's own IANA time zone: where the owner most likely is. */
export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** The time zones the select offers: the browser's list, with `current` added when it lacks it. */
export function timeZones(...current: string[]): string[] {
  let known: string[] = [];
  try {
    known = Intl.supportedValuesOf("timeZone");
  } catch {
    known = [];
  }
  const extra = current.filter((zone) => zone && !known.includes(zone));
  return [...extra, ...known];
}

function day(intervals: readonly (readonly string[])[] | undefined): DayHours {
  if (!intervals || intervals.length === 0) return { open: false, from: OPEN_FROM, to: OPEN_UNTIL, kept: null };
  if (intervals.length > 1) {
    return { open: true, from: OPEN_FROM, to: OPEN_UNTIL, kept: intervals.map((pair) => [...pair]) };
  }
  const [from, to] = intervals[0];
  return { open: true, from, to: to === END_OF_DAY ? MIDNIGHT : to, kept: null };
}

/** Mon–Fri 09:00–17:00 in the browser's zone, the agent answering after hours: what "Set hours" starts from. */
export function defaultHoursDraft(timezone = browserTimeZone()): HoursDraft {
  const weekday = () => ({ open: true, from: OPEN_FROM, to: OPEN_UNTIL, kept: null });
  const weekend = () => ({ open: false, from: OPEN_FROM, to: OPEN_UNTIL, kept: null });
  return {
    enabled: true,
    timezone,
    days: { mon: weekday(), tue: weekday(), wed: weekday(), thu: weekday(), fri: weekday(), sat: weekend(), sun: weekend() },
    closedDates: [],
    afterHours: "agent",
  };
}

/** The editor's copy of the agent's hours; none (always open) starts from the defaults, switched off. */
export function draftFromHours(hours: Hours | null, timezone = browserTimeZone()): HoursDraft {
  if (!hours) return { ...defaultHoursDraft(timezone), enabled: false };
  const days = Object.fromEntries(DAYS.map((name) => [name, day(hours.weekly[name])])) as Record<Day, DayHours>;
  return {
    enabled: true,
    timezone: hours.timezone,
    days,
    closedDates: [...(hours.closedDates ?? [])],
    afterHours: hours.afterHours,
  };
}

/**
 * The API's businessHours for the draft (null when switched off), and for each closed date sent the
 * editor row it came from (the API's `closedDates[i]` errors name the sent index).
 */
export function hoursFromDraft(draft: HoursDraft): { hours: Hours | null; closedDateRows: number[] } {
  if (!draft.enabled) return { hours: null, closedDateRows: [] };
  const weekly: Record<string, string[][]> = {};
  for (const name of DAYS) {
    const hours = draft.days[name];
    if (hours.kept) weekly[name] = hours.kept.map((pair) => [...pair]);
    else weekly[name] = hours.open ? [[hours.from, hours.to === MIDNIGHT ? END_OF_DAY : hours.to]] : [];
  }
  const closedDateRows: number[] = [];
  const closedDates: string[] = [];
  draft.closedDates.forEach((date, row) => {
    if (date.trim()) {
      closedDates.push(date.trim());
      closedDateRows.push(row);
    }
  });
  return { hours: { timezone: draft.timezone, weekly, closedDates, afterHours: draft.afterHours }, closedDateRows };
}

/** The hours as the API normalises them (every day, dates in order): two settings compare equal when they mean the same. */
function normalised(hours: Hours | null): string {
  if (!hours) return "null";
  return JSON.stringify({
    timezone: hours.timezone,
    weekly: DAYS.map((name) => hours.weekly[name] ?? []),
    closedDates: [...(hours.closedDates ?? [])].sort(),
    afterHours: hours.afterHours,
  });
}

export function sameHours(a: Hours | null, b: Hours | null): boolean {
  return normalised(a) === normalised(b);
}

/** The hours editor's errors, each shown beside its input. */
export interface HoursErrors {
  /** businessHours itself, or a path the editor has no input for. */
  general?: string;
  timezone?: string;
  afterHours?: string;
  /** The list of closed dates as a whole. */
  closedDates?: string;
  days: Partial<Record<Day, string>>;
  /** By editor row (not by sent index). */
  closedDateRows: Partial<Record<number, string>>;
}

type FieldError = NonNullable<ApiError["fields"]>[number];

const ROOT = "businessHours";
// The API puts the exact path in front of the message: "businessHours.weekly.mon[1]: overlaps mon[0] (09:00-12:00)".
const PATH_IN_MESSAGE = /^(businessHours(?:\.[A-Za-z]+|\[\d+\])*): ([\s\S]*)$/;

export const isHoursField = (field: string) => field === ROOT || field.startsWith(`${ROOT}.`) || field.startsWith(`${ROOT}[`);

/**
 * The API's `fields` about businessHours, mapped onto the editor: a day's row, a closed date's row
 * (through `closedDateRows`, the rows the sent dates came from), the time zone, after hours.
 */
export function hoursErrors(fields: readonly FieldError[], closedDateRows: readonly number[]): HoursErrors {
  const errors: HoursErrors = { days: {}, closedDateRows: {} };
  const add = (current: string | undefined, message: string) => (current ? `${current}; ${message}` : message);
  for (const { field, message } of fields) {
    if (!isHoursField(field)) continue;
    const inMessage = PATH_IN_MESSAGE.exec(message);
    const [path, text] = inMessage && field === ROOT ? [inMessage[1], inMessage[2]] : [field, message];
    // Pydantic's locations ("businessHours.closedDates.2") and the API's ("closedDates[2]") alike.
    const steps = path
      .slice(ROOT.length)
      .split(/[.[\]]+/)
      .filter(Boolean);
    const [first, second] = steps;
    if (first === "timezone") errors.timezone = add(errors.timezone, text);
    else if (first === "afterHours") errors.afterHours = add(errors.afterHours, text);
    else if (first === "closedDates" && second !== undefined && /^\d+$/.test(second)) {
      const row = closedDateRows[Number(second)];
      if (row === undefined) errors.closedDates = add(errors.closedDates, text);
      else errors.closedDateRows[row] = add(errors.closedDateRows[row], text);
    } else if (first === "closedDates") errors.closedDates = add(errors.closedDates, text);
    else if (first === "weekly" && (DAYS as readonly string[]).includes(second ?? "")) {
      const name = second as Day;
      errors.days[name] = add(errors.days[name], text);
    } else errors.general = add(errors.general, first ? `${path}: ${text}` : text);
  }
  return errors;
}
