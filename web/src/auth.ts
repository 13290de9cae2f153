import type { User } from "oidc-client-ts";
import type { CognitoAuth, DashboardConfig } from "./config";

export interface Session {
  user: string;
  /** A current access token for the API's JWT authorizer (never the ID token: it has no scope). */
  token(): Promise<string>;
  signOut(): Promise<void>;
}

/** The signed-in session, or null while the browser is being sent to the sign-in page. */
export async function signIn(config: DashboardConfig): Promise<Session | null> {
  const auth = config.auth;
  if (auth.mode === "local") {
    return { user: auth.user, token: async () => auth.token, signOut: async () => undefined };
  }
  return cognitoSignIn(auth);
}

async function cognitoSignIn(auth: CognitoAuth): Promise<Session | null> {
  // Loaded only when deployed: the local build never downloads the OIDC library.
  const { UserManager, WebStorageStateStore } = await import("oidc-client-ts");
  const home = `${window.location.origin}${window.location.pathname}`;
  const manager = new UserManager({
    authority: auth.authority,
    client_id: auth.clientId,
    redirect_uri: home,
    response_type: "code", // authorization code; oidc-client-ts always adds PKCE (S256)
    // The API refuses a token without its scope: Cognito puts it in the access token it grants.
    scope: `openid email ${auth.apiScopes}`,
    // Tokens live as long as the tab: nothing persists in localStorage.
    userStore: new WebStorageStateStore({ store: window.sessionStorage }),
    automaticSilentRenew: false,
  });
  const query = new URLSearchParams(window.location.search);
  let user: User | null;
  if (query.has("code") && query.has("state")) {
    user = await manager.signinRedirectCallback();
    window.history.replaceState(null, "", home);
  } else {
    user = await manager.getUser();
  }
  if (!user || user.expired) {
    await manager.signinRedirect();
    return null;
  }
  const signedIn = user;
  return {
    user: String(signedIn.profile.email ?? signedIn.profile.sub),
    async token() {
      const current = await manager.getUser();
      if (!current || current.expired) {
        await manager.signinRedirect();
        throw new Error("the session expired; signing in again");
      }
      return current.access_token;
    },
    async signOut() {
      await manager.removeUser();
      // Cognito's discovery document has no end_session_endpoint: its logout URL is the domain's.
      const logout = new URL("/logout", auth.domain);
      logout.searchParams.set("client_id", auth.clientId);
      logout.searchParams.set("logout_uri", home);
      window.location.assign(logout.toString());
    },
  };
}
