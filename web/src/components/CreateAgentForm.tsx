import { type FormEvent, useRef, useState } from "react";
import { type Agent, type ApiClient, type CreateAgentRequest, errorMessage } from "../api";

interface Props {
  client: ApiClient;
  onStarted: () => void;
  onFinished: (agent: Agent | null) => void;
}

type FieldName = "name" | "description" | "prompt" | "beginMessage";
const FIELDS: readonly FieldName[] = ["name", "description", "prompt", "beginMessage"];

function newKey(): string {
  return crypto.randomUUID();
}

export function CreateAgentForm({ client, onStarted, onFinished }: Props) {
  const [values, setValues] = useState<Record<FieldName, string>>({
    name: "",
    description: "",
    prompt: "",
    beginMessage: "",
  });
  const [fieldErrors, setFieldErrors] = useState<Partial<Record<FieldName, string>>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [submitting, setSubmitting] = useState(false);
  // One key per intended create, not per click: a double click or a retry after a lost answer sends
  // the same key, so the API answers the first result and buys one number. Editing makes a new one.
  const idempotencyKey = useRef(newKey());
  const inFlight = useRef(false);

  const change = (field: FieldName, value: string) => {
    setValues((current) => ({ ...current, [field]: value }));
    idempotencyKey.current = newKey();
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (inFlight.current) return;
    inFlight.current = true;
    setSubmitting(true);
    setFieldErrors({});
    setFormError(null);
    onStarted();
    const body: CreateAgentRequest = {
      name: values.name,
      prompt: values.prompt,
      description: values.description || null,
      beginMessage: values.beginMessage || null,
    };
    let created: Agent | null = null;
    try {
      const { data, error, response } = await client.POST("/api/agents", {
        body,
        headers: { "Idempotency-Key": idempotencyKey.current },
      });
      if (data) {
        created = data;
        setValues({ name: "", description: "", prompt: "", beginMessage: "" });
        idempotencyKey.current = newKey();
      } else if (error && "fields" in error && error.fields?.length) {
        const byField: Partial<Record<FieldName, string>> = {};
        const other: string[] = [];
        for (const { field, message } of error.fields) {
          if ((FIELDS as readonly string[]).includes(field)) byField[field as FieldName] = message;
          else other.push(`${field}: ${message}`);
        }
        setFieldErrors(byField);
        setFormError(other.length ? other.join("; ") : "Please correct the fields marked below.");
      } else {
        const step = error && "step" in error && error.step ? ` (step ${error.step})` : "";
        setFormError(`${errorMessage(error, response)}${step}`);
      }
    } catch (failure) {
      setFormError(`The request did not complete: ${errorMessage(failure)}. Submitting again is safe.`);
    } finally {
      inFlight.current = false;
      setSubmitting(false);
      onFinished(created);
    }
  };

  const field = (name: FieldName, label: string, multiline = false, hint?: string) => {
    const id = `create-${name}`;
    const error = fieldErrors[name];
    const described = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ");
    const common = {
      id,
      name,
      value: values[name],
      "aria-invalid": error ? true : undefined,
      "aria-describedby": described || undefined,
    };
    return (
      <div className="field">
        <label htmlFor={id}>{label}</label>
        {multiline ? (
          <textarea {...common} rows={3} onChange={(event) => change(name, event.target.value)} />
        ) : (
          <input {...common} type="text" onChange={(event) => change(name, event.target.value)} />
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
  };

  return (
    // noValidate: the API's own validation is the one that counts, and its answer names each field.
    <form className="create-form" onSubmit={submit} noValidate aria-labelledby="create-title">
      <h2 id="create-title">New agent</h2>
      {field("name", "Name")}
      {field("description", "Description (optional)")}
      {field("prompt", "Prompt", true, "What the agent is and how it should talk to callers.")}
      {field("beginMessage", "First thing it says (optional)")}
      {formError ? (
        <p className="form-error" role="alert">
          {formError}
        </p>
      ) : null}
      <button type="submit" disabled={submitting}>
        {submitting ? "Creating… (buying a number)" : "Create agent"}
      </button>
    </form>
  );
}
