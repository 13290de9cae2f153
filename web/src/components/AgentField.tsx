import type { ApiError } from "../api";

/** The agent's fields a person types, as the create and edit forms label them. */
export type AgentFieldName = "name" | "description" | "prompt" | "beginMessage";

export const AGENT_FIELD_LABELS: Record<AgentFieldName, string> = {
  name: "Name",
  description: "Description (optional)",
  prompt: "Prompt",
  beginMessage: "First thing it says (optional)",
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
  name: AgentFieldName;
  value: string;
  onChange: (value: string) => void;
  error?: string;
  multiline?: boolean;
  hint?: string;
}

/** A labelled input whose hint and API error are its accessible description. */
export function AgentField({ id, name, value, onChange, error, multiline = false, hint }: Props) {
  const described = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ");
  const common = {
    id,
    name,
    value,
    "aria-invalid": error ? true : undefined,
    "aria-describedby": described || undefined,
  };
  return (
    <div className="field">
      <label htmlFor={id}>{AGENT_FIELD_LABELS[name]}</label>
      {multiline ? (
        <textarea {...common} rows={3} onChange={(event) => onChange(event.target.value)} />
      ) : (
        <input {...common} type="text" onChange={(event) => onChange(event.target.value)} />
      )}
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
    </div>
  );
}
