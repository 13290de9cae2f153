import { useEffect, useRef, useState } from "react";
import { type ApiClient, errorMessage } from "../api";

interface Props {
  client: ApiClient;
  /** The call whose voicemail it is: its audio is the API's GET /api/agents/{agentId}/calls/{callSid}/recording. */
  agentId: string;
  callSid: string;
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

/**
 * A voicemail, fetched when asked for (with the API's Authorization, which an <audio src> could not
 * send) and played from a blob URL; a failed fetch says why.
 */
export function VoicemailPlayer({ client, agentId, callSid, caller, length }: Props) {
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
    let read;
    try {
      // Through the API client: the same Authorization as every other request.
      read = await client.GET("/api/agents/{agentId}/calls/{callSid}/recording", {
        params: { path: { agentId, callSid } },
        parseAs: "blob",
      });
    } catch (problem) {
      setState({ kind: "failed", message: errorMessage(problem) });
      return;
    }
    const { data, error, response } = read;
    if (!data) {
      setState({ kind: "failed", message: errorMessage(error, response) });
      return;
    }
    const type = response.headers.get("Content-Type") ?? "";
    if (!type.startsWith("audio/")) {
      setState({ kind: "failed", message: `the API answered ${type || "no content type"}, not audio` });
      return;
    }
    setState({ kind: "ready", src: URL.createObjectURL(data) });
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
