import { type FormEvent, useEffect, useMemo, useRef, useState } from "react";
import type { Agent, ApiClient, UpdateAgentRequest } from "../api";
import {
  type Hours,
  type HoursDraft,
  type HoursErrors,
  draftFromHours,
  hoursErrors,
  hoursFromDraft,
  isHoursField,
  sameHours,
  timeZones,
} from "../hours";
import { formatPhoneNumber } from "../phone";
import type { AnswerMode, FallbackAction } from "../routing";
import { AgentField, HintAndError, SelectField, describedBy } from "./AgentField";
import { FormActions } from "./FormActions";
import { HoursEditor } from "./HoursEditor";
import { type FieldError, useAgentVersion } from "./useAgentVersion";

interface Props {
  agent: Agent;
  client: ApiClient;
  /** The agent as the API now has it: after a save, or read again after someone else changed it. */
  onUpdated: (agent: Agent) => void;
  onClose: () => void;
}

/** The routing settings as the form's inputs hold them. */
export interface RoutingValues {
  transferNumber: string;
  answerMode: AnswerMode;
  ringSeconds: string;
  /** "": the default (forward to transferNumber when there is one, else voicemail). */
  fallbackAction: "" | FallbackAction;
  fallbackNumber: string;
  hours: HoursDraft;
}

const display = (number: string | null | undefined) => (number ? formatPhoneNumber(number).display : "");

export function routingValuesOf(agent: Agent): RoutingValues {
  return {
    transferNumber: display(agent.transferNumber),
    answerMode: agent.answerMode,
    ringSeconds: String(agent.ringSeconds),
    fallbackAction: agent.fallback?.action ?? "",
    fallbackNumber: display(agent.fallback?.number),
    hours: draftFromHours(agent.businessHours),
  };
}

/** A number as typed, compared as the API will store it (E.164) when it parses, as typed otherwise. */
const sameNumber = (a: string, b: string) => {
  const key = (text: string) => (text.trim() ? formatPhoneNumber(text.trim()).e164 : "");
  return key(a) === key(b);
};

function fallbackOf(values: RoutingValues): UpdateAgentRequest["fallback"] {
  if (values.fallbackAction === "") return null;
  const number = values.fallbackNumber.trim();
  return values.fallbackAction === "forward" && number
    ? { action: "forward", number }
    : { action: values.fallbackAction };
}

export class RingSecondsError extends Error {}

/**
 * Only what the owner changed: an untouched setting is not sent, so it cannot undo a change made
 * elsewhere. `hoursBefore` is the agent's businessHours as the API answered them. Throws
 * RingSecondsError when the ring time is not a whole number (nothing the API could be sent).
 */
export function routingChanges(
  before: RoutingValues,
  after: RoutingValues,
  hoursBefore: Hours | null,
): UpdateAgentRequest {
  const body: UpdateAgentRequest = {};
  if (!sameNumber(before.transferNumber, after.transferNumber)) {
    body.transferNumber = after.transferNumber.trim() || null;
  }
  if (after.answerMode !== before.answerMode) body.answerMode = after.answerMode;
  // The ring time matters (and its input shows) only while your phone rings first.
  if (after.answerMode === "person_first" && after.ringSeconds.trim() !== before.ringSeconds.trim()) {
    if (!/^\d+$/.test(after.ringSeconds.trim())) throw new RingSecondsError("a whole number of seconds, 5 to 60");
    body.ringSeconds = Number(after.ringSeconds.trim());
  }
  const fallbackBefore = fallbackOf(before);
  const fallbackAfter = fallbackOf(after);
  if (
    fallbackBefore?.action !== fallbackAfter?.action ||
    !sameNumber(fallbackBefore?.number ?? "", fallbackAfter?.number ?? "")
  ) {
    body.fallback = fallbackAfter;
  }
  const { hours } = hoursFromDraft(after.hours);
  if (!sameHours(hoursBefore, hours)) body.businessHours = hours;
  return body;
}

const NO_HOURS_ERRORS: HoursErrors = { days: {}, closedDateRows: {} };

type InputErrors = Partial<Record<"transferNumber" | "answerMode" | "ringSeconds" | "fallback" | "fallbackNumber", string>>;

export const FALLBACK_LABELS: Record<"" | FallbackAction, string> = {
  "": "Default: forward to your phone, or voicemail when there is none",
  forward: "Forward to a number",
  voicemail: "Voicemail",
  message: "A message asking them to call back",
};

/**
 * Where an active agent's calls go: the transfer number, who answers first, what happens when the
 * agent cannot answer, and business hours. Reads the agent for its ETag, sends only the settings
 * changed with If-Match (412: reloads and says so), and shows the API's field errors beside their
 * inputs (businessHours paths on the hours editor).
 */
