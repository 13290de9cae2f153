import AxeBuilder from "@axe-core/playwright";
import { type Page, expect, test } from "@playwright/test";
import { formatDuration } from "../src/calls";
import {
  apiUrl,
  callAnalysed,
  createAgent,
  dashboardUrl,
  placeCall,
  retell,
  tokenFor,
  transferredCall,
  twilio,
  uniqueUser,
} from "./stack";

const PROMPT = "You are the friendly receptionist of a Sydney dental clinic.";
// Australian mobile numbers as people read them: +61 4xx xxx xxx.
const AU_MOBILE_AS_READ = /^\+61 4\d{2} \d{3} \d{3}$/;

test.beforeEach(async () => {
  // Faults and numbers are global to the fake: every test starts from an empty, healthy Twilio.
  await twilio().reset();
  await retell().clearFaults();
});

async function fillForm(page: Page, name: string, description = "Books appointments") {
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Description (optional)").fill(description);
  await page.getByLabel("Prompt").fill(PROMPT);
}

const card = (page: Page, name: string) => page.getByRole("article", { name });

test("creating an agent through the form shows its card with the number as Australians read it", async ({
  page,
}) => {
  await page.goto(dashboardUrl(uniqueUser("create")));
  await expect(page.getByText("No agents yet")).toBeVisible();

  await fillForm(page, "Reception");
  await page.getByRole("button", { name: "Create agent" }).click();

  const created = card(page, "Reception");
  await expect(created.getByText("Active")).toBeVisible();
  await expect(created.getByText("Books appointments")).toBeVisible();
  await expect(created.getByRole("img", { name: "Phone number" })).toBeVisible();
  const link = created.getByRole("link");
  await expect(link).toHaveText(AU_MOBILE_AS_READ);
  // The link dials the number the fake Twilio sold, in E.164.
  const [owned] = await twilio().ownedNumbers();
  await expect(link).toHaveAttribute("href", `tel:${owned.phone_number}`);
  expect((await link.textContent())?.replaceAll(" ", "")).toBe(owned.phone_number);
  await expect(created.getByRole("button", { name: /^Copy \+61/ })).toBeVisible();
});

// Needs the backend's GET /api/phone-number-options (the countries branch): the local stack offers
// AU mobile (the default), AU local, NZ mobile, GB mobile and local, US local and toll-free, CA local.
test("an agent in another country: chosen on the form, its card shows the number as that country reads it", async ({
  page,
}) => {
  await page.goto(dashboardUrl(uniqueUser("country")));
  const choice = page.getByRole("group", { name: "Phone number" });
  const country = choice.getByLabel("Country");
  const numberType = choice.getByLabel("Number type");
  await expect(country).toHaveValue("AU"); // the default pair, preselected
  await expect(numberType).toHaveValue("mobile");
  await expect(country.locator("option")).toHaveText([
    "Australia",
    "Canada",
    "New Zealand",
    "United Kingdom",
    "United States",
  ]);
  await country.selectOption({ label: "United States" });
  await expect(numberType.locator("option")).toHaveText(["Local", "Toll-free"]);
  await country.selectOption({ label: "United Kingdom" });
  await expect(numberType.locator("option")).toHaveText(["Mobile", "Local"]);
  await numberType.selectOption({ label: "Mobile" });

  await fillForm(page, "London line");
  const sent = page.waitForRequest((request) => request.method() === "POST" && request.url().endsWith("/api/agents"));
  await page.getByRole("button", { name: "Create agent" }).click();
  expect((await sent).postDataJSON()).toMatchObject({ country: "GB", numberType: "mobile" });

  const created = card(page, "London line");
  await expect(created.getByText("Active")).toBeVisible();
  await expect(created.getByText("Mobile · United Kingdom")).toBeVisible();
  const link = created.getByRole("link");
  // Grouped as the British read it (+44 7400 123456): the number the fake Twilio sold, in E.164, spaced.
  await expect(link).toHaveText(/^\+44 \d+ \d+/);
  const [owned] = await twilio().ownedNumbers();
  await expect(link).toHaveAttribute("href", `tel:${owned.phone_number}`);
  expect((await link.textContent())?.replaceAll(" ", "")).toBe(owned.phone_number);
});

