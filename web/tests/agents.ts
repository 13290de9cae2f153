import type { Agent } from "../src/api";

/** An active agent as the API returns it; `overrides` set the state a test needs. */
export function agent(overrides: Partial<Agent> = {}): Agent {
  return {
    id: "agt_1",
    name: "Reception",
    description: "Books appointments",
    prompt: "You are a receptionist.",
    beginMessage: null,
    voiceId: "11labs-Adrian",
    language: "en-AU",
    status: "active",
    phoneNumber: "+61412345678",
    country: "AU",
    numberType: "mobile",
    twilioPhoneNumberSid: "PN0123",
    webhookUrl: "https://example.test/api/webhooks/twilio/agt_1",
    retellAgentId: "agent_1",
    retellLlmId: "llm_1",
    failedStep: null,
    transferNumber: null,
    fallback: null,
    answerMode: "agent",
    ringSeconds: 20,
    businessHours: null,
    postCallFields: [],
    createdAt: "2026-11-27T01:00:00Z",
    updatedAt: "2026-11-27T01:00:02Z",
    ...overrides,
  };
}
