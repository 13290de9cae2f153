import path from "node:path";
import { expect, test } from "@playwright/test";
import { callAnalysed, createAgent, dashboardUrl, placeCall, twilio } from "./stack";

const SCREENSHOT = path.resolve(import.meta.dirname, "..", "..", "docs", "dashboard.png");

test("the README's screenshot: cards in each state, one's calls and usage open, taken from the real page", async ({ page }) => {
  // The stack is fresh for every run (a throwaway FerretDB), so this owner starts with no agents.
  const user = "reception@clinic.example";
  await twilio().reset();
  await createAgent(user, {
    name: "After-hours line",
    description: "Takes messages when the clinic is closed",
    prompt: "Take messages.",
  });
  await twilio().fail("buy_number", 400, 21649);
  await createAgent(user, { name: "Billing enquiries", description: "Explains invoices", prompt: "Explain bills." });
  const { body: reception } = await createAgent(user, {
    name: "Reception",
    description: "Books, moves and cancels appointments",
    prompt: "Book appointments.",
  });
  await placeCall(reception, "+61298765432", 1500);
  await callAnalysed(user, reception.id);
  // One more, caught half-way: Twilio takes its time to sell the number.
  await twilio().delay("buy_number", 20_000);
  void createAgent(user, { name: "Recalls", description: "Rings patients due for a check-up", prompt: "Recall." });

  await page.goto(dashboardUrl(user));
  await expect(page.getByRole("article")).toHaveCount(4);
  await expect(page.getByRole("article", { name: "Recalls" }).getByText("Retell agent (done)")).toBeVisible();
  await expect(page.getByRole("article", { name: "Reception" }).getByRole("link")).toBeVisible();
  await page.getByRole("article", { name: "Reception" }).getByText("Recent calls").click();
  await expect(page.getByRole("article", { name: "Reception" }).getByRole("listitem")).toHaveCount(1);
  // Its usage too: the period's cost and the chart of calls and minutes per day.
  await page.getByRole("article", { name: "Reception" }).getByText("Usage and costs").click();
  await expect(page.getByRole("article", { name: "Reception" }).getByRole("img", { name: /^Usage of Reception/ })).toBeVisible();
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
});
