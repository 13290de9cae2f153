import { useEffect, useRef } from "react";
import {
  FIELD_TYPE_LABELS,
  type FieldDraft,
  MAX_POST_CALL_FIELDS,
  type PostCallFieldErrors,
  type PostCallFieldType,
  emptyDraft,
} from "../postCallFields";
import { HintAndError, SelectField, TextField, describedBy } from "./AgentField";

interface Props {
  /** Unique on the page: the create form's and each card's edit form's. */
  id: string;
  fields: FieldDraft[];
  onChange: (fields: FieldDraft[]) => void;
  errors: PostCallFieldErrors;
}

const TYPE_OPTIONS = (Object.keys(FIELD_TYPE_LABELS) as PostCallFieldType[]).map((value) => ({
  value,
  label: FIELD_TYPE_LABELS[value],
}));

const NAME_HINT = "Lower-case letters, digits and underscores, e.g. appointment_booked: the answer's name.";

/**
 * The owner's own questions about every call (the agent's postCallFields): up to 10, each a name,
 * a type, what to extract and, for "one of a list", its choices. The API's 400s are shown where they
 * point: on an input, on a field's group, or on the whole list.
 */
export function PostCallFieldsEditor({ id, fields, onChange, errors }: Props) {
  const listId = `${id}-pcf`;
  // Added: the keyboard goes to the new field's name; removed: to "Add a field".
  const focusNext = useRef<string | null>(null);
  const addButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    const target = focusNext.current;
    focusNext.current = null;
    if (target === "add") addButton.current?.focus();
    else if (target) document.getElementById(target)?.focus();
  }, [fields]);

  const change = (index: number, patch: Partial<FieldDraft>) =>
    onChange(fields.map((field, at) => (at === index ? { ...field, ...patch } : field)));
  const add = () => {
    const draft = emptyDraft();
    focusNext.current = `${listId}-${draft.key}-name`;
    onChange([...fields, draft]);
  };
  const remove = (index: number) => {
    focusNext.current = "add";
    onChange(fields.filter((_, at) => at !== index));
  };
  const full = fields.length >= MAX_POST_CALL_FIELDS;
  const hint = `Retell answers these after every call; the answers show on the call's page. Up to ${MAX_POST_CALL_FIELDS}.`;

  return (
    <fieldset
      className="post-call-fields"
      aria-describedby={describedBy(listId, hint, errors.list)}
      aria-invalid={errors.list ? true : undefined}
    >
      <legend>Questions after each call</legend>
      <HintAndError id={listId} hint={hint} error={errors.list} />
      {fields.length === 0 ? <p className="empty">None.</p> : null}
      <ol className="pcf-list">
        {fields.map((field, index) => {
          const rowId = `${listId}-${field.key}`;
          const rowErrors = errors.rows[index] ?? {};
          const title = `Field ${index + 1}`;
          return (
            <li key={field.key}>
              <fieldset
                className="pcf-row"
                aria-describedby={rowErrors.row ? `${rowId}-error` : undefined}
                aria-invalid={rowErrors.row ? true : undefined}
              >
                <legend>
                  {title}
                  {field.name ? `: ${field.name}` : ""}
                </legend>
                <HintAndError id={rowId} error={rowErrors.row} />
                <TextField
                  id={`${rowId}-name`}
                  name={`postCallFields.${index}.name`}
                  label="Field name"
                  value={field.name}
                  onChange={(name) => change(index, { name })}
                  error={rowErrors.name}
                  hint={NAME_HINT}
                  autoComplete="off"
                />
                <SelectField
                  id={`${rowId}-type`}
                  name={`postCallFields.${index}.type`}
                  label="Type"
                  value={field.type}
                  options={TYPE_OPTIONS}
                  onChange={(type) => change(index, { type })}
                  error={rowErrors.type}
                />
                <TextField
                  id={`${rowId}-description`}
                  name={`postCallFields.${index}.description`}
                  label="What to find out"
                  value={field.description}
                  onChange={(description) => change(index, { description })}
                  error={rowErrors.description}
                  hint="As the model reads it, e.g. Did the caller book an appointment?"
                />
                {field.type === "enum" ? (
                  <TextField
                    id={`${rowId}-choices`}
                    name={`postCallFields.${index}.choices`}
                    label="Choices, one a line"
                    value={field.choices}
                    onChange={(choices) => change(index, { choices })}
                    error={rowErrors.choices}
                    multiline
                  />
                ) : null}
                <button
                  type="button"
                  className="link"
                  onClick={() => remove(index)}
                  aria-label={`Remove ${title.toLowerCase()}${field.name ? ` (${field.name})` : ""}`}
                >
                  Remove
                </button>
              </fieldset>
            </li>
          );
        })}
      </ol>
      <button
        type="button"
        className="secondary"
        ref={addButton}
        onClick={add}
        disabled={full}
        aria-describedby={full ? `${listId}-full` : undefined}
      >
        Add a field
      </button>
      {full ? (
        <p id={`${listId}-full`} className="hint">
          {MAX_POST_CALL_FIELDS} fields is the most an agent can have.
        </p>
      ) : null}
    </fieldset>
  );
}
