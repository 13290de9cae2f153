import { useEffect, useRef, useState } from "react";
import { type ApiClient, errorMessage } from "../api";

interface Props {
  client: ApiClient;
  /** The voicemail's `recordingUrl`: this API's path, owner only. */
  url: string;
  /** Who left it, as shown: "+61 2 9876 5432" or "Unknown caller". */
  caller: string;
  /** Its length, "0:42", when known. */
  length: string | null;
}

type State =
  | { kind: "idle" }
  | { kind: "loading" }
  | { kind: "ready"; src: string }
  | { kind: "failed"; message: string };

/** Why the audio could not be had: the API's message when it sent one, else the status. */
async function failure(response: Response): Promise<string> {
  let body: unknown;
  try {
    body = await response.clone().json();
  } catch {
    body = undefined;
  }
  return errorMessage(body, response);
}

/**
 * A voicemail, fetched when asked for (with the API's Authorization, which an <audio src> could not
 * send) and played from a blob URL; a failed fetch says why.
 */
export function VoicemailPlayer({ client, url, caller, length }: Props) {
  const what = `voicemail from ${caller}${length ? `, ${length}` : ""}`;
  const [state, setState] = useState<State>({ kind: "idle" });
  const audio = useRef<HTMLAudioElement>(null);
  const src = state.kind === "ready" ? state.src : null;
  // The blob lives as long as its player.
  useEffect(() => () => (src ? URL.revokeObjectURL(src) : undefined), [src]);
  // Loaded by a click: the keyboard goes on to the player, where Space plays it.
  useEffect(() => {
    if (src) audio.current?.focus();
  }, [src]);

  const load = async () => {
    setState({ kind: "loading" });
    let response: Response;
    try {
      response = await client.getFile(url);
    } catch (problem) {
      setState({ kind: "failed", message: errorMessage(problem) });
      return;
    }
    if (!response.ok) {
      setState({ kind: "failed", message: await failure(response) });
      return;
    }
    const type = response.headers.get("Content-Type") ?? "";
    if (!type.startsWith("audio/")) {
      setState({ kind: "failed", message: `the API answered ${type || "no content type"}, not audio` });
      return;
    }
    setState({ kind: "ready", src: URL.createObjectURL(await response.blob()) });
  };

  if (state.kind === "ready") {
    return (
      <audio ref={audio} className="voicemail-player" controls src={state.src} aria-label={`Voicemail from ${caller}${length ? `, ${length}` : ""}`} tabIndex={0}>
        Your browser cannot play this recording.
      </audio>
    );
  }
  const action = state.kind === "loading" ? "Loading" : state.kind === "failed" ? "Try again to play" : "Play";
  return (
    <span className="voicemail">
      <button
        type="button"
        className="link"
        disabled={state.kind === "loading"}
        aria-label={`${action} ${what}`}
        onClick={() => void load()}
      >
        {action}
      </button>
      {state.kind === "failed" ? (
        <span className="field-error" role="alert">
          Could not load the voicemail: {state.message}
        </span>
      ) : null}
    </span>
  );
}
