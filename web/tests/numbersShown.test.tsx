/** Every number the dashboard shows reads the way its own country writes it, whatever the agent's country. */
import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { callRoute } from "../src/calls";
import { CallPage } from "../src/components/CallPage";
import { ConfirmDelete } from "../src/components/ConfirmDelete";
import { RecentCalls } from "../src/components/RecentCalls";
import { VoiceAgentCard } from "../src/components/VoiceAgentCard";
import { formatPhoneNumber } from "../src/phone";
import { describeRouting } from "../src/routing";
import { agent } from "./agents";
import { call, callDetail } from "./calls";
import { fakeApi, json } from "./fakeApi";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

/** [country, type, E.164, as that country reads it, the card's kind of number] */
const NUMBERS = [
  ["AU", "mobile", "+61412345678", "+61 412 345 678", "Mobile · Australia"],
  ["NZ", "mobile", "+64211234567", "+64 21 123 4567", "Mobile · New Zealand"],
  ["GB", "mobile", "+447400123456", "+44 7400 123456", "Mobile · United Kingdom"],
  ["US", "local", "+12015550123", "+1 201 555 0123", "Local · United States"],
  ["CA", "local", "+16045550123", "+1 604 555 0123", "Local · Canada"],
] as const;

describe.each(NUMBERS)("a number of %s (%s): %s", (country, numberType, e164, display, kind) => {
  it(`reads as ${display} and dials as itself`, () => {
    expect(formatPhoneNumber(e164)).toEqual({ display, e164 });
  });

  it(`on its agent's card, with "${kind}"`, () => {
    render(<VoiceAgentCard agent={agent({ phoneNumber: e164, country, numberType })} />);
    const card = screen.getByRole("article");
    const link = within(card).getByRole("link");
    expect(link.textContent).toBe(display);
    expect(link.getAttribute("href")).toBe(`tel:${e164}`);
    expect(within(card).getByText(kind)).toBeTruthy();
  });

  it("as the transfer and forward numbers of the routing summary and of a call's route", () => {
    const routing = describeRouting(agent({ transferNumber: e164, fallback: { action: "forward", number: e164 } }), "en-AU");
    expect(routing.join("; ")).toContain(`transfers to ${display}`);
    expect(routing.join("; ")).toContain(`forward to ${display}`);
    const leg = { to: e164, answered: true, reason: "transfer" };
    expect(callRoute(call(1, { outcome: "person", transfer: leg }))).toContain(`Transferred to ${display} — answered`);
    expect(callRoute(call(1, { outcome: "person", forward: { ...leg, reason: "after_hours" } }))).toEqual([
      `Forwarded to ${display} (after hours) — answered`,
    ]);
  });

  it("as the caller, in the history and on the call's page", async () => {
    const history = fakeApi(() => json(200, { items: [call(1, { from: e164 })], nextCursor: null }));
    render(<RecentCalls agent={agent()} client={history.client} />);
    fireEvent.click(screen.getByText("Recent calls"));
    expect(await screen.findByText(display, { selector: ".call-from" })).toBeTruthy();
    cleanup();

    const detail = callDetail({ from: e164 });
    const page = fakeApi(() => json(200, detail));
    render(<CallPage client={page.client} agentId="agt_1" callSid={detail.callSid} />);
    expect(await screen.findByRole("heading", { level: 2, name: `Call from ${display}` })).toBeTruthy();
  });

  it("in the question before deleting its agent", () => {
    render(<ConfirmDelete agent={agent({ phoneNumber: e164 })} onConfirm={() => undefined} onCancel={() => undefined} />);
    expect(document.querySelector("dialog")?.textContent).toContain(display);
  });
});

it("an agent created before numbers had a country shows nothing more than its number", () => {
  render(<VoiceAgentCard agent={agent({ country: undefined, numberType: undefined })} />);
  const card = screen.getByRole("article");
  expect(within(card).getByRole("link").textContent).toBe("+61 412 345 678");
  expect(card.querySelector(".number-kind")).toBeNull();
});
