import type { Call, CallLeg } from "./api";
import { formatPhoneNumber } from "./phone";

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

/** Why a call was forwarded or went to voicemail, in words (the API's reasons; others as they are). */
export const ROUTE_REASON_WORDS: Record<string, string> = {
  after_hours: "after hours",
  agent_unreachable: "the agent could not be reached",
  agent_leg_failed: "the call to the agent failed",
  webhook_failed: "this service did not answer Twilio",
  transfer_not_answered: "the transfer was not answered",
  person_not_answered: "your phone was not answered",
  person_first: "rang your phone first",
};

export function reasonWords(reason: string): string {
  return ROUTE_REASON_WORDS[reason] ?? reason.replaceAll("_", " ");
}

/** A voicemail's length as a player shows it: "0:42", "12:05". */
export function formatClock(seconds: number | null): string | null {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return null;
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}

function answered(leg: CallLeg, call: Call): string {
  if (leg.answered === true) return " — answered";
  if (leg.answered === false) return " — not answered";
  // Unknown once the call is over: nothing to say rather than a guess.
  return call.status === "registered" || call.status === "ongoing" ? " — ringing" : "";
}

/**
 * Where the call went, step by step, in the order the caller met them: your phone rung first, the
 * agent, a transfer, a forward (and why), then voicemail, a message or nothing (missed). Empty while
 * the call path has not said yet.
 */
export function callRoute(call: Call): string[] {
  const steps: string[] = [];
  const shown = (number: string) => formatPhoneNumber(number).display;
  const transfer = call.transfer;
  const personFirst = transfer?.reason === "person_first";
  if (transfer && personFirst) steps.push(`Rang ${shown(transfer.to)} first${answered(transfer, call)}`);
  // A transfer is the agent's: it answered first.
  if (call.outcome === "agent" || (transfer && !personFirst)) steps.push("Answered by the agent");
  if (transfer && !personFirst) steps.push(`Transferred to ${shown(transfer.to)}${answered(transfer, call)}`);
  if (call.forward) {
    const why = call.forward.reason ? ` (${reasonWords(call.forward.reason)})` : "";
    steps.push(`Forwarded to ${shown(call.forward.to)}${why}${answered(call.forward, call)}`);
  }
  switch (call.outcome) {
    case "voicemail": {
      const length = formatClock(call.voicemail?.durationSeconds ?? null);
      const reason = call.voicemail?.reason;
      // A forward already says why; otherwise the voicemail does.
      const why = reason && !call.forward ? ` (${reasonWords(reason)})` : "";
      steps.push(`Voicemail${length ? `, ${length}` : ""}${why}`);
      break;
    }
    case "message":
      steps.push("Message played");
      break;
    case "missed":
      steps.push("Missed");
      break;
    case "person":
      if (transfer?.answered !== true && call.forward?.answered !== true) steps.push("Answered by a person");
      break;
    default:
      break;
  }
  return steps;
}

/** Who said a turn of the transcript. */
export const SPEAKER_LABELS: Record<"agent" | "caller" | "person", string> = {
  agent: "Agent",
  caller: "Caller",
  person: "Your phone",
};

/** Retell's sentiment ("Positive", "Negative", "Neutral", "Unknown"), as it is but for "Unknown". */
export function sentimentWords(sentiment: string | null): string | null {
  return sentiment && sentiment.toLowerCase() !== "unknown" ? sentiment : null;
}
