/** The dashboard's settings: `config.json` next to index.html.
 *
 * Locally, `make api` serves it with an unsigned development token (`?user=<sub>` picks the owner).
 * Deployed, `scripts/stack-config.mjs` writes it from the stack's outputs.
 */
export interface LocalAuth {
  mode: "local";
  /** Unsigned JWT; only the local API accepts it. */
  token: string;
  user: string;
}

export interface CognitoAuth {
  mode: "cognito";
  /** The user pool's issuer: https://cognito-idp.{region}.amazonaws.com/{poolId} */
  authority: string;
  clientId: string;
  /** The pool's hosted sign-in domain, https://{prefix}.auth.{region}.amazoncognito.com */
  domain: string;
  /** The scopes the API's routes require, space-separated (the stack's ApiScopes output). */
  apiScopes: string;
}

export interface DashboardConfig {
  /** Base URL of the API; empty when the dashboard is served by the API itself. */
  apiUrl: string;
  auth: LocalAuth | CognitoAuth;
}

export class ConfigError extends Error {}

export function parseConfig(value: unknown): DashboardConfig {
  const config = value as Partial<DashboardConfig> | null;
  if (typeof config?.apiUrl !== "string" || typeof config.auth !== "object" || config.auth === null) {
    throw new ConfigError("config.json needs apiUrl and auth");
  }
  const auth = config.auth;
  if (auth.mode === "local" && typeof auth.token === "string") {
    return { apiUrl: config.apiUrl.replace(/\/+$/, ""), auth };
  }
  if (
    auth.mode === "cognito" &&
    [auth.authority, auth.clientId, auth.domain, auth.apiScopes].every(
      (text) => typeof text === "string" && text,
    )
  ) {
    return { apiUrl: config.apiUrl.replace(/\/+$/, ""), auth };
  }
  throw new ConfigError(`config.json: unknown or incomplete auth ${JSON.stringify(auth)}`);
}

export async function loadConfig(location: Location = window.location): Promise<DashboardConfig> {
  // The local API answers `?user=` with a token for that owner; a static host ignores it.
  const user = new URLSearchParams(location.search).get("user");
  const url = user ? `config.json?user=${encodeURIComponent(user)}` : "config.json";
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok) throw new ConfigError(`config.json: HTTP ${response.status}`);
  return parseConfig(await response.json());
}
