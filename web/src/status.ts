import type { Agent } from "./api";

/** What a create does, in order, and how the agent's record shows each step is done. */
export const PROVISIONING_STEPS: readonly { label: string; done: (agent: Agent) => boolean }[] = [
  { label: "Retell LLM", done: (agent) => Boolean(agent.retellLlmId) },
  { label: "Retell agent", done: (agent) => Boolean(agent.retellAgentId) },
  { label: "Phone number", done: (agent) => Boolean(agent.phoneNumber) },
];

export function provisioningProgress(agent: Agent): { done: number; total: number } {
  const done = PROVISIONING_STEPS.filter((step) => step.done(agent)).length;
  return { done, total: PROVISIONING_STEPS.length };
}

const RETELL_STEPS = new Set(["create_llm", "check_llm", "create_agent"]);
const TWILIO_STEPS = new Set(["search_numbers", "buy_number"]);
const DATABASE_STEPS = new Set(["journal", "record_llm", "record_agent", "record_number", "activate"]);

/** What the owner can do about a failed create, by the step that failed. */
export function failureAdvice(step: string | null): string {
  const cleanup = "Anything already bought was released.";
  if (step && RETELL_STEPS.has(step)) {
    return `Retell refused or did not answer. ${cleanup} Check the Retell API key and Retell's status, then create the agent again.`;
  }
  if (step && TWILIO_STEPS.has(step)) {
    return `Twilio could not sell or set up a number. ${cleanup} Check the Twilio account's balance, the regulatory bundle and address for the number's country and type (TWILIO_REGULATIONS; TWILIO_BUNDLE_SID and TWILIO_ADDRESS_SID for the default), then create the agent again.`;
  }
  if (step && DATABASE_STEPS.has(step)) {
    return `The database did not answer. ${cleanup} Wait a minute, then create the agent again.`;
  }
  return `${cleanup} Delete this agent and create it again; if it keeps failing, ask an operator to check the logs.`;
}

export const STATUS_LABELS: Record<Agent["status"], string> = {
  provisioning: "Setting up",
  active: "Active",
  deleting: "Deleting",
  failed: "Failed",
};
