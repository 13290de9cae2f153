import type { PhoneNumberOption } from "../api";
import {
  NUMBER_TYPE_LABELS,
  type NumberChoice,
  type NumberErrors,
  countriesOf,
  countryName,
  describeNumber,
  inCountry,
  typesIn,
} from "../numberOptions";
import { HintAndError, SelectField } from "./AgentField";
import type { NumberOptionsState } from "./usePhoneNumberOptions";

interface Props {
  /** Unique on the page. */
  id: string;
  state: NumberOptionsState;
  /** The pair chosen; null until the options are read (and when they cannot be). */
  value: NumberChoice | null;
  onChange: (choice: NumberChoice) => void;
  errors: NumberErrors;
}

/**
 * Which number a new agent gets: a country and a type among those the deployment can buy, the
 * default chosen first. One pair on offer is said rather than asked; when the options cannot be
 * read the create still works, with the deployment's default.
 */
export function NumberChoiceField({ id, state, value, onChange, errors }: Props) {
  const offered = state.kind === "loaded" && value ? state.options : null;
  return (
    <fieldset className="number-choice">
      <legend>Phone number</legend>
      {offered && offered.length > 1 && value ? (
        <NumberSelects id={id} options={offered} value={value} onChange={onChange} errors={errors} />
      ) : (
        <>
          <p className="number-choice-text">
            {state.kind === "loading" ? "Reading the numbers on offer…" : null}
            {state.kind === "failed"
              ? `Choosing a country and type of number is unavailable (${state.reason}): the agent gets this deployment's default number.`
              : null}
            {state.kind === "loaded" && value ? describeNumber(value.country, value.numberType) : null}
          </p>
          {/* A refusal still shows, even with nothing to change here. */}
          <HintAndError id={`${id}-country`} error={errors.country} />
          <HintAndError id={`${id}-numberType`} error={errors.numberType} />
        </>
      )}
    </fieldset>
  );
}

function NumberSelects({
  id,
  options,
  value,
  onChange,
  errors,
}: {
  id: string;
  options: readonly PhoneNumberOption[];
  value: NumberChoice;
  onChange: (choice: NumberChoice) => void;
  errors: NumberErrors;
}) {
  const countries = countriesOf(options).map((country) => ({ value: country, label: countryName(country) }));
  const types = typesIn(options, value.country).map((type) => ({ value: type, label: NUMBER_TYPE_LABELS[type] }));
  return (
    <>
      <SelectField
        id={`${id}-country`}
        name="country"
        label="Country"
        value={value.country}
        options={countries}
        onChange={(country) => onChange(inCountry(options, country, value.numberType))}
        error={errors.country}
      />
      <SelectField
        id={`${id}-numberType`}
        name="numberType"
        label="Number type"
        value={value.numberType}
        options={types}
        onChange={(numberType) => onChange({ ...value, numberType })}
        error={errors.numberType}
      />
    </>
  );
}
