import { defineConfig } from "@playwright/test";

// The system's Chromium (Debian's package): browsers cannot be downloaded here, and CI installs it
// with apt-get (make chromium). Override with CHROMIUM=/path/to/chrome.
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";

export default defineConfig({
  testDir: "e2e",
  globalSetup: "./e2e/global-setup.ts",
  // One local stack and one fake Twilio whose faults are global: tests run one at a time.
  workers: 1,
  fullyParallel: false,
  forbidOnly: true,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [["list"]],
  use: {
    browserName: "chromium",
    headless: true,
    launchOptions: { executablePath, args: ["--no-sandbox"] },
    locale: "en-AU",
    timezoneId: "Australia/Sydney",
    viewport: { width: 1280, height: 800 },
    trace: "off",
  },
  projects: [
    { name: "browser", testIgnore: /screenshots\.spec\.ts/ },
    { name: "screenshots", testMatch: /screenshots\.spec\.ts/ },
  ],
});
