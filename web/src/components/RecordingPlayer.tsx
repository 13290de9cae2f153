import { useEffect, useState } from "react";
import { type ApiClient, type CallDetail, errorMessage } from "../api";

interface Props {
  client: ApiClient;
  call: CallDetail;
  /** Reads the call again: a pending recording may have been copied since. */
  onRefresh: () => void;
}

type State =
  | { kind: "loading" }
  | { kind: "ready"; url: string; type: string }
  | { kind: "failed"; message: string };

/**
 * The call's recording in an <audio> player. The API answers a link that works for 15 minutes (the
 * stack's own copy, signed: an <audio src> needs no token); a link that has run out (the player's
 * error) is asked for again once, then the owner is offered to try.
 */
export function RecordingPlayer({ client, call, onRefresh }: Props) {
  const recording = call.recording;
  if (!recording || recording.status === "unavailable") {
    return <p className="hint">No recording of this call.</p>;
  }
  if (recording.status === "pending") {
    return (
      <p className="hint">
        The recording is being copied: it is ready a few minutes after the call.{" "}
        <button type="button" className="link" onClick={onRefresh}>
          Check again
        </button>
      </p>
    );
  }
  return <RecordingLink client={client} agentId={call.agentId} callSid={call.callSid} />;
}

function RecordingLink({ client, agentId, callSid }: { client: ApiClient; agentId: string; callSid: string }) {
  const [state, setState] = useState<State>({ kind: "loading" });
  const [renewed, setRenewed] = useState(0);

  const fetchLink = async () => {
    setState({ kind: "loading" });
    try {
      const { data, error, response } = await client.GET("/api/agents/{agentId}/calls/{callSid}/conversation-recording", {
        params: { path: { agentId, callSid } },
      });
      setState(
        data
          ? { kind: "ready", url: data.url, type: data.contentType }
          : { kind: "failed", message: errorMessage(error, response) },
      );
    } catch (problem) {
      setState({ kind: "failed", message: errorMessage(problem) });
    }
  };

  useEffect(() => {
    void fetchLink();
  }, [agentId, callSid]);

  if (state.kind === "loading") return <p>Loading the recording…</p>;
  if (state.kind === "failed") {
    return (
      <p className="recording-failed">
        <span className="field-error" role="alert">
          Could not load the recording: {state.message}
        </span>{" "}
        <button
          type="button"
          className="link"
          onClick={() => {
            setRenewed(0);
            void fetchLink();
          }}
        >
          Try again
        </button>
      </p>
    );
  }
  return (
    <audio
      className="recording-player"
      controls
      preload="metadata"
      src={state.url}
      aria-label="Recording of the call"
      onError={() => {
        // The link ran out (15 minutes) or was refused: one new link, then the owner decides.
        if (renewed < 1) {
          setRenewed((count) => count + 1);
          void fetchLink();
        } else {
          setState({ kind: "failed", message: "the player could not play it" });
        }
      }}
    >
      <a href={state.url} type={state.type}>
        Download the recording
      </a>
    </audio>
  );
}
