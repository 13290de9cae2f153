import { useEffect, useState } from "react";
import { type ApiClient, type PhoneNumberOption, errorMessage } from "../api";

/** The numbers the deployment can buy: being read, read, or unreadable (why, as a sentence). */
export type NumberOptionsState =
  | { kind: "loading" }
  | { kind: "loaded"; options: PhoneNumberOption[] }
  | { kind: "failed"; reason: string };

/** Reads `GET /api/phone-number-options` once. */
export function usePhoneNumberOptions(client: ApiClient): NumberOptionsState {
  const [state, setState] = useState<NumberOptionsState>({ kind: "loading" });
  useEffect(() => {
    let current = true;
    const read = async (): Promise<NumberOptionsState> => {
      try {
        const { data, error, response } = await client.GET("/api/phone-number-options");
        if (data?.options.length) return { kind: "loaded", options: data.options };
        return { kind: "failed", reason: data ? "no numbers are on offer" : errorMessage(error, response) };
      } catch (failure) {
        return { kind: "failed", reason: errorMessage(failure) };
      }
    };
    void read().then((next) => {
      if (current) setState(next);
    });
    return () => {
      current = false;
    };
  }, [client]);
  return state;
}
