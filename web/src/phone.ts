import { parsePhoneNumberFromString } from "libphonenumber-js/min";

export interface FormattedNumber {
  /** As people read it: +61 412 345 678 */
  display: string;
  /** For a tel: link and the clipboard: +61412345678 */
  e164: string;
}

/** An E.164 number grouped the way its country reads it; unparseable input is shown as it is. */
export function formatPhoneNumber(number: string): FormattedNumber {
  const parsed = parsePhoneNumberFromString(number);
  if (!parsed?.isValid()) return { display: number, e164: number };
  return { display: parsed.formatInternational(), e164: parsed.number };
}