export function RoutingForm({ agent, client, onUpdated, onClose }: Props) {
  const [values, setValues] = useState<RoutingValues>(() => routingValuesOf(agent));
  const [errors, setErrors] = useState<InputErrors>({});
  const [hoursProblems, setHoursProblems] = useState<HoursErrors>(NO_HOURS_ERRORS);
  const [localError, setLocalError] = useState<string | null>(null);
  // What the form was filled from: the baseline of "changed", and what If-Match vouches for.
  const original = useRef({ values: routingValuesOf(agent), hours: agent.businessHours });
  const { etag, saving, formError, save, inFlight } = useAgentVersion({
    agent,
    client,
    onUpdated,
    fill: (current) => {
      original.current = { values: routingValuesOf(current), hours: current.businessHours };
      setValues(routingValuesOf(current));
    },
  });
  const zones = useMemo(() => timeZones(values.hours.timezone), [values.hours.timezone]);

  const form = useRef<HTMLFormElement>(null);
  useEffect(() => {
    form.current?.querySelector<HTMLElement>("input, select")?.focus();
  }, []);

  const set = (change: Partial<RoutingValues>) => setValues((current) => ({ ...current, ...change }));

  /** The API's field errors on their inputs; the rest as one sentence above the buttons. */
  const showFields = (fields: FieldError[], closedDateRows: number[]): string | null => {
    const byInput: InputErrors = {};
    const other: string[] = [];
    const add = (key: keyof InputErrors, message: string) => {
      byInput[key] = byInput[key] ? `${byInput[key]}; ${message}` : message;
    };
    for (const { field, message } of fields) {
      if (field === "transferNumber" || field === "answerMode" || field === "ringSeconds") add(field, message);
      else if (field === "fallback.number" && values.fallbackAction === "forward") add("fallbackNumber", message);
      else if (field === "fallback" || field.startsWith("fallback.")) add("fallback", message);
      // With the hours editor switched off there is no input to show a businessHours error beside.
      else if (!isHoursField(field) || !values.hours.enabled) other.push(`${field}: ${message}`);
    }
    setErrors(byInput);
    setHoursProblems(values.hours.enabled ? hoursErrors(fields, closedDateRows) : NO_HOURS_ERRORS);
    return other.length ? other.join("; ") : null;
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (inFlight.current || etag === null) return;
    setLocalError(null);
    let body: UpdateAgentRequest;
    try {
      body = routingChanges(original.current.values, values, original.current.hours);
    } catch (problem) {
      if (!(problem instanceof RingSecondsError)) throw problem;
      setErrors({ ringSeconds: `Ring for ${problem.message}.` });
      setLocalError("Please correct the fields marked below.");
      return;
    }
    if (Object.keys(body).length === 0) {
      onClose();
      return;
    }
    const { closedDateRows } = hoursFromDraft(values.hours);
    setErrors({});
    setHoursProblems(NO_HOURS_ERRORS);
    if (await save(body, (fields) => showFields(fields, closedDateRows))) onClose();
  };

  const id = `routing-${agent.id}`;
  const titleId = `${id}-title`;
  const modeError = errors.answerMode;
  const shownError = localError ?? formError;
  return (
    // noValidate: as for the other forms, the API's validation is the one that counts.
    <form ref={form} className="routing-form" onSubmit={submit} noValidate aria-labelledby={titleId}>
      <h5 id={titleId}>Where calls to {agent.name} go</h5>
      <AgentField
        id={`${id}-transferNumber`}
        name="transferNumber"
        type="tel"
        autoComplete="tel"
        value={values.transferNumber}
        onChange={(transferNumber) => set({ transferNumber })}
        error={errors.transferNumber}
        hint="The agent can put callers through to it. With the country code, e.g. +61 2 9374 4000; empty for none."
      />
      <fieldset className="answer-mode" aria-describedby={describedBy(`${id}-answerMode`, false, modeError)}>
        <legend>Who answers</legend>
        {(
          [
            ["agent", "The agent"],
            ["person_first", "Ring my phone first"],
          ] as const
        ).map(([mode, label]) => (
          <div className="check" key={mode}>
            <input
              type="radio"
              id={`${id}-answerMode-${mode}`}
              name={`${id}-answerMode`}
              value={mode}
              checked={values.answerMode === mode}
              aria-invalid={modeError ? true : undefined}
              onChange={() => set({ answerMode: mode })}
            />
            <label htmlFor={`${id}-answerMode-${mode}`}>{label}</label>
          </div>
        ))}
        <HintAndError id={`${id}-answerMode`} error={modeError} />
        {values.answerMode === "person_first" ? (
          <AgentField
            id={`${id}-ringSeconds`}
            name="ringSeconds"
            type="number"
            min={5}
            max={60}
            value={values.ringSeconds}
            onChange={(ringSeconds) => set({ ringSeconds })}
            error={errors.ringSeconds}
            hint="5 to 60. Your phone rings this long; then the agent answers. Needs your phone number above."
          />
        ) : null}
      </fieldset>
      <SelectField
        id={`${id}-fallback`}
        name="fallback"
        label="If the agent can't answer"
        value={values.fallbackAction}
        options={(["", "forward", "voicemail", "message"] as const).map((value) => ({
          value,
          label: FALLBACK_LABELS[value],
        }))}
        onChange={(fallbackAction) => set({ fallbackAction })}
        error={errors.fallback}
      />
      {values.fallbackAction === "forward" ? (
        <AgentField
          id={`${id}-fallbackNumber`}
          name="fallbackNumber"
          type="tel"
          autoComplete="tel"
          value={values.fallbackNumber}
          onChange={(fallbackNumber) => set({ fallbackNumber })}
          error={errors.fallbackNumber}
          hint="Empty: your phone number above."
        />
      ) : null}
      <HoursEditor
        id={`${id}-hours`}
        draft={values.hours}
        onChange={(hours) => set({ hours })}
        errors={hoursProblems}
        zones={zones}
      />
      <FormActions error={shownError} saving={saving} canSave={etag !== null} onCancel={onClose} />
    </form>
  );
}