test("the copy button puts the number on the clipboard", async ({ page, context }) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: apiUrl() });
  const user = uniqueUser("copy");
  const { body: agent } = await createAgent(user, { name: "Copyable", prompt: PROMPT });
  await page.goto(dashboardUrl(user));
  await card(page, "Copyable").getByRole("button", { name: /^Copy/ }).click();
  await expect(card(page, "Copyable").getByText("Copied")).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(agent.phoneNumber);
});

test("a slow Twilio shows the agent being set up, with progress, then active", async ({ page }) => {
  await twilio().delay("buy_number", 4000);
  await page.goto(dashboardUrl(uniqueUser("slow")));
  await fillForm(page, "Patient line");
  await page.getByRole("button", { name: "Create agent" }).click();

  const pending = card(page, "Patient line");
  await expect(pending.getByText("Setting up", { exact: true })).toBeVisible();
  await expect(pending.getByRole("progressbar")).toBeVisible();
  await expect(pending.getByText("No number yet")).toBeVisible();
  await expect(page.getByRole("button", { name: /Creating/ })).toBeDisabled();

  await expect(pending.getByText("Active")).toBeVisible();
  await expect(pending.getByRole("progressbar")).toHaveCount(0);
  await expect(pending.getByRole("link")).toHaveText(AU_MOBILE_AS_READ);
});

test("an agent being set up elsewhere is followed until it is active, without a reload", async ({ page }) => {
  const user = uniqueUser("elsewhere");
  await twilio().delay("buy_number", 4000);
  const searchesBefore = (await twilio().calls()).search_numbers ?? 0;
  const created = createAgent(user, { name: "Made by curl", prompt: PROMPT }); // another client
  // The record is journaled before any provider is called: once Twilio is searched, it is listed.
  await expect.poll(async () => (await twilio().calls()).search_numbers ?? 0).toBeGreaterThan(searchesBefore);
  await page.goto(dashboardUrl(user));

  const pending = card(page, "Made by curl");
  await expect(pending.getByText("Setting up", { exact: true })).toBeVisible();
  await expect(pending.getByText("Active")).toBeVisible();
  await expect(pending.getByRole("link")).toHaveText(AU_MOBILE_AS_READ);
  expect((await created).status).toBe(201);
});

test("a Twilio refusal shows the agent failed, the step, and what to do", async ({ page }) => {
  // 21649: the number needs a regulatory bundle this account did not give.
  await twilio().fail("buy_number", 400, 21649);
  await page.goto(dashboardUrl(uniqueUser("refused")));
  await fillForm(page, "Refused line");
  await page.getByRole("button", { name: "Create agent" }).click();

  const failed = card(page, "Refused line");
  await expect(failed.getByText("Failed", { exact: true })).toBeVisible();
  await expect(failed.getByText("Failed at step buy_number.")).toBeVisible();
  await expect(failed.getByText(/TWILIO_BUNDLE_SID/)).toBeVisible();
  await expect(failed.getByText("No number", { exact: true })).toBeVisible();
  await expect(page.getByRole("alert")).toContainText("buy_number");
  expect(await twilio().ownedNumbers()).toEqual([]);
});

test("a Twilio that keeps answering 500 to the search fails the create at that step", async ({ page }) => {
  await twilio().fail("search_numbers", 500, undefined, null); // every retry too
  await page.goto(dashboardUrl(uniqueUser("search-500")));
  await fillForm(page, "Unlucky");
  await page.getByRole("button", { name: "Create agent" }).click();
  await expect(card(page, "Unlucky").getByText("Failed at step search_numbers.")).toBeVisible();
});

test("deleting asks first, says the number will be released, and then the fake Twilio owns nothing", async ({
  page,
}) => {
  const user = uniqueUser("delete");
  const { body: agent } = await createAgent(user, { name: "Short-lived", prompt: PROMPT });
  expect((await twilio().ownedNumbers()).map((number) => number.phone_number)).toEqual([agent.phoneNumber]);
  await page.goto(dashboardUrl(user));

  await card(page, "Short-lived").getByRole("button", { name: "Delete Short-lived" }).click();
  const dialog = page.getByRole("dialog", { name: "Delete Short-lived?" });
  await expect(dialog).toContainText(/Its phone number \+61 4\d{2} \d{3} \d{3} will be released/);
  await dialog.getByRole("button", { name: "Keep it" }).click();
  await expect(dialog).toHaveCount(0);
  expect(await twilio().ownedNumbers()).toHaveLength(1);

  await card(page, "Short-lived").getByRole("button", { name: "Delete Short-lived" }).click();
  await page.getByRole("button", { name: "Delete and release the number" }).click();
  await expect(card(page, "Short-lived")).toHaveCount(0);
  await expect(page.getByText("No agents yet")).toBeVisible();
  expect(await twilio().ownedNumbers()).toEqual([]);
  await page.reload();
  await expect(page.getByText("No agents yet")).toBeVisible();
});

