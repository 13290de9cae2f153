import type { Call, PostCallField } from "./api";
import { browserTimeZone } from "./hours";
import { formatPhoneNumber } from "./phone";

/** The history's filters as the form holds them ("" is no filter). */
export interface CallFilters {
  status: "" | Call["status"];
  from: string;
  to: string;
  caller: string;
  fieldName: string;
  fieldValue: string;
}

export const NO_FILTERS: CallFilters = { status: "", from: "", to: "", caller: "", fieldName: "", fieldValue: "" };

export interface CallQuery {
  status?: Call["status"];
  from?: string;
  to?: string;
  timezone?: string;
  caller?: string;
  field?: string;
}

/**
 * The query the calls routes take: only the filters set; days in the browser's time zone (the API's
 * default is UTC); the caller in E.164 as typed numbers parse (+61 2 9876 5432 → +61298765432);
 * `field=name:value`.
 */
export function callQuery(filters: CallFilters, timeZone = browserTimeZone()): CallQuery {
  const query: CallQuery = {};
  if (filters.status) query.status = filters.status;
  if (filters.from) query.from = filters.from;
  if (filters.to) query.to = filters.to;
  if (filters.from || filters.to) query.timezone = timeZone;
  const caller = filters.caller.trim();
  if (caller) query.caller = formatPhoneNumber(caller.replace(/[\s()-]/g, "")).e164;
  if (filters.fieldName && filters.fieldValue.trim()) query.field = `${filters.fieldName}:${filters.fieldValue.trim()}`;
  return query;
}

export const isFiltered = (filters: CallFilters) => Object.keys(callQuery(filters, "UTC")).length > 0;

/** The choices a field's answer can be picked from, or null when it is typed (text, a number). */
export function answerChoices(field: PostCallField | undefined): { value: string; label: string }[] | null {
  if (field?.type === "boolean") {
    return [
      { value: "true", label: "Yes" },
      { value: "false", label: "No" },
    ];
  }
  if (field?.type === "enum") return (field.choices ?? []).map((choice) => ({ value: choice, label: choice }));
  return null;
}

/** A CSV file's name: the agent's (letters and digits), the filters' dates, today's date otherwise. */
export function csvFileName(label: string, filters: CallFilters, today = new Date()): string {
  const slug = label.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "calls";
  const days = filters.from || filters.to ? `${filters.from || "start"}-to-${filters.to || "now"}` : today.toISOString().slice(0, 10);
  return `calls-${slug}-${days}.csv`;
}
