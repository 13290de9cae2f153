import { useEffect, useRef } from "react";
import type { Agent } from "../api";
import { formatPhoneNumber } from "../phone";

interface Props {
  agent: Agent;
  onConfirm: () => void;
  onCancel: () => void;
}

/** A modal that says what deleting costs: the number goes back to Twilio for good. */
export function ConfirmDelete({ agent, onConfirm, onCancel }: Props) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const element = dialog.current;
    if (element && !element.open) element.showModal?.();
    return () => element?.close?.();
  }, []);
  const number =
    agent.phoneNumber && agent.status !== "failed" ? formatPhoneNumber(agent.phoneNumber).display : null;
  return (
    <dialog ref={dialog} className="confirm" aria-labelledby="confirm-title" onCancel={onCancel}>
      <h2 id="confirm-title">Delete {agent.name}?</h2>
      <p>
        {number
          ? `Its phone number ${number} will be released: callers will no longer reach this agent, and the number cannot be got back.`
          : "It has no phone number to release; its Retell agent will be removed."}
      </p>
      <div className="dialog-actions">
        <button type="button" onClick={onCancel} autoFocus>
          Keep it
        </button>
        <button type="button" className="danger" onClick={onConfirm}>
          Delete and release the number
        </button>
      </div>
    </dialog>
  );
}