test("a number Twilio will not release leaves the agent deleting, shown as such, for the reconciler", async ({
  page,
}) => {
  const user = uniqueUser("stuck");
  await createAgent(user, { name: "Sticky", prompt: PROMPT });
  await twilio().fail("release_number", 500, undefined, null); // every retry too
  await page.goto(dashboardUrl(user));

  await card(page, "Sticky").getByRole("button", { name: "Delete Sticky" }).click();
  const deleted = page.waitForResponse((response) => response.request().method() === "DELETE");
  await page.getByRole("button", { name: "Delete and release the number" }).click();
  await expect(card(page, "Sticky").getByText("Deleting", { exact: true })).toBeVisible();
  await expect(card(page, "Sticky").getByText(/Releasing the phone number/)).toBeVisible();
  await expect(card(page, "Sticky").getByRole("button", { name: /Delete/ })).toHaveCount(0);
  // The API answered 202: the record says deleting, and the number is still Twilio's to release.
  // (Reloading before that answer would race the delete: the list could still say active.)
  expect((await deleted).status()).toBe(202);
  await page.reload();
  await expect(card(page, "Sticky").getByText("Deleting", { exact: true })).toBeVisible();
  expect(await twilio().ownedNumbers()).toHaveLength(1);
});

test("a second owner sees none of the first owner's agents", async ({ page }) => {
  const first = uniqueUser("first");
  await createAgent(first, { name: "First's agent", prompt: PROMPT });
  await page.goto(dashboardUrl(first));
  await expect(card(page, "First's agent")).toBeVisible();

  await page.goto(dashboardUrl(uniqueUser("second")));
  await expect(page.getByText("No agents yet")).toBeVisible();
  await expect(page.getByRole("article")).toHaveCount(0);
});

test("a double click on create buys one number", async ({ page }) => {
  await twilio().delay("buy_number", 1000); // long enough for the second click to land mid-request
  await page.goto(dashboardUrl(uniqueUser("double")));
  await fillForm(page, "Clicked twice");
  const before = (await twilio().calls()).buy_number ?? 0;
  await page.getByRole("button", { name: "Create agent" }).dblclick();

  await expect(card(page, "Clicked twice").getByText("Active")).toBeVisible();
  await expect(page.getByRole("article")).toHaveCount(1);
  expect(((await twilio().calls()).buy_number ?? 0) - before).toBe(1);
  expect(await twilio().ownedNumbers()).toHaveLength(1);
});

test("submitting again after a lost answer sends the same Idempotency-Key and buys one number", async ({
  page,
}) => {
  await page.goto(dashboardUrl(uniqueUser("lost")));
  const keys: string[] = [];
  let lost = false;
  await page.route("**/api/agents", async (route) => {
    if (route.request().method() !== "POST") return route.continue();
    keys.push((await route.request().headerValue("idempotency-key")) ?? "");
    if (lost) return route.continue();
    lost = true;
    await route.fetch(); // the API creates the agent and buys the number...
    await route.abort("connectionreset"); // ...but the browser never hears back
  });
  await fillForm(page, "Retried");
  await page.getByRole("button", { name: "Create agent" }).click();
  await expect(page.getByRole("alert")).toContainText("Submitting again is safe");

  await page.getByRole("button", { name: "Create agent" }).click();
  await expect(card(page, "Retried").getByText("Active")).toBeVisible();
  expect(keys).toHaveLength(2);
  expect(keys[0]).not.toBe("");
  expect(keys[1]).toBe(keys[0]);
  await expect(page.getByRole("article")).toHaveCount(1);
  expect(await twilio().ownedNumbers()).toHaveLength(1);
});

