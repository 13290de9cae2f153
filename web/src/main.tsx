import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { apiClient } from "./api";
import { signIn } from "./auth";
import { App } from "./components/App";
import { loadConfig } from "./config";
import "./styles.css";

const root = createRoot(document.getElementById("root") as HTMLElement);

async function start() {
  const config = await loadConfig();
  const session = await signIn(config);
  if (!session) return; // on the way to the sign-in page
  const client = apiClient(config.apiUrl, () => session.token());
  const limit = Number(new URLSearchParams(window.location.search).get("limit"));
  root.render(
    <StrictMode>
      <App
        client={client}
        user={session.user}
        onSignOut={config.auth.mode === "cognito" ? () => void session.signOut() : undefined}
        pageSize={Number.isInteger(limit) && limit > 0 ? limit : undefined}
      />
    </StrictMode>,
  );
}

start().catch((failure: unknown) => {
  root.render(
    <main>
      <h1>Voice agents</h1>
      <p role="alert">The dashboard could not start: {String(failure)}</p>
    </main>,
  );
});
