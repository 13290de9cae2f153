import { type FormEvent, useRef, useState } from "react";
import { type Agent, type ApiClient, type CreateAgentRequest, errorMessage } from "../api";
import {
  type FieldDraft,
  type PostCallFieldErrors,
  fieldsOf,
  splitPostCallFieldErrors,
} from "../postCallFields";
import { type NumberChoice, type NumberErrors, defaultChoice, splitNumberErrors } from "../numberOptions";
import { type AgentFieldName, AgentField, type FieldErrors, PROMPT_HINT, splitFieldErrors } from "./AgentField";
import { NumberChoiceField } from "./NumberChoiceField";
import { PostCallFieldsEditor } from "./PostCallFieldsEditor";
import { usePhoneNumberOptions } from "./usePhoneNumberOptions";

interface Props {
  client: ApiClient;
  onStarted: () => void;
  onFinished: (agent: Agent | null) => void;
}

const FIELDS: readonly AgentFieldName[] = ["name", "description", "prompt", "beginMessage"];

function newKey(): string {
  return crypto.randomUUID();
}

export function CreateAgentForm({ client, onStarted, onFinished }: Props) {
  const [values, setValues] = useState<Record<AgentFieldName, string>>({
    name: "",
    description: "",
    prompt: "",
    beginMessage: "",
  });
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const [postCallFields, setPostCallFields] = useState<FieldDraft[]>([]);
  const [postCallErrors, setPostCallErrors] = useState<PostCallFieldErrors>({ rows: {} });
  const numberOptions = usePhoneNumberOptions(client);
  // The owner's pick; until they make one, the deployment's default.
  const [pickedNumber, setPickedNumber] = useState<NumberChoice | null>(null);
  const number =
    pickedNumber ?? (numberOptions.kind === "loaded" ? defaultChoice(numberOptions.options) : null);
  const [numberErrors, setNumberErrors] = useState<NumberErrors>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [submitting, setSubmitting] = useState(false);
  // One key per intended create, not per click: a double click or a retry after a lost answer sends
  // the same key, so the API answers the first result and buys one number. Editing makes a new one.
  const idempotencyKey = useRef(newKey());
  const inFlight = useRef(false);

  const change = (field: AgentFieldName, value: string) => {
    setValues((current) => ({ ...current, [field]: value }));
    idempotencyKey.current = newKey();
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (inFlight.current) return;
    inFlight.current = true;
    setSubmitting(true);
    setFieldErrors({});
    setPostCallErrors({ rows: {} });
    setNumberErrors({});
    setFormError(null);
    onStarted();
    const body: CreateAgentRequest = {
      name: values.name,
      prompt: values.prompt,
      description: values.description || null,
      beginMessage: values.beginMessage || null,
    };
    if (postCallFields.length) body.postCallFields = fieldsOf(postCallFields);
    // Options unread: neither is sent, and the deployment's default applies.
    if (number) Object.assign(body, number);
    let created: Agent | null = null;
    try {
      const { data, error, response } = await client.POST("/api/agents", {
        body,
        headers: { "Idempotency-Key": idempotencyKey.current },
      });
      if (data) {
        created = data;
        setValues({ name: "", description: "", prompt: "", beginMessage: "" });
        setPostCallFields([]);
        setPickedNumber(null);
        idempotencyKey.current = newKey();
      } else if (error && "fields" in error && error.fields?.length) {
        const { number: numberProblems, rest: notNumber } = splitNumberErrors(error.fields);
        const { postCall, rest } = splitPostCallFieldErrors(notNumber);
        const { byField, other } = splitFieldErrors(rest, FIELDS);
        setFieldErrors(byField);
        setPostCallErrors(postCall);
        setNumberErrors(numberProblems);
        setFormError(other ?? "Please correct the fields marked below.");
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

  const field = (name: AgentFieldName, multiline = false, hint?: string) => (
    <AgentField
      id={`create-${name}`}
      name={name}
      value={values[name]}
      onChange={(value) => change(name, value)}
      error={fieldErrors[name]}
      multiline={multiline}
      hint={hint}
    />
  );

  return (
    // noValidate: the API's own validation is the one that counts, and its answer names each field.
    <form className="create-form" onSubmit={submit} noValidate aria-labelledby="create-title">
      <h2 id="create-title">New agent</h2>
      {field("name")}
      {field("description")}
      {field("prompt", true, PROMPT_HINT)}
      {field("beginMessage")}
      <NumberChoiceField
        id="create-number"
        state={numberOptions}
        value={number}
        onChange={(choice) => {
          setPickedNumber(choice);
          idempotencyKey.current = newKey();
        }}
        errors={numberErrors}
      />
      <PostCallFieldsEditor
        id="create"
        fields={postCallFields}
        onChange={(fields) => {
          setPostCallFields(fields);
          idempotencyKey.current = newKey();
        }}
        errors={postCallErrors}
      />
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
