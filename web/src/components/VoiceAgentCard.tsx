import { useState } from "react";
import type { Agent } from "../api";
import { formatPhoneNumber } from "../phone";
import { PROVISIONING_STEPS, STATUS_LABELS, failureAdvice, provisioningProgress } from "../status";
import { PhoneIcon } from "./PhoneIcon";

interface Props {
  agent: Agent;
  /** Asks to delete; the card's owner confirms first. Absent while the agent cannot be deleted. */
  onDelete?: (agent: Agent) => void;
}

export function VoiceAgentCard({ agent, onDelete }: Props) {
  const headingId = `agent-${agent.id}-name`;
  const deletable = agent.status === "active" || agent.status === "failed";
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
      <StatusDetail agent={agent} />
      {deletable && onDelete ? (
        <footer className="card-actions">
          <button
            type="button"
            className="danger"
            onClick={() => onDelete(agent)}
            aria-label={`Delete ${agent.name}`}
          >
            Delete
          </button>
        </footer>
      ) : null}
    </article>
  );
}

function PhoneLine({ agent }: { agent: Agent }) {
  const [copied, setCopied] = useState(false);
  // A failed create released whatever it bought: the number is not the agent's any more.
  if (!agent.phoneNumber || agent.status === "failed") {
    return <p className="phone phone-none">{agent.status === "failed" ? "No number" : "No number yet"}</p>;
  }
  const number = formatPhoneNumber(agent.phoneNumber);
  const copy = async () => {
    await navigator.clipboard.writeText(number.e164);
    setCopied(true);
    window.setTimeout(() => setCopied(false), 2000);
  };
  return (
    <p className="phone">
      <PhoneIcon />
      <a href={`tel:${number.e164}`}>{number.display}</a>
      <button type="button" className="copy" onClick={copy} aria-label={`Copy ${number.display}`}>
        Copy
      </button>
      <span className="copied" role="status">
        {copied ? "Copied" : ""}
      </span>
    </p>
  );
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
