/** Where an agent's calls go, in plain words: its routing settings as the card summarises them. */
import type { Agent } from "./api";
import { DAYS, type Day, type Hours } from "./hours";
import { formatPhoneNumber } from "./phone";

export type Fallback = NonNullable<Agent["fallback"]>;
export type FallbackAction = Fallback["action"];
export type AnswerMode = Agent["answerMode"];
export type AfterHours = Hours["afterHours"];

export const DAY_NAMES: Record<Day, string> = {
  mon: "Monday",
  tue: "Tuesday",
  wed: "Wednesday",
  thu: "Thursday",
  fri: "Friday",
  sat: "Saturday",
  sun: "Sunday",
};

const DAY_SHORT: Record<Day, string> = {
  mon: "Mon",
  tue: "Tue",
  wed: "Wed",
  thu: "Thu",
  fri: "Fri",
  sat: "Sat",
  sun: "Sun",
};

/** A number as people read it (unparseable text as it is). */
const shown = (number: string) => formatPhoneNumber(number).display;

/** The API's intervals as people read them: "09:00–12:00 and 13:00–17:00". */
export function describeIntervals(intervals: readonly (readonly string[])[]): string {
  return intervals.map(([start, end]) => `${start}–${end}`).join(" and ");
}

/**
 * The week as people say it: consecutive days with the same hours run together ("Mon–Fri
 * 09:00–17:00, Sat 10:00–14:00"); closed days are left out.
 */
export function describeWeek(weekly: Hours["weekly"]): string {
  const runs: { from: Day; to: Day; hours: string }[] = [];
  for (const day of DAYS) {
    const intervals = weekly[day] ?? [];
    const hours = intervals.length ? describeIntervals(intervals) : "";
    const last = runs.at(-1);
    if (last && last.hours === hours && DAYS.indexOf(last.to) === DAYS.indexOf(day) - 1) last.to = day;
    else runs.push({ from: day, to: day, hours });
  }
  const open = runs.filter((run) => run.hours);
  if (open.length === 0) return "closed every day";
  return open
    .map((run) => {
      const days =
        run.from === run.to
          ? DAY_SHORT[run.from]
          : `${DAY_SHORT[run.from]}${DAYS.indexOf(run.to) - DAYS.indexOf(run.from) === 1 ? ", " : "–"}${DAY_SHORT[run.to]}`;
      return `${days} ${run.hours}`;
    })
    .join(", ");
}

/** A local date "2026-12-25" as the reader writes dates (no time zone shift: it is a calendar day). */
export function formatDate(iso: string, locale?: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  if (!match) return iso;
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleDateString(locale, { dateStyle: "medium", timeZone: "UTC" });
}

/** Where the fallback sends a caller, as the API's rules pick it (core.routing.Routing.fallback). */
export function fallbackWords(agent: Pick<Agent, "fallback" | "transferNumber">): string {
  const { fallback, transferNumber } = agent;
  if (fallback === null) {
    return transferNumber ? `forward to ${shown(transferNumber)} (the default)` : "voicemail (the default)";
  }
  switch (fallback.action) {
    case "forward": {
      const number = fallback.number || transferNumber;
      return number ? `forward to ${shown(number)}` : "voicemail (forward has no number)";
    }
    case "voicemail":
      return "voicemail";
    case "message":
      return "a message asking them to call back";
  }
}

/** What a call gets while the business is closed (core.routing.Routing.after_hours). */
export function afterHoursWords(agent: Pick<Agent, "fallback" | "transferNumber">, afterHours: AfterHours): string {
  switch (afterHours) {
    case "agent":
      return "the agent answers and says you are closed";
    case "forward": {
      const number = agent.fallback?.number || agent.transferNumber;
      return number ? `forward to ${shown(number)}` : "voicemail (forward has no number)";
    }
    case "voicemail":
      return "voicemail";
  }
}

/**
 * The agent's routing as a few short phrases, in the order a call meets them: who answers, where
 * the agent can transfer to, what happens when the agent cannot answer, and the hours.
 */
export function describeRouting(
  agent: Pick<Agent, "transferNumber" | "fallback" | "answerMode" | "ringSeconds" | "businessHours">,
  locale?: string,
): string[] {
  const parts: string[] = [];
  const transfer = agent.transferNumber ? shown(agent.transferNumber) : null;
  if (agent.answerMode === "person_first" && transfer) {
    parts.push(`Rings ${transfer} first for ${agent.ringSeconds} s; the agent answers if nobody picks up`);
  } else if (agent.answerMode === "person_first") {
    parts.push("Agent answers (ringing your phone first needs a transfer number)");
  } else {
    parts.push("Agent answers");
  }
  parts.push(transfer ? `transfers to ${transfer}` : "no transfer number");
  parts.push(`if the agent can't answer: ${fallbackWords(agent)}`);
  const hours = agent.businessHours;
  if (!hours) {
    parts.push("open all hours");
    return parts;
  }
  parts.push(`hours ${describeWeek(hours.weekly)} ${hours.timezone}`);
  const closed = hours.closedDates ?? [];
  if (closed.length) parts.push(`closed ${closed.map((date) => formatDate(date, locale)).join(", ")}`);
  parts.push(`after hours: ${afterHoursWords(agent, hours.afterHours)}`);
  return parts;
}