test("the API's field errors are shown next to their inputs", async ({ page }) => {
  await page.goto(dashboardUrl(uniqueUser("invalid")));
  await page.getByRole("button", { name: "Create agent" }).click(); // empty name and prompt

  const name = page.getByLabel("Name");
  await expect(name).toHaveAttribute("aria-invalid", "true");
  await expect(page.locator("#create-name-error")).toBeVisible();
  await expect(name).toHaveAccessibleDescription(/.+/);
  await expect(page.getByLabel("Prompt")).toHaveAttribute("aria-invalid", "true");
  await expect(page.locator("#create-prompt-error")).toBeVisible();
  await expect(page.getByLabel("Description (optional)")).not.toHaveAttribute("aria-invalid", "true");

  await name.fill("x".repeat(101)); // over the API's 100 characters
  await page.getByLabel("Prompt").fill(PROMPT);
  await page.getByRole("button", { name: "Create agent" }).click();
  await expect(page.locator("#create-name-error")).toContainText(/100/);
  await expect(page.locator("#create-prompt-error")).toHaveCount(0);
  await expect(page.getByRole("article")).toHaveCount(0);
  expect(await twilio().ownedNumbers()).toEqual([]);
});

test("the list is newest first and loads more through nextCursor", async ({ page }) => {
  const user = uniqueUser("pages");
  for (const name of ["Oldest", "Middle", "Newest"]) await createAgent(user, { name, prompt: PROMPT });
  await page.goto(dashboardUrl(user, "&limit=2"));

  const headings = page.getByRole("article").getByRole("heading", { level: 3 }); // the cards' names, not their sections'
  await expect(headings).toHaveText(["Newest", "Middle"]);
  await page.getByRole("button", { name: "Load more" }).click();
  await expect(headings).toHaveText(["Newest", "Middle", "Oldest"]);
  await expect(page.getByRole("button", { name: "Load more" })).toHaveCount(0);
});

test("editing the prompt on the card changes the agent: the card shows it, after a reload too", async ({
  page,
}) => {
  const user = uniqueUser("edit");
  await createAgent(user, { name: "Editable", prompt: PROMPT });
  await page.goto(dashboardUrl(user));
  const edited = card(page, "Editable");
  await expect(edited.getByText(PROMPT)).toBeVisible();

  // By keyboard: the form opens on its first field.
  await edited.getByRole("button", { name: "Edit Editable" }).focus();
  await page.keyboard.press("Enter");
  const form = edited.getByRole("form", { name: "Edit Editable" });
  await expect(form.getByLabel("Name")).toBeFocused();
  await expect(form.getByRole("button", { name: "Save" })).toBeEnabled(); // the agent read, its ETag with it
  const patched = page.waitForRequest((request) => request.method() === "PATCH");
  await form.getByLabel("Prompt").fill("You book hygiene appointments only.");
  await form.getByLabel("First thing it says (optional)").fill("Hello, hygiene bookings.");
  await form.getByRole("button", { name: "Save" }).click();

  await expect(form).toHaveCount(0);
  await expect(edited.getByText("You book hygiene appointments only.")).toBeVisible();
  const request = await patched;
  expect(request.postDataJSON()).toEqual({
    prompt: "You book hygiene appointments only.",
    beginMessage: "Hello, hygiene bookings.",
  });
  expect(await request.headerValue("if-match")).toBeTruthy();
  await page.reload();
  await expect(card(page, "Editable").getByText("You book hygiene appointments only.")).toBeVisible();
  await expect(card(page, "Editable").getByText("Hello, hygiene bookings.")).toBeVisible();
});

