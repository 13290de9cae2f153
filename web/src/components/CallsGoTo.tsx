import { useLayoutEffect, useRef, useState } from "react";
import type { Agent, ApiClient } from "../api";
import { describeRouting } from "../routing";
import { KeepNumbers } from "./KeepNumbers";
import { RoutingForm } from "./RoutingForm";

interface Props {
  agent: Agent;
  /** With both, the owner can change the routing; without, the card only says where calls go. */
  client?: ApiClient;
  onUpdated?: (agent: Agent) => void;
}

/** The routing in plain words, as one sentence of its parts. */
export function RoutingSummary({ agent }: { agent: Agent }) {
  return (
    <p className="routing-summary">
      <KeepNumbers text={`${describeRouting(agent).join("; ")}.`} />
    </p>
  );
}

/** An active agent's "Calls go to": where its calls go, and a form to change that. */
export function CallsGoTo({ agent, client, onUpdated }: Props) {
  const [editing, setEditing] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const returnFocus = useRef(false);
  // Keyboard users go back to the button they came from once the form closes (in the commit that
  // removes the form, so focus never falls to the page in between).
  useLayoutEffect(() => {
    if (!editing && returnFocus.current) button.current?.focus();
    returnFocus.current = false;
  }, [editing]);
  const headingId = `agent-${agent.id}-routing`;
  return (
    <section className="routing" aria-labelledby={headingId}>
      <h4 id={headingId}>Calls go to</h4>
      {editing && client && onUpdated ? (
        <RoutingForm
          agent={agent}
          client={client}
          onUpdated={onUpdated}
          onClose={() => {
            returnFocus.current = true;
            setEditing(false);
          }}
        />
      ) : (
        <>
          <RoutingSummary agent={agent} />
          {client && onUpdated ? (
            <button
              type="button"
              className="secondary"
              ref={button}
              onClick={() => setEditing(true)}
              aria-label={`Change where calls to ${agent.name} go`}
            >
              Change
            </button>
          ) : null}
        </>
      )}
    </section>
  );
}
