import type { Call } from "./api";

export const CALL_STATUS_LABELS: Record<Call["status"], string> = {
  registered: "Connecting",
  ongoing: "In progress",
  ended: "Ended",
  not_connected: "Not connected",
};

/** A call's length as people say it: "45 s", "1 min 05 s", "1 h 02 min 05 s"; none before it ends. */
export function formatDuration(durationMs: number | null): string | null {
  if (durationMs === null || !Number.isFinite(durationMs) || durationMs < 0) return null;
  const totalSeconds = Math.round(durationMs / 1000);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  const padded = String(seconds).padStart(2, "0");
  if (hours > 0) return `${hours} h ${String(minutes).padStart(2, "0")} min ${padded} s`;
  if (minutes > 0) return `${minutes} min ${padded} s`;
  return `${seconds} s`;
}

/** When the call came in, in the reader's own time zone and language. */
export function formatWhen(iso: string, locale?: string): string {
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return iso;
  return when.toLocaleString(locale, { dateStyle: "medium", timeStyle: "short" });
}
