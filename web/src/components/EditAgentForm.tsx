import { type FormEvent, useEffect, useRef, useState } from "react";
import type { Agent, ApiClient, UpdateAgentRequest } from "../api";
import {
  type FieldDraft,
  type PostCallFieldErrors,
  draftsOf,
  fieldsOf,
  sameFields,
  splitPostCallFieldErrors,
} from "../postCallFields";
import { type AgentFieldName, AgentField, type FieldErrors, PROMPT_HINT, splitFieldErrors } from "./AgentField";
import { FormActions } from "./FormActions";
import { PostCallFieldsEditor } from "./PostCallFieldsEditor";
import { useAgentVersion } from "./useAgentVersion";

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
  const [postCallFields, setPostCallFields] = useState<FieldDraft[]>(() => draftsOf(agent.postCallFields));
  const [postCallErrors, setPostCallErrors] = useState<PostCallFieldErrors>({ rows: {} });
  // What the form was filled from: the baseline of "changed", and what If-Match vouches for.
  const original = useRef<Values>(valuesOf(agent));
  const originalFields = useRef(agent.postCallFields ?? []);
  const { etag, saving, formError, save, inFlight } = useAgentVersion({
    agent,
    client,
    onUpdated,
    fill: (current) => {
      original.current = valuesOf(current);
      setValues(valuesOf(current));
      originalFields.current = current.postCallFields ?? [];
      setPostCallFields(draftsOf(current.postCallFields));
    },
  });

  // The form opens where the Edit button was: the keyboard goes straight to its first field.
  const form = useRef<HTMLFormElement>(null);
  useEffect(() => {
    form.current?.querySelector<HTMLElement>("input, textarea")?.focus();
  }, []);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (inFlight.current || etag === null) return;
    const body = changedFields(original.current, values);
    const fields = fieldsOf(postCallFields);
    if (!sameFields(originalFields.current, fields)) body.postCallFields = fields;
    if (Object.keys(body).length === 0) {
      onClose();
      return;
    }
    setFieldErrors({});
    setPostCallErrors({ rows: {} });
    const saved = await save(body, (errors) => {
      const { postCall, rest } = splitPostCallFieldErrors(errors);
      const { byField, other } = splitFieldErrors(rest, FIELDS);
      setFieldErrors(byField);
      setPostCallErrors(postCall);
      return other;
    });
    if (saved) onClose();
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
      <PostCallFieldsEditor
        id={`edit-${agent.id}`}
        fields={postCallFields}
        onChange={setPostCallFields}
        errors={postCallErrors}
      />
      <FormActions error={formError} saving={saving} canSave={etag !== null} onCancel={onClose} />
    </form>
  );
}