test("an edit made elsewhere meanwhile is not overwritten: the form says so and shows it", async ({ page }) => {
  const user = uniqueUser("stale");
  const { body: agent } = await createAgent(user, { name: "Contended", prompt: PROMPT });
  await page.goto(dashboardUrl(user));
  await card(page, "Contended").getByRole("button", { name: "Edit Contended" }).click();
  const form = card(page, "Contended").getByRole("form", { name: "Edit Contended" });
  await expect(form.getByRole("button", { name: "Save" })).toBeEnabled();

  // Another client changes the prompt (without If-Match) after the form read the agent.
  const elsewhere = await fetch(`${apiUrl()}/api/agents/${agent.id}`, {
    method: "PATCH",
    headers: { Authorization: `Bearer ${await tokenFor(user)}`, "Content-Type": "application/json" },
    body: JSON.stringify({ prompt: "Changed in another tab." }),
  });
  expect(elsewhere.status).toBe(200);
  await form.getByLabel("Prompt").fill("Mine.");
  await form.getByRole("button", { name: "Save" }).click();

  await expect(form.getByRole("alert")).toContainText("changed elsewhere");
  await expect(form.getByLabel("Prompt")).toHaveValue("Changed in another tab.");
  await page.reload();
  await expect(card(page, "Contended").getByText("Changed in another tab.")).toBeVisible();
});

test("a call to the agent's number shows in Recent calls: ended, its duration and summary", async ({ page }) => {
  const user = uniqueUser("calls");
  const { body: agent } = await createAgent(user, { name: "Called", prompt: PROMPT });
  await page.goto(dashboardUrl(user));
  await card(page, "Called").getByText("Recent calls").click();
  await expect(card(page, "Called").getByText("No calls yet")).toBeVisible();

  await placeCall(agent, "+61298765432", 1200);
  // The call is analysed after it ends: wait for the summary before reading the page again.
  await callAnalysed(user, agent.id);
  await page.reload();
  await card(page, "Called").getByText("Recent calls").click();
  const call = card(page, "Called").getByRole("listitem");
  await expect(call).toHaveCount(1);
  await expect(call).toContainText("+61 2 9876 5432");
  await expect(call).toContainText("Ended");
  // The fake Retell times the call from before its call_started event is delivered, so a slow
  // delivery lengthens it (1200 ms has read "2 s" in a full run): the page shows what the API has.
  const calls = await fetch(`${apiUrl()}/api/agents/${agent.id}/calls`, {
    headers: { Authorization: `Bearer ${await tokenFor(user)}` },
  });
  const [recorded] = ((await calls.json()) as { items: { durationMs: number | null }[] }).items;
  expect(recorded.durationMs).toBeGreaterThanOrEqual(1200);
  await expect(call.locator(".call-duration")).toHaveText(formatDuration(recorded.durationMs) ?? "");
  await expect(call).toContainText("The caller asked about opening hours");
});

/** Opens a card's "Calls go to" form, once it has read the agent (and its ETag). */
async function openRouting(page: Page, name: string) {
  const routing = card(page, name).getByRole("region", { name: "Calls go to" });
  await routing.getByRole("button", { name: `Change where calls to ${name} go` }).click();
  const form = routing.getByRole("form", { name: `Where calls to ${name} go` });
  await expect(form.getByRole("button", { name: "Save" })).toBeEnabled();
  return { routing, form };
}

test("where calls go: a transfer number, ring my phone first for 15 s and voicemail, saved and shown after a reload", async ({
  page,
}) => {
  const user = uniqueUser("routing");
  await createAgent(user, { name: "Routed", prompt: PROMPT });
  await page.goto(dashboardUrl(user));
  const before = card(page, "Routed").getByRole("region", { name: "Calls go to" });
  await expect(before).toContainText(
    "Agent answers; no transfer number; if the agent can't answer: voicemail (the default); open all hours.",
  );

  const { routing, form } = await openRouting(page, "Routed");
  await expect(form.getByLabel("Your phone number")).toBeFocused();
  await form.getByLabel("Your phone number").fill("+61 2 9374 4000"); // as people write it
  await form.getByLabel("Ring my phone first").check();
  await form.getByLabel("Ring for (seconds)").fill("15");
  await form.getByLabel("If the agent can't answer").selectOption("voicemail");
  const patched = page.waitForRequest((request) => request.method() === "PATCH");
  await form.getByRole("button", { name: "Save" }).click();

  await expect(form).toHaveCount(0);
  const request = await patched;
  expect(request.postDataJSON()).toEqual({
    transferNumber: "+61 2 9374 4000",
    answerMode: "person_first",
    ringSeconds: 15,
    fallback: { action: "voicemail" },
  });
  expect(await request.headerValue("if-match")).toBeTruthy();
  const summary =
    "Rings +61 2 9374 4000 first for 15 s; the agent answers if nobody picks up; transfers to +61 2 9374 4000; " +
    "if the agent can't answer: voicemail; open all hours.";
  await expect(routing).toContainText(summary);

  await page.reload();
  await expect(card(page, "Routed").getByRole("region", { name: "Calls go to" })).toContainText(summary);
  // The form shows what the API keeps: the number it stored in E.164, read as people read it.
  const again = await openRouting(page, "Routed");
  await expect(again.form.getByLabel("Your phone number")).toHaveValue("+61 2 9374 4000");
  await expect(again.form.getByLabel("Ring my phone first")).toBeChecked();
  await expect(again.form.getByLabel("Ring for (seconds)")).toHaveValue("15");
  await expect(again.form.getByLabel("If the agent can't answer")).toHaveValue("voicemail");
});

