import { type FormEvent, useEffect, useRef, useState } from "react";
import { type Agent, type ApiClient, type UpdateAgentRequest, errorMessage } from "../api";
import { type AgentFieldName, AgentField, type FieldErrors, PROMPT_HINT, splitFieldErrors } from "./AgentField";

interface Props {
  agent: Agent;
  client: ApiClient;
  /** The agent as the API now has it: after a save, or read again after someone else changed it. */
  onUpdated: (agent: Agent) => void;
  onClose: () => void;
}

type EditableField = Extract<AgentFieldName, "name" | "prompt" | "beginMessage">;
const FIELDS: readonly EditableField[] = ["name", "prompt", "beginMessage"];

type Values = Record<EditableField, string>;
const valuesOf = (agent: Agent): Values => ({
  name: agent.name,
  prompt: agent.prompt,
  beginMessage: agent.beginMessage ?? "",
});

/** Only what the owner changed: an untouched field is not sent, so it cannot undo a change made elsewhere. */
export function changedFields(before: Values, after: Values): UpdateAgentRequest {
  const body: UpdateAgentRequest = {};
  if (after.name !== before.name) body.name = after.name;
  if (after.prompt !== before.prompt) body.prompt = after.prompt;
  if (after.beginMessage !== before.beginMessage) body.beginMessage = after.beginMessage || null;
  return body;
}

/**
 * Edits an active agent in place. The form reads the agent first for its `ETag` and sends it as
 * `If-Match`: a change made elsewhere meanwhile is refused (412) rather than silently overwritten.
 */
export function EditAgentForm({ agent, client, onUpdated, onClose }: Props) {
  const [values, setValues] = useState<Values>(() => valuesOf(agent));
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [etag, setEtag] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  // What the form was filled from: the baseline of "changed", and what If-Match vouches for.
  const original = useRef<Values>(valuesOf(agent));
  // A second click before the first answer would send the same ETag again: refused (412), it would
  // be reported as a change made elsewhere.
  const inFlight = useRef(false);

  const readAgent = () => client.GET("/api/agents/{agentId}", { params: { path: { agentId: agent.id } } });
  const reload = async (): Promise<boolean> => {
    let read: Awaited<ReturnType<typeof readAgent>>;
    try {
      read = await readAgent();
    } catch (failure) {
      setFormError(`Could not read ${agent.name}: ${errorMessage(failure)}`);
      return false;
    }
    const { data, error, response } = read;
    if (!data) {
      setFormError(`Could not read ${agent.name}: ${errorMessage(error, response)}`);
      return false;
    }
    original.current = valuesOf(data);
    setValues(valuesOf(data));
    setEtag(response.headers.get("ETag"));
    onUpdated(data);
    return true;
  };

  // Read once, when the form opens: the list's copy may be stale and carries no ETag.
  useEffect(() => {
    void reload();
  }, []);
  // The form opens where the Edit button was: the keyboard goes straight to its first field.
  const form = useRef<HTMLFormElement>(null);
  useEffect(() => {
    form.current?.querySelector<HTMLElement>("input, textarea")?.focus();
  }, []);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (inFlight.current || etag === null) return;
    const body = changedFields(original.current, values);
    if (Object.keys(body).length === 0) {
      onClose();
      return;
    }
    inFlight.current = true;
    setSaving(true);
    setFieldErrors({});
    setFormError(null);
    try {
      const { data, error, response } = await client.PATCH("/api/agents/{agentId}", {
        params: { path: { agentId: agent.id }, header: { "If-Match": etag } },
        body,
      });
      if (data) {
        onUpdated(data);
        onClose();
      } else if (response.status === 412) {
        if (await reload()) {
          setFormError(
            `${agent.name} was changed elsewhere since this form opened: it shows the current values now. Make your change again and save.`,
          );
        }
      } else if (error && "fields" in error && error.fields?.length) {
        const { byField, other } = splitFieldErrors(error.fields, FIELDS);
        setFieldErrors(byField);
        setFormError(other ?? "Please correct the fields marked below.");
      } else {
        setFormError(errorMessage(error, response));
      }
    } catch (failure) {
      setFormError(`The request did not complete: ${errorMessage(failure)}.`);
    } finally {
      inFlight.current = false;
      setSaving(false);
    }
  };

  const field = (name: EditableField, multiline = false, hint?: string) => (
    <AgentField
      id={`edit-${agent.id}-${name}`}
      name={name}
      value={values[name]}
      onChange={(value) => setValues((current) => ({ ...current, [name]: value }))}
      error={fieldErrors[name]}
      multiline={multiline}
      hint={hint}
    />
  );

  const titleId = `edit-${agent.id}-title`;
  return (
    // noValidate: as for create, the API's validation is the one that counts.
    <form ref={form} className="edit-form" onSubmit={submit} noValidate aria-labelledby={titleId}>
      <h4 id={titleId}>Edit {agent.name}</h4>
      {field("name")}
      {field("prompt", true, PROMPT_HINT)}
      {field("beginMessage")}
      {formError ? (
        <p className="form-error" role="alert">
          {formError}
        </p>
      ) : null}
      <div className="form-actions">
        <button type="button" className="secondary" onClick={onClose}>
          Cancel
        </button>
        <button type="submit" disabled={saving || etag === null}>
          {saving ? "Saving…" : "Save"}
        </button>
      </div>
    </form>
  );
}
