/** The call insights on the dashboard, against the local stack: a played call's page, the history's
 * filters and CSV, an agent's usage, the owner's notification settings. */
import { readFile } from "node:fs/promises";
import { type IncomingHttpHeaders, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import AxeBuilder from "@axe-core/playwright";
import { type Page, expect, test } from "@playwright/test";
import {
  apiUrl,
  callAnalysed,
  createAgent,
  dashboardUrl,
  placeCall,
  retell,
  tokenFor,
  twilio,
  uniqueUser,
} from "./stack";

const PROMPT = "You are the friendly receptionist of a Sydney dental clinic.";
const CONVERSATION: [role: "agent" | "user", text: string][] = [
  ["agent", "Thanks for calling Harbour Dental, how can I help?"],
  ["user", "I'd like to book a cleaning on Tuesday."],
  ["agent", "You're booked for Tuesday at ten."],
];

test.beforeEach(async () => {
  await twilio().reset();
  await retell().clearFaults();
});

const card = (page: Page, name: string) => page.getByRole("article", { name });

async function noViolations(page: Page, label: string) {
  const results = await new AxeBuilder({ page }).analyze();
  console.log(
    `axe (${label}): ${results.passes.length} rules passed, ${results.violations.length} violations ` +
      `(${results.violations.map((v) => `${v.id}:${v.impact}`).join(", ") || "none"})`,
  );
  expect(results.violations, JSON.stringify(results.violations, null, 2)).toEqual([]);
}

test("questions set on the card; a played call's page shows its transcript, answers and cost", async ({ page }) => {
  const user = uniqueUser("insights");
  const { body: agent } = await createAgent(user, { name: "Front desk", prompt: PROMPT });
  await page.goto(dashboardUrl(user));

  // The owner's questions, through the edit form.
  await card(page, "Front desk").getByRole("button", { name: "Edit Front desk" }).click();
  const form = card(page, "Front desk").getByRole("form", { name: "Edit Front desk" });
  await expect(form.getByRole("button", { name: "Save" })).toBeEnabled();
  const questions = form.getByRole("group", { name: "Questions after each call" });
  await questions.getByRole("button", { name: "Add a field" }).click();
  const first = questions.getByRole("group", { name: /^Field 1/ });
  await expect(first.getByLabel("Field name")).toBeFocused();
  await first.getByLabel("Field name").fill("Booked"); // not an identifier: the API says so at the input
  await first.getByLabel("Type").selectOption("boolean");
  await first.getByLabel("What to find out").fill("Did the caller book an appointment?");
  await questions.getByRole("button", { name: "Add a field" }).click();
  const second = questions.getByRole("group", { name: /^Field 2/ });
  await second.getByLabel("Field name").fill("reason");
  await second.getByLabel("Type").selectOption("enum");
  await second.getByLabel("What to find out").fill("Why they called");
  await second.getByLabel("Choices, one a line").fill("booking\nbilling\nother");
  await form.getByRole("button", { name: "Save" }).click();
  await expect(first.getByLabel("Field name")).toHaveAttribute("aria-invalid", "true");
  await expect(first.getByLabel("Field name")).toHaveAccessibleDescription(/lower-case identifier/);
  await noViolations(page, "edit form, a field's error");
  await first.getByLabel("Field name").fill("appointment_booked");
  await form.getByRole("button", { name: "Save" }).click();
  await expect(form).toHaveCount(0);

  await placeCall(agent, "+61298765432", 1500, {
    conversation: CONVERSATION,
    answers: { appointment_booked: true, reason: "booking" },
  });
  await callAnalysed(user, agent.id);
  await page.reload();
  await card(page, "Front desk").getByText("Recent calls").click();
  await card(page, "Front desk").getByRole("link", { name: /^Details of the call from \+61 2 9876 5432/ }).click();

  await expect(page).toHaveURL(/#\/agents\/.+\/calls\/CA[0-9a-f]{32}$/);
  await expect(page.getByRole("heading", { level: 2, name: "Call from +61 2 9876 5432" })).toBeFocused();
  const turns = page.getByRole("list", { name: "Conversation" }).getByRole("listitem");
  await expect(turns).toHaveCount(3);
  await expect(turns.locator(".speaker")).toHaveText(["Agent", "Caller", "Agent"]);
  await expect(turns.nth(1)).toContainText("I'd like to book a cleaning on Tuesday.");
  await expect(turns.first().locator("time")).toHaveText("at 0:00");
  const answers = page.getByRole("region", { name: "Answers to your questions" });
  await expect(answers.locator("dt")).toHaveText(["appointment_booked", "reason"]);
  await expect(answers.locator("dd")).toHaveText(["Yes", "booking"]);
  // The fake Retell prices per second (7 + 4.5 US cents a minute), in US dollars as en-AU writes them.
  await expect(page.locator(".call-cost")).toContainText(/(US\$|USD\s)\d+\.\d{2} \(elevenlabs_tts/);
  await expect(page.getByText("The caller asked about opening hours", { exact: false })).toBeVisible();
  // The recording: a player once the stack has its copy, else said to be on its way.
  const recording = page.getByRole("region", { name: "Recording" });
  await expect(recording.getByLabel("Recording of the call").or(recording.getByText(/being copied|No recording/))).toBeVisible();
  await noViolations(page, "call page");

  await page.getByRole("link", { name: "← Your agents" }).click();
  await expect(card(page, "Front desk")).toBeVisible();
});

test("a recording the stack has copied plays in the call page's player, from its short-lived link", async ({ page }) => {
  const user = uniqueUser("recording");
  const { body: agent } = await createAgent(user, { name: "Recorded", prompt: PROMPT });
  const callSid = await placeCall(agent, "+61298765432", 2000);
  await callAnalysed(user, agent.id);
  // The copy is the reconciler's (minutes after a call), which the local stack does not run by itself:
  // the page is shown the call with its copy available, the link being the fake Retell's WAV of it.
  const { calls_registered: registered } = await retell().retellState();
  const retellCall = Object.values(registered).find((each) => each.metadata?.twilio_call_sid === callSid);
  const wav = `${process.env.FAKE_RETELL_URL}/recordings/${retellCall?.call_id}/recording.wav`;
  await page.route(`**/api/agents/${agent.id}/calls/${callSid}`, async (route) => {
    const response = await route.fetch();
    const call = await response.json();
    await route.fulfill({ response, json: { ...call, recording: { status: "available", url: "link" } } });
  });
  const links: string[] = [];
  await page.route("**/conversation-recording", async (route) => {
    links.push(route.request().headers().authorization ?? "");
    await route.fulfill({
      json: { url: wav, expiresAt: new Date(Date.now() + 900_000).toISOString(), contentType: "audio/wav", sizeBytes: null },
    });
  });
  await page.goto(dashboardUrl(user, `#/agents/${agent.id}/calls/${callSid}`));

  const player = page.getByLabel("Recording of the call");
  await expect(player).toHaveAttribute("src", wav);
  expect(links).toEqual([expect.stringMatching(/^Bearer /)]); // the link is asked with the token; the audio needs none
  await expect
    .poll(() => player.evaluate((audio: HTMLAudioElement) => (audio.readyState >= 1 ? audio.duration : 0)))
    .toBeGreaterThan(1);
});

test("the history's filters find calls by caller, status and answer; the CSV holds what they find", async ({ page }) => {
  const user = uniqueUser("filters");
  const { body: agent } = await createAgent(user, {
    name: "Filtered",
    prompt: PROMPT,
    postCallFields: [{ name: "reason", type: "enum", description: "Why they called", choices: ["booking", "billing"] }],
  });
  await placeCall(agent, "+61298765432", 800, { answers: { reason: "booking" } });
  await callAnalysed(user, agent.id);
  await placeCall(agent, "+61412000111", 800, { answers: { reason: "billing" } });
  await expect.poll(async () => {
    const response = await fetch(`${apiUrl()}/api/agents/${agent.id}/calls?field=reason:billing`, {
      headers: { Authorization: `Bearer ${await tokenFor(user)}` },
    });
    return ((await response.json()) as { items: unknown[] }).items.length;
  }).toBe(1);

  await page.goto(dashboardUrl(user));
  const history = card(page, "Filtered");
  await history.getByText("Recent calls").click();
  const calls = history.getByRole("list", { name: "Recent calls of Filtered" }).getByRole("listitem");
  await expect(calls).toHaveCount(2);
  await history.getByText("Filter and download").click();
  const filters = history.getByRole("search", { name: "Filter the calls" });

  await filters.getByLabel("Caller's number").fill("+61 2 9876 5432");
  await filters.getByRole("button", { name: "Show calls" }).click();
  await expect(calls).toHaveCount(1);
  await expect(calls).toContainText("+61 2 9876 5432");

  await filters.getByLabel("Caller's number").fill("");
  await filters.getByLabel("Answer to").selectOption("reason");
  await filters.getByLabel("Is").selectOption("billing");
  await filters.getByRole("button", { name: "Show calls" }).click();
  await expect(calls).toHaveCount(1);
  await expect(calls).toContainText("+61 412 000 111");

  const saved = page.waitForEvent("download");
  await history.getByRole("button", { name: "Download CSV" }).click();
  const download = await saved;
  expect(download.suggestedFilename()).toMatch(/^calls-filtered-\d{4}-\d{2}-\d{2}\.csv$/);
  const csv = await readFile(await download.path(), "utf8");
  expect(csv).toContain("+61412000111");
  expect(csv).not.toContain("+61298765432");

  await filters.getByLabel("Status").selectOption("not_connected");
  await filters.getByRole("button", { name: "Show calls" }).click();
  await expect(history.getByText("No calls match")).toBeVisible();
  await noViolations(page, "history filters");

  await filters.getByRole("button", { name: "Clear" }).click();
  await expect(calls).toHaveCount(2);
});

test("usage: today's calls and minutes in the chart's table, and the period's cost", async ({ page }) => {
  const user = uniqueUser("usage");
  const { body: agent } = await createAgent(user, { name: "Counted", prompt: PROMPT });
  await placeCall(agent, "+61298765432", 1200);
  await callAnalysed(user, agent.id);
  await page.goto(dashboardUrl(user));
  const usage = card(page, "Counted").locator("details.usage");
  await usage.getByText("Usage and costs").click();
  await expect(usage.getByRole("img", { name: /^Usage of Counted, .*: calls and minutes per day/ })).toBeVisible();
  const table = usage.getByRole("table", { name: /^Usage of Counted/ });
  await expect(table.getByRole("row")).toHaveCount(31); // the header and 30 days
  await usage.getByRole("button", { name: "Show as a table" }).click();
  await expect(table).toBeVisible();
  const today = table.getByRole("row").last();
  await expect(today.getByRole("cell").nth(0)).toHaveText("1"); // calls
  await expect(today.getByRole("cell").nth(1)).toHaveText("1"); // started minutes
  await expect(usage.locator(".usage-total")).toContainText(/Cost\s*(US\$|USD\s)\d+\.\d{2}/);
  await noViolations(page, "usage open, its table shown");
});

/** A business's webhook receiver on this machine: it answers 200 and keeps each request's headers. */
async function receiver() {
  const received: IncomingHttpHeaders[] = [];
  const server = createServer((request, response) => {
    received.push(request.headers);
    request.resume();
    request.on("end", () => response.writeHead(200).end("ok"));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/calls`, received, close: () => server.close() };
}

test("notifications: a refused address is said at its input; saved, the secret is shown once; a test delivery's outcome", async ({
  page,
  context,
}) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: apiUrl() });
  const hook = await receiver();
  try {
    await page.goto(dashboardUrl(uniqueUser("notify")));
    const settings = page.getByRole("region", { name: "Notifications" });
    await expect(settings.getByRole("button", { name: "Send a test notification" })).toBeDisabled();

    await settings.getByLabel("Webhook URL (optional)").fill("https://10.0.0.5/hooks");
    await settings.getByRole("button", { name: "Save" }).click();
    const url = settings.getByLabel("Webhook URL (optional)");
    await expect(url).toHaveAttribute("aria-invalid", "true");
    await expect(url).toHaveAccessibleDescription(/.+/);
    await noViolations(page, "notifications, a refused URL");

    await settings.getByLabel("Email (optional)").fill("frontdesk@example.com");
    await url.fill(hook.url);
    await settings.getByRole("button", { name: "Save" }).click();
    const secret = settings.getByRole("group", { name: "Your signing secret" });
    await expect(secret).toBeFocused();
    const value = (await secret.locator(".secret-value code").textContent()) ?? "";
    expect(value).toMatch(/^whsec_/);
    await secret.getByRole("button", { name: "Copy the signing secret" }).click();
    await expect(secret.getByText("Copied")).toBeVisible();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(value);
    await noViolations(page, "notifications, the secret shown");
    await secret.getByRole("button", { name: "I have kept it" }).click();
    await expect(page.getByText(value)).toHaveCount(0);

    await settings.getByRole("button", { name: "Send a test notification" }).click();
    await expect(settings.getByText(/^Webhook: delivered \(HTTP 200/)).toBeVisible();
    await expect(settings.getByText(/^Email: /)).toBeVisible();
    expect(hook.received.at(-1)?.["webhook-id"]).toMatch(/^evt_test_/);
    expect(hook.received.at(-1)?.["webhook-signature"]).toMatch(/^v1,/);

    // After a reload the secret is not shown again; a new one is, on request.
    await page.reload();
    await expect(settings.getByLabel("Webhook URL (optional)")).toHaveValue(hook.url);
    await expect(settings.getByRole("group", { name: "Your signing secret" })).toHaveCount(0);
    await settings.getByRole("button", { name: "Make a new signing secret" }).click();
    await expect(settings.getByRole("group", { name: "Your signing secret" }).locator(".secret-value code")).not.toHaveText(value);
    await expect(settings.getByText(/The previous one signs them too until/)).toBeVisible();
  } finally {
    hook.close();
  }
});
