import type { ApiError } from "../api";

/** The agent's fields a person types, as the create and edit forms label them. */
export type AgentFieldName = "name" | "description" | "prompt" | "beginMessage";

export const AGENT_FIELD_LABELS: Record<AgentFieldName, string> = {
  name: "Name",
  description: "Description (optional)",
  prompt: "Prompt",
  beginMessage: "First thing it says (optional)",
};

/** The routing form's own inputs (the API's `fallback.number` is the fallback's number input). */
export type RoutingFieldName = "transferNumber" | "ringSeconds" | "fallbackNumber";

export const ROUTING_FIELD_LABELS: Record<RoutingFieldName, string> = {
  transferNumber: "Your phone number",
  ringSeconds: "Ring for (seconds)",
  fallbackNumber: "Forward to (optional)",
};

export const PROMPT_HINT = "What the agent is and how it should talk to callers.";

export type FieldErrors = Partial<Record<AgentFieldName, string>>;

/**
 * The API's 400 `fields` split into those shown next to an input of this form and the rest, shown
 * above the button (a field this form has no input for would otherwise go unseen).
 */
export function splitFieldErrors(
  fields: NonNullable<ApiError["fields"]>,
  shown: readonly AgentFieldName[],
): { byField: FieldErrors; other: string | null } {
  const byField: FieldErrors = {};
  const other: string[] = [];
  for (const { field, message } of fields) {
    if ((shown as readonly string[]).includes(field)) byField[field as AgentFieldName] = message;
    else other.push(`${field}: ${message}`);
  }
  return { byField, other: other.length ? other.join("; ") : null };
}

interface Props {
  /** Unique on the page: the create form and every card's edit form each have their own. */
  id: string;
  name: AgentFieldName | RoutingFieldName;
  value: string;
  onChange: (value: string) => void;
  error?: string;
  multiline?: boolean;
  hint?: string;
  /** An input other than text: a phone number, or a number of seconds. */
  type?: "text" | "tel" | "number";
  min?: number;
  max?: number;
  autoComplete?: string;
}

const LABELS: Record<AgentFieldName | RoutingFieldName, string> = { ...AGENT_FIELD_LABELS, ...ROUTING_FIELD_LABELS };

/** The ids of a control's hint and error, as its aria-describedby lists them. */
export function describedBy(id: string, hint?: unknown, error?: unknown): string | undefined {
  return [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;
}

/** A control's hint and API error, below it; `describedBy` names them. */
export function HintAndError({ id, hint, error }: { id: string; hint?: string; error?: string }) {
  return (
    <>
      {hint ? (
        <p id={`${id}-hint`} className="hint">
          {hint}
        </p>
      ) : null}
      {error ? (
        <p id={`${id}-error`} className="field-error">
          {error}
        </p>
      ) : null}
    </>
  );
}

/** A labelled input whose hint and API error are its accessible description. */
export function AgentField({ name, ...rest }: Props) {
  return <TextField {...rest} name={name} label={LABELS[name]} />;
}

interface TextProps extends Omit<Props, "name" | "type"> {
  name: string;
  label: string;
  /** A line of text (default), an email address, a URL... */
  type?: "text" | "tel" | "number" | "email" | "url" | "date";
  rows?: number;
}

/** Any labelled input or textarea, its hint and API error its accessible description (AgentField's). */
export function TextField({
  id,
  name,
  label,
  value,
  onChange,
  error,
  multiline = false,
  hint,
  type = "text",
  min,
  max,
  autoComplete,
  rows = 3,
}: TextProps) {
  const common = {
    id,
    name,
    value,
    "aria-invalid": error ? true : undefined,
    "aria-describedby": describedBy(id, hint, error),
  };
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {multiline ? (
        <textarea {...common} rows={rows} onChange={(event) => onChange(event.target.value)} />
      ) : (
        <input
          {...common}
          type={type}
          min={min}
          max={max}
          autoComplete={autoComplete}
          onChange={(event) => onChange(event.target.value)}
        />
      )}
      <HintAndError id={id} hint={hint} error={error} />
    </div>
  );
}

interface SelectProps<Value extends string> {
  id: string;
  name: string;
  label: string;
  value: Value;
  options: readonly { value: Value; label: string }[];
  onChange: (value: Value) => void;
  error?: string;
  hint?: string;
}

/** A labelled select, like AgentField: its hint and API error are its accessible description. */
export function SelectField<Value extends string>({
  id,
  name,
  label,
  value,
  options,
  onChange,
  error,
  hint,
}: SelectProps<Value>) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select
        id={id}
        name={name}
        value={value}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy(id, hint, error)}
        onChange={(event) => onChange(event.target.value as Value)}
      >
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
      <HintAndError id={id} hint={hint} error={error} />
    </div>
  );
}
