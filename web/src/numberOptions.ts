import type { ApiError, PhoneNumberOption } from "./api";

export type NumberType = PhoneNumberOption["numberType"];

/** A country (ISO 3166-1 alpha-2) and type of number: what a create buys. */
export interface NumberChoice {
  country: string;
  numberType: NumberType;
}

export const NUMBER_TYPE_LABELS: Record<NumberType, string> = {
  mobile: "Mobile",
  local: "Local",
  tollfree: "Toll-free",
};

const regionNames = new Intl.DisplayNames(["en"], { type: "region" });

/** "GB" → "United Kingdom"; a code the browser does not know is shown as it is. */
export function countryName(country: string): string {
  try {
    return regionNames.of(country) ?? country;
  } catch {
    return country; // not a well-formed region code
  }
}

/** "Mobile · Australia"; null when either is unknown (agents created before numbers had a country). */
export function describeNumber(country?: string | null, numberType?: string | null): string | null {
  if (!country || !numberType) return null;
  const type = NUMBER_TYPE_LABELS[numberType as NumberType] ?? numberType;
  return `${type} · ${countryName(country)}`;
}

/** The countries on offer: the default's first, the others by their names as the reader reads them. */
export function countriesOf(options: readonly PhoneNumberOption[]): string[] {
  const first = options.find((option) => option.default)?.country;
  const others = [...new Set(options.map((option) => option.country))].filter((country) => country !== first);
  others.sort((one, other) => countryName(one).localeCompare(countryName(other)));
  return first ? [first, ...others] : others;
}

const TYPE_ORDER = Object.keys(NUMBER_TYPE_LABELS);

/** The types on offer in `country`, in the order of NUMBER_TYPE_LABELS (mobile, local, toll-free). */
export function typesIn(options: readonly PhoneNumberOption[], country: string): NumberType[] {
  const types = options.filter((option) => option.country === country).map((option) => option.numberType);
  return types.sort((one, other) => TYPE_ORDER.indexOf(one) - TYPE_ORDER.indexOf(other));
}

/** The pair the deployment buys when a create names none: the one marked default, else the first. */
export function defaultChoice(options: readonly PhoneNumberOption[]): NumberChoice | null {
  const chosen = options.find((option) => option.default) ?? options[0];
  return chosen ? { country: chosen.country, numberType: chosen.numberType } : null;
}

/** Another country: the type stays when that country offers it, else its first type. */
export function inCountry(options: readonly PhoneNumberOption[], country: string, previous: NumberType): NumberChoice {
  const types = typesIn(options, country);
  return { country, numberType: types.includes(previous) ? previous : (types[0] ?? previous) };
}

export type NumberErrors = Partial<Record<keyof NumberChoice, string>>;

/** The API's 400 `fields` naming `country` or `numberType`, apart from the rest. */
export function splitNumberErrors(fields: NonNullable<ApiError["fields"]>): {
  number: NumberErrors;
  rest: NonNullable<ApiError["fields"]>;
} {
  const number: NumberErrors = {};
  const rest = fields.filter(({ field, message }) => {
    if (field !== "country" && field !== "numberType") return true;
    number[field] = message;
    return false;
  });
  return { number, rest };
}
