import type { Call, CallDetail } from "../src/api";

/** An ended call as the history lists it; `overrides` set what a test needs. */
export function call(n: number, overrides: Partial<Call> = {}): Call {
  return {
    callSid: `CA${String(n).padStart(32, "0")}`,
    retellCallId: `call_${n}`,
    agentId: "agt_1",
    from: "+61298765432",
    to: "+61412345678",
    status: "ended",
    registeredAt: "2026-11-27T01:00:00Z",
    startedAt: "2026-11-27T01:00:01Z",
    endedAt: "2026-11-27T01:01:06Z",
    durationMs: 65_000,
    disconnectionReason: "user_hangup",
    summary: null,
    sentiment: null,
    outcome: "agent",
    businessOpen: null,
    transfer: null,
    forward: null,
    voicemail: null,
    cost: null,
    twilioCost: null,
    postCallAnswers: {},
    ...overrides,
  };
}

/** One call in full, as GET /api/agents/{agentId}/calls/{callSid} answers it. */
export function callDetail(overrides: Partial<CallDetail> = {}): CallDetail {
  return {
    ...call(1, {
      summary: "The caller booked a cleaning for Tuesday.",
      sentiment: "Positive",
      cost: {
        currency: "USD",
        totalCents: 42,
        billedSeconds: 65,
        products: [
          { product: "elevenlabs_tts", cents: 8 },
          { product: "gpt_4_1", cents: 34 },
        ],
      },
      postCallAnswers: { appointment_booked: true, reason: "cleaning", party_size: 2 },
    }),
    transcript: [
      { speaker: "agent", text: "Thanks for calling, how can I help?", startSeconds: 0, endSeconds: 2.5 },
      { speaker: "caller", text: "I'd like a cleaning on Tuesday.", startSeconds: 3, endSeconds: 5.2 },
      { speaker: "agent", text: "Booked for Tuesday at ten.", startSeconds: 65.4, endSeconds: 67 },
    ],
    transcriptTruncated: false,
    recording: { status: "available", url: "/api/agents/agt_1/calls/CA1/conversation-recording" },
    ...overrides,
  };
}
