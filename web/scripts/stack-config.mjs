#!/usr/bin/env node
// config.json for the deployed dashboard, from the stack's outputs:
//
//   aws cloudformation describe-stacks --stack-name voice-agents-dev --output json \
//     | node web/scripts/stack-config.mjs > web/dist/config.json
//
// Reads `describe-stacks` (or just its Outputs array) on stdin; writes the page's settings.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const REQUIRED = ["ApiUrl", "UserPoolId", "UserPoolClientId", "UserPoolDomainUrl", "ApiScopes"];

/** @param {unknown} described `describe-stacks` output, or the Outputs array of one stack */
export function stackConfig(described) {
  const outputs = Array.isArray(described) ? described : described?.Stacks?.[0]?.Outputs;
  if (!Array.isArray(outputs)) throw new Error("expected describe-stacks output or its Outputs array");
  const values = Object.fromEntries(outputs.map((output) => [output.OutputKey, output.OutputValue]));
  const missing = REQUIRED.filter((key) => !values[key]);
  if (missing.length) throw new Error(`the stack has no output ${missing.join(", ")}: deploy the current template`);
  // Pool ids are {region}_{id}; the pool's issuer is the OIDC authority.
  const region = values.UserPoolId.split("_")[0];
  return {
    apiUrl: values.ApiUrl.replace(/\/+$/, ""),
    auth: {
      mode: "cognito",
      authority: `https://cognito-idp.${region}.amazonaws.com/${values.UserPoolId}`,
      clientId: values.UserPoolClientId,
      domain: values.UserPoolDomainUrl,
      apiScopes: values.ApiScopes,
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const config = stackConfig(JSON.parse(readFileSync(0, "utf8")));
  process.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
}