test("where calls go: business hours in the browser's time zone, a closed date and voicemail after hours, saved and shown after a reload", async ({
  page,
}) => {
  const user = uniqueUser("hours");
  await createAgent(user, { name: "Office hours", prompt: PROMPT });
  await page.goto(dashboardUrl(user));
  const { routing, form } = await openRouting(page, "Office hours");
  await form.getByLabel("Set business hours").check();
  await expect(form.getByLabel("Time zone")).toHaveValue("Australia/Sydney"); // the browser's (playwright.config.ts)
  await form.getByLabel("Open on Wednesday").uncheck();
  await form.getByLabel("Open on Saturday").check();
  await form.getByLabel("Saturday opens").fill("10:00");
  await form.getByLabel("Saturday closes").fill("14:00");
  await form.getByRole("button", { name: "Add a closed date" }).click();
  await expect(form.getByLabel("Closed date 1", { exact: true })).toBeFocused();
  await form.getByLabel("Closed date 1", { exact: true }).fill("2026-12-25");
  await form.getByLabel("After hours").selectOption("voicemail");
  const patched = page.waitForResponse((response) => response.request().method() === "PATCH");
  await form.getByRole("button", { name: "Save" }).click();

  const response = await patched;
  expect(response.request().postDataJSON()).toEqual({
    businessHours: {
      timezone: "Australia/Sydney",
      weekly: {
        mon: [["09:00", "17:00"]],
        tue: [["09:00", "17:00"]],
        wed: [],
        thu: [["09:00", "17:00"]],
        fri: [["09:00", "17:00"]],
        sat: [["10:00", "14:00"]],
        sun: [],
      },
      closedDates: ["2026-12-25"],
      afterHours: "voicemail",
    },
  });
  expect(response.status()).toBe(200);
  await expect(form).toHaveCount(0);
  const hours =
    "hours Mon, Tue 09:00–17:00, Thu, Fri 09:00–17:00, Sat 10:00–14:00 Australia/Sydney; closed 25 Dec 2026; " +
    "after hours: voicemail.";
  await expect(routing).toContainText(hours);
  await page.reload();
  await expect(card(page, "Office hours").getByRole("region", { name: "Calls go to" })).toContainText(hours);
  const again = await openRouting(page, "Office hours");
  await expect(again.form.getByLabel("Open on Wednesday")).not.toBeChecked();
  await expect(again.form.getByLabel("Saturday opens")).toHaveValue("10:00");
  await expect(again.form.getByLabel("Closed date 1", { exact: true })).toHaveValue("2026-12-25");
  await expect(again.form.getByLabel("After hours")).toHaveValue("voicemail");
});

test("where calls go: the API's cross-field refusal is shown beside the setting it names, and nothing changes", async ({
  page,
}) => {
  const user = uniqueUser("refused-routing");
  await createAgent(user, { name: "Unreachable", prompt: PROMPT });
  await page.goto(dashboardUrl(user));
  const { routing, form } = await openRouting(page, "Unreachable");
  await form.getByLabel("Ring my phone first").check(); // but no phone number to ring
  await form.getByRole("button", { name: "Save" }).click();

  const whoAnswers = form.getByRole("group", { name: "Who answers" });
  await expect(whoAnswers).toHaveAccessibleDescription(/set transferNumber too/);
  await expect(form.getByRole("radio", { name: "The agent" })).toHaveAttribute("aria-invalid", "true");
  await expect(form.getByRole("radio", { name: "Ring my phone first" })).toBeChecked(); // the choice is kept
  await expect(form.getByRole("alert")).toHaveText("Please correct the fields marked below.");
  await form.getByRole("button", { name: "Cancel" }).click();
  await expect(routing).toContainText("Agent answers; no transfer number;");
  await page.reload();
  await expect(card(page, "Unreachable").getByRole("region", { name: "Calls go to" })).toContainText(
    "Agent answers; no transfer number;",
  );
});

