import { useLayoutEffect, useRef, useState } from "react";
import type { Agent, ApiClient } from "../api";
import { describeNumber } from "../numberOptions";
import { formatPhoneNumber } from "../phone";
import { PROVISIONING_STEPS, STATUS_LABELS, failureAdvice, provisioningProgress } from "../status";
import { AgentUsage } from "./AgentUsage";
import { CallsGoTo } from "./CallsGoTo";
import { CopyButton } from "./CopyButton";
import { EditAgentForm } from "./EditAgentForm";
import { PhoneIcon } from "./PhoneIcon";
import { RecentCalls } from "./RecentCalls";

interface Props {
  agent: Agent;
  /** Asks to delete; the card's owner confirms first. Absent while the agent cannot be deleted. */
  onDelete?: (agent: Agent) => void;
  /** Reaches the API for the edit form and the calls; without it the card only shows the agent. */
  client?: ApiClient;
  /** The agent as the API now has it, after an edit. */
  onUpdated?: (agent: Agent) => void;
}

export function VoiceAgentCard({ agent, onDelete, client, onUpdated }: Props) {
  const [editing, setEditing] = useState(false);
  const headingId = `agent-${agent.id}-name`;
  const deletable = agent.status === "active" || agent.status === "failed";
  // Only an active agent can be changed (the API answers 409 otherwise) or take calls.
  const live = agent.status === "active" && client !== undefined;
  const editable = live && onUpdated !== undefined;
  const editButton = useRef<HTMLButtonElement>(null);
  const returnFocus = useRef(false);
  // Keyboard users go back to the Edit button they came from once the form closes: in the same
  // commit that removes the form, so focus never falls to the page in between.
  useLayoutEffect(() => {
    if (!editing && returnFocus.current) editButton.current?.focus();
    returnFocus.current = false;
  }, [editing]);
  const closeEditor = () => {
    returnFocus.current = true;
    setEditing(false);
  };
  return (
    <article className={`card status-${agent.status}`} aria-labelledby={headingId} data-agent-id={agent.id}>
      <header className="card-header">
        <h3 id={headingId}>{agent.name}</h3>
        <span className="status" data-status={agent.status}>
          {STATUS_LABELS[agent.status]}
        </span>
      </header>
      {agent.description ? <p className="description">{agent.description}</p> : null}
      <PhoneLine agent={agent} />
      <NumberKind agent={agent} />
      <StatusDetail agent={agent} />
      {agent.status === "active" ? <Script agent={agent} /> : null}
      {editable && editing ? (
        <EditAgentForm agent={agent} client={client} onUpdated={onUpdated} onClose={closeEditor} />
      ) : null}
      {agent.status === "active" ? (
        <CallsGoTo agent={agent} client={editable ? client : undefined} onUpdated={onUpdated} />
      ) : null}
      {live ? <RecentCalls agent={agent} client={client} /> : null}
      {live ? <AgentUsage agent={agent} client={client} /> : null}
      {(deletable && onDelete) || (editable && !editing) ? (
        <footer className="card-actions">
          {editable && !editing ? (
            <button
              type="button"
              className="secondary"
              ref={editButton}
              onClick={() => setEditing(true)}
              aria-label={`Edit ${agent.name}`}
            >
              Edit
            </button>
          ) : null}
          {deletable && onDelete ? (
            <button
              type="button"
              className="danger"
              onClick={() => onDelete(agent)}
              aria-label={`Delete ${agent.name}`}
            >
              Delete
            </button>
          ) : null}
        </footer>
      ) : null}
    </article>
  );
}

/** What the agent is told and says first: what an edit changes. */
function Script({ agent }: { agent: Agent }) {
  return (
    <dl className="script">
      <dt>Prompt</dt>
      <dd className="prompt">{agent.prompt}</dd>
      {agent.beginMessage ? (
        <>
          <dt>Says first</dt>
          <dd>{agent.beginMessage}</dd>
        </>
      ) : null}
    </dl>
  );
}

function PhoneLine({ agent }: { agent: Agent }) {
  // A failed create released whatever it bought: the number is not the agent's any more.
  if (!agent.phoneNumber || agent.status === "failed") {
    return <p className="phone phone-none">{agent.status === "failed" ? "No number" : "No number yet"}</p>;
  }
  const number = formatPhoneNumber(agent.phoneNumber);
  return (
    <p className="phone">
      <PhoneIcon />
      <a href={`tel:${number.e164}`}>{number.display}</a>
      <CopyButton text={number.e164} label={`Copy ${number.display}`} />
    </p>
  );
}

/** "Mobile · Australia": nothing for an agent created before numbers had a country and type. */
function NumberKind({ agent }: { agent: Agent }) {
  const kind = describeNumber(agent.country, agent.numberType);
  return kind ? <p className="number-kind">{kind}</p> : null;
}

function StatusDetail({ agent }: { agent: Agent }) {
  switch (agent.status) {
    case "provisioning": {
      const { done, total } = provisioningProgress(agent);
      return (
        <div className="status-detail">
          <label>
            Setting up: {done} of {total} done
            <progress value={done} max={total} />
          </label>
          <ul className="steps">
            {PROVISIONING_STEPS.map((step) => (
              <li key={step.label} data-done={step.done(agent)}>
                {step.label}
                {step.done(agent) ? " (done)" : ""}
              </li>
            ))}
          </ul>
        </div>
      );
    }
    case "failed":
      return (
        <div className="status-detail" role="note">
          <p>
            Failed at step <code>{agent.failedStep ?? "unknown"}</code>.
          </p>
          <p>{failureAdvice(agent.failedStep)}</p>
        </div>
      );
    case "deleting":
      return (
        <p className="status-detail">Releasing the phone number and removing the Retell agent…</p>
      );
    case "active":
      return null;
  }
}
