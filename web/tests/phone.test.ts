import { describe, expect, it } from "vitest";
import { formatPhoneNumber } from "../src/phone";

describe("formatPhoneNumber", () => {
  it.each([
    ["+61412345678", "+61 412 345 678"], // mobile, as Australians read it
    ["+61491570006", "+61 491 570 006"],
    ["+61298765432", "+61 2 9876 5432"], // Sydney landline
    ["+611800123456", "+61 1800 123 456"], // freecall
    ["+14155552671", "+1 415 555 2671"], // a number of another country keeps its own grouping
  ])("%s reads as %s and dials as itself", (e164, display) => {
    expect(formatPhoneNumber(e164)).toEqual({ display, e164 });
  });

  it.each(["", "not a number", "+61", "+6141234567890123", "0412345678"])(
    "shows %j as it is rather than guessing",
    (text) => {
      expect(formatPhoneNumber(text)).toEqual({ display: text, e164: text });
    },
  );
});