test("a transfer number set on the card: a caller the agent puts through shows in Recent calls as transferred, answered", async ({
  page,
}) => {
  const user = uniqueUser("transfer");
  const { body: agent } = await createAgent(user, { name: "Transfers", prompt: PROMPT });
  await page.goto(dashboardUrl(user));
  const { routing, form } = await openRouting(page, "Transfers");
  await form.getByLabel("Your phone number").fill("+61 2 9374 4000");
  await form.getByRole("button", { name: "Save" }).click();
  await expect(routing).toContainText("transfers to +61 2 9374 4000");

  const played = await transferredCall(agent, "+61298765432", "+61293744000");
  expect(played.reached).toBe("person");

  await card(page, "Transfers").getByText("Recent calls").click();
  await expect(card(page, "Transfers").getByText("Transferred to +61 2 9374 4000 — answered")).toBeVisible();
});

test("no serious or critical accessibility violations (axe-core)", async ({ page }) => {
  const user = uniqueUser("axe");
  await createAgent(user, { name: "Accessible", description: "Answers after hours", prompt: PROMPT });
  await twilio().fail("buy_number", 400, 21649);
  await createAgent(user, { name: "Broken", prompt: PROMPT });
  await page.goto(dashboardUrl(user));
  await expect(card(page, "Accessible").getByRole("link")).toBeVisible();
  await expect(card(page, "Broken").getByText("Failed", { exact: true })).toBeVisible();
  // The number choice as it settles: selects once the options are read (or why there are none).
  await expect(page.getByRole("group", { name: "Phone number" })).not.toContainText("Reading the numbers");
  await page.getByRole("button", { name: "Create agent" }).click(); // field errors on screen too
  await expect(page.locator("#create-name-error")).toBeVisible();

  const scan = async (label: string) => {
    const results = await new AxeBuilder({ page }).analyze();
    const blocking = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    console.log(
      `axe (${label}): ${results.passes.length} rules passed, ${results.violations.length} violations ` +
        `(${results.violations.map((v) => `${v.id}:${v.impact}`).join(", ") || "none"})`,
    );
    expect(blocking, JSON.stringify(blocking, null, 2)).toEqual([]);
  };
  await scan("list, failed card, field errors");
  await card(page, "Accessible").getByRole("button", { name: "Edit Accessible" }).click();
  await card(page, "Accessible").getByText("Recent calls").click();
  await expect(card(page, "Accessible").getByText("No calls yet")).toBeVisible();
  await scan("edit form, recent calls");
  await card(page, "Accessible").getByRole("button", { name: "Cancel" }).click();

  // The routing form with everything it can show: hours on, a closed date, the API's field error.
  const { form } = await openRouting(page, "Accessible");
  await form.getByLabel("Ring my phone first").check();
  await form.getByLabel("If the agent can't answer").selectOption("forward");
  await form.getByLabel("Set business hours").check();
  await form.getByRole("button", { name: "Add a closed date" }).click();
  await form.getByLabel("Your phone number").fill("12");
  await form.getByRole("button", { name: "Save" }).click();
  await expect(form.locator("[aria-invalid=true]").first()).toBeVisible();
  await expect(form.getByLabel("Your phone number")).toHaveAccessibleDescription(/international format/);
  const routingScan = await new AxeBuilder({ page }).include(".routing-form").analyze();
  console.log(
    `axe (routing form alone): ${routingScan.passes.length} rules passed, ${routingScan.violations.length} violations`,
  );
  expect(routingScan.violations, JSON.stringify(routingScan.violations, null, 2)).toEqual([]);
  await scan("routing form open, field errors");
  await form.getByRole("button", { name: "Cancel" }).click();
  await card(page, "Accessible").getByRole("button", { name: "Delete Accessible" }).click();
  await expect(page.getByRole("dialog")).toBeVisible();
  await scan("delete confirmation");
});
