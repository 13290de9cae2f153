import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain ES module script, checked by its JSDoc only
import { stackConfig } from "../scripts/stack-config.mjs";
import { parseConfig } from "../src/config";

const OUTPUTS = [
  { OutputKey: "ApiUrl", OutputValue: "https://abc123.execute-api.ap-southeast-2.amazonaws.com/" },
  { OutputKey: "UserPoolId", OutputValue: "ap-southeast-2_AbCdEf123" },
  { OutputKey: "UserPoolClientId", OutputValue: "1example23456789" },
  { OutputKey: "UserPoolDomainUrl", OutputValue: "https://voice-agents-dev-123456789012.auth.ap-southeast-2.amazoncognito.com" },
  { OutputKey: "WebhookBaseUrl", OutputValue: "https://abc123.execute-api.ap-southeast-2.amazonaws.com" },
  { OutputKey: "ApiScopes", OutputValue: "voice-agents/agents" },
];

describe("stack-config.mjs: config.json from the stack's outputs", () => {
  it("makes a Cognito config the page accepts, from describe-stacks or its Outputs", () => {
    const expected = {
      apiUrl: "https://abc123.execute-api.ap-southeast-2.amazonaws.com",
      auth: {
        mode: "cognito",
        authority: "https://cognito-idp.ap-southeast-2.amazonaws.com/ap-southeast-2_AbCdEf123",
        clientId: "1example23456789",
        domain: "https://voice-agents-dev-123456789012.auth.ap-southeast-2.amazoncognito.com",
        apiScopes: "voice-agents/agents",
      },
    };
    expect(stackConfig({ Stacks: [{ Outputs: OUTPUTS }] })).toEqual(expected);
    expect(stackConfig(OUTPUTS)).toEqual(expected);
    expect(parseConfig(stackConfig(OUTPUTS))).toEqual(expected);
  });

  it.each(["UserPoolDomainUrl", "ApiScopes"])("names an output a stack from an older template lacks: %s", (key) => {
    const old = OUTPUTS.filter((output) => output.OutputKey !== key);
    expect(() => stackConfig(old)).toThrow(new RegExp(key));
  });

  it("refuses describe-stacks output without a stack", () => {
    expect(() => stackConfig({ Stacks: [] })).toThrow(/Outputs/);
  });
});

describe("parseConfig", () => {
  it("accepts the local API's config and drops a trailing slash of apiUrl", () => {
    const local = { apiUrl: "http://127.0.0.1:3000/", auth: { mode: "local", token: "a.b.", user: "me" } };
    expect(parseConfig(local).apiUrl).toBe("http://127.0.0.1:3000");
  });

  it.each([
    null,
    {},
    { apiUrl: "" },
    { apiUrl: "", auth: { mode: "local" } },
    { apiUrl: "", auth: { mode: "cognito", authority: "https://x", clientId: "" , domain: "https://y", apiScopes: "a/b" } },
    { apiUrl: "", auth: { mode: "cognito", authority: "https://x", clientId: "c", domain: "https://y" } },
    { apiUrl: "", auth: { mode: "saml" } },
  ])("refuses %j", (config) => {
    expect(() => parseConfig(config)).toThrow();
  });
});
