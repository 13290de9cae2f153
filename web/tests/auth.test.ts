import { afterEach, describe, expect, it, vi } from "vitest";
import { signIn } from "../src/auth";
import type { DashboardConfig } from "../src/config";

// What the dashboard asks Cognito for, seen by a stand-in for oidc-client-ts's UserManager whose user
// is already signed in: the settings it was made with, and the tokens of that user.
const made: { scope: string }[] = [];
vi.mock("oidc-client-ts", () => ({
  UserManager: class {
    constructor(settings: { scope: string }) {
      made.push(settings);
    }
    async getUser() {
      return { expired: false, access_token: "the-access-token", id_token: "the-id-token", profile: { sub: "s" } };
    }
    async signinRedirect() {}
  },
  WebStorageStateStore: class {},
}));

const CONFIG: DashboardConfig = {
  apiUrl: "https://api.example.com",
  auth: {
    mode: "cognito",
    authority: "https://cognito-idp.ap-southeast-2.amazonaws.com/ap-southeast-2_AbCdEf123",
    clientId: "1example23456789",
    domain: "https://voice-agents-dev-123456789012.auth.ap-southeast-2.amazoncognito.com",
    apiScopes: "voice-agents/agents",
  },
};

afterEach(() => {
  made.length = 0;
});

describe("signing in with Cognito", () => {
  it("asks for the API's scope and calls the API with the access token, not the ID token", async () => {
    const session = await signIn(CONFIG);

    expect(made).toHaveLength(1);
    expect(made[0].scope.split(" ")).toEqual(["openid", "email", "voice-agents/agents"]);
    expect(await session?.token()).toBe("the-access-token");
  });
});
