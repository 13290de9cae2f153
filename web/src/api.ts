import createClient from "openapi-fetch";
import type { components, paths } from "../../openapi/types";

export type Agent = components["schemas"]["Agent"];
export type AgentStatus = components["schemas"]["AgentStatus"];
export type ApiError = components["schemas"]["Error"];
export type CreateAgentRequest = components["schemas"]["CreateAgentRequest"];
export type UpdateAgentRequest = components["schemas"]["UpdateAgentRequest"];
export type Call = components["schemas"]["Call"];
export type CallLeg = components["schemas"]["CallLeg"];
export type CallDetail = components["schemas"]["CallDetail"];
export type CallCost = components["schemas"]["CallCost"];
export type TranscriptTurn = components["schemas"]["TranscriptTurn"];
export type PostCallField = components["schemas"]["PostCallField"];
export type PhoneNumberOption = components["schemas"]["PhoneNumberOption"];
export type NotificationSettings = components["schemas"]["NotificationSettings"];
export type ChannelResult = components["schemas"]["ChannelResult"];
export type Usage = components["schemas"]["Usage"];
export type UsageDay = components["schemas"]["UsageDay"];

/** The API client, typed by the generated OpenAPI types; every request carries the session's token. */
export function apiClient(baseUrl: string, token: () => Promise<string>) {
  // The dashboard reads JSON only: the calls routes also answer CSV, which would widen every body.
  const client = createClient<paths, "application/json">({ baseUrl });
  client.use({
    async onRequest({ request }) {
      request.headers.set("Authorization", `Bearer ${await token()}`);
      return request;
    },
  });
  return client;
}

export type ApiClient = ReturnType<typeof apiClient>;

/** A sentence for any failed answer: the API's `message`, API Gateway's, or the status. */
export function errorMessage(error: unknown, response?: Response): string {
  if (error && typeof error === "object" && "message" in error && typeof error.message === "string") {
    return error.message;
  }
  return response ? `The API answered ${response.status} ${response.statusText}`.trim() : String(error);
}
