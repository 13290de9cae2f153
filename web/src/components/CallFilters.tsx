import { type FormEvent, useState } from "react";
import type { PostCallField } from "../api";
import { CALL_STATUS_LABELS } from "../calls";
import { type CallFilters as Filters, NO_FILTERS, answerChoices } from "../callFilters";
import { SelectField, TextField } from "./AgentField";

interface Props {
  /** Unique on the page (each card has its own). */
  id: string;
  /** The questions whose answers can be filtered on (the agent's postCallFields). */
  fields: readonly PostCallField[];
  /** The filters in force: applied by the form's button, cleared by Clear. */
  onApply: (filters: Filters) => void;
  /** The API's 400 about a filter, said above the button. */
  error?: string | null;
}

const STATUS_OPTIONS = [
  { value: "" as const, label: "Any" },
  ...(Object.keys(CALL_STATUS_LABELS) as (keyof typeof CALL_STATUS_LABELS)[]).map((value) => ({
    value,
    label: CALL_STATUS_LABELS[value],
  })),
];

/** The history's filters: status, the days (in the browser's time zone), the caller, a field's answer. */
export function CallFilters({ id, fields, onApply, error }: Props) {
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const set = (patch: Partial<Filters>) => setFilters((current) => ({ ...current, ...patch }));
  const field = fields.find((each) => each.name === filters.fieldName);
  const choices = answerChoices(field);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onApply(filters);
  };
  return (
    <form className="call-filters" role="search" aria-label="Filter the calls" onSubmit={submit} noValidate>
      <SelectField
        id={`${id}-status`}
        name="status"
        label="Status"
        value={filters.status}
        options={STATUS_OPTIONS}
        onChange={(status) => set({ status })}
      />
      <TextField id={`${id}-from`} name="from" label="From (day)" type="date" value={filters.from} onChange={(from) => set({ from })} />
      <TextField id={`${id}-to`} name="to" label="To (day)" type="date" value={filters.to} onChange={(to) => set({ to })} />
      <TextField
        id={`${id}-caller`}
        name="caller"
        label="Caller's number"
        type="tel"
        value={filters.caller}
        onChange={(caller) => set({ caller })}
        autoComplete="off"
      />
      {fields.length ? (
        <>
          <SelectField
            id={`${id}-field`}
            name="fieldName"
            label="Answer to"
            value={filters.fieldName}
            options={[{ value: "", label: "Any question" }, ...fields.map((each) => ({ value: each.name, label: each.name }))]}
            onChange={(fieldName) => set({ fieldName, fieldValue: "" })}
          />
          {filters.fieldName && choices ? (
            <SelectField
              id={`${id}-answer`}
              name="fieldValue"
              label="Is"
              value={filters.fieldValue}
              options={[{ value: "", label: "Any answer" }, ...choices]}
              onChange={(fieldValue) => set({ fieldValue })}
            />
          ) : filters.fieldName ? (
            <TextField
              id={`${id}-answer`}
              name="fieldValue"
              label="Is"
              type={field?.type === "number" ? "number" : "text"}
              value={filters.fieldValue}
              onChange={(fieldValue) => set({ fieldValue })}
            />
          ) : null}
        </>
      ) : null}
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
      <div className="form-actions">
        <button
          type="button"
          className="secondary"
          onClick={() => {
            setFilters(NO_FILTERS);
            onApply(NO_FILTERS);
          }}
        >
          Clear
        </button>
        <button type="submit">Show calls</button>
      </div>
    </form>
  );
}
