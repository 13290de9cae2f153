/** The days a usage period covers, ending today in `timeZone`: [from, to] as YYYY-MM-DD. */
export function lastDays(days: number, timeZone: string, now = new Date()): { from: string; to: string } {
  // en-CA writes dates as YYYY-MM-DD.
  const to = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(now);
  const [year, month, day] = to.split("-").map(Number);
  const from = new Date(Date.UTC(year, month - 1, day - (days - 1))).toISOString().slice(0, 10);
  return { from, to };
}

/** A YYYY-MM-DD day as the reader's language writes it short: "3 Dec", "Dec 3". */
export function formatDay(date: string, locale?: string): string {
  const [year, month, day] = date.split("-").map(Number);
  if (!year || !month || !day) return date;
  return new Date(Date.UTC(year, month - 1, day)).toLocaleDateString(locale, {
    day: "numeric",
    month: "short",
    timeZone: "UTC",
  });
}

export const PERIODS = [
  { days: 7, label: "Last 7 days" },
  { days: 30, label: "Last 30 days" },
  { days: 90, label: "Last 90 days" },
] as const;
