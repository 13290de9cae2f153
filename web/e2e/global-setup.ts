/** Starts `make api`'s stack (python -m local.http_api) on a free port for the run, and stops it. */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const PYTHON = process.env.PYTHON ?? path.join(ROOT, ".venv", "bin", "python");
// FerretDB's first start on a cold machine takes a while; a healthy start is a few seconds.
const START_TIMEOUT_MS = 120_000;

export interface StackUrls {
  apiUrl: string;
  retellUrl: string;
  twilioUrl: string;
}

function stopped(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const force = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.once("exit", () => {
      clearTimeout(force);
      resolve();
    });
    child.kill("SIGTERM"); // the server unwinds: FerretDB and the fakes stop with it
  });
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  if (!existsSync(path.join(ROOT, "web", "dist", "index.html"))) {
    throw new Error("web/dist is not built: run make web (make test does)");
  }
  const scratch = mkdtempSync(path.join(tmpdir(), "dashboard-e2e-"));
  const readyFile = path.join(scratch, "ready.json");
  let output = "";
  const child = spawn(PYTHON, ["-m", "local.http_api", "--port", "0", "--ready-file", readyFile], {
    cwd: ROOT,
    env: { ...process.env, PYTHONUNBUFFERED: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  // Kept for the error message only; the access log would drown the test report.
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);

  const started = Date.now();
  while (!existsSync(readyFile)) {
    if (child.exitCode !== null) throw new Error(`local.http_api exited (${child.exitCode}):\n${output}`);
    if (Date.now() - started > START_TIMEOUT_MS) {
      await stopped(child);
      throw new Error(`local.http_api did not start in ${START_TIMEOUT_MS / 1000} s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const urls = JSON.parse(readFileSync(readyFile, "utf8")) as StackUrls & { environment: Record<string, string> };
  // Workers inherit these; the tests reach the page, the API and the fakes' control surface.
  process.env.DASHBOARD_API_URL = urls.apiUrl;
  process.env.FAKE_RETELL_URL = urls.retellUrl;
  process.env.FAKE_TWILIO_URL = urls.twilioUrl;
  // The fake Twilio's own token: a test signs an inbound call the way Twilio would.
  process.env.FAKE_TWILIO_AUTH_TOKEN = urls.environment.TWILIO_AUTH_TOKEN;

  return async () => {
    await stopped(child);
    rmSync(scratch, { recursive: true, force: true });
  };
}
