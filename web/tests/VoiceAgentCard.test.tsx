import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { VoiceAgentCard } from "../src/components/VoiceAgentCard";
import { agent } from "./agents";

afterEach(cleanup);

const card = () => screen.getByRole("article");

describe("VoiceAgentCard", () => {
  it("active: name, description, then the number with its icon, a tel: link and a copy button", async () => {
    const writeText = vi.fn().mockResolvedValue(undefined);
    Object.assign(navigator, { clipboard: { writeText } });
    render(<VoiceAgentCard agent={agent()} onDelete={() => undefined} />);

    expect(within(card()).getByRole("heading", { level: 3 }).textContent).toBe("Reception");
    expect(within(card()).getByText("Books appointments")).toBeTruthy();
    expect(within(card()).getByText("Active")).toBeTruthy();
    expect(within(card()).getByRole("img", { name: "Phone number" })).toBeTruthy();
    const link = within(card()).getByRole("link");
    expect(link.textContent).toBe("+61 412 345 678");
    expect(link.getAttribute("href")).toBe("tel:+61412345678");
    // The description comes before the number.
    const text = card().textContent ?? "";
    expect(text.indexOf("Books appointments")).toBeLessThan(text.indexOf("+61 412 345 678"));

    fireEvent.click(within(card()).getByRole("button", { name: "Copy +61 412 345 678" }));
    expect(writeText).toHaveBeenCalledWith("+61412345678");
    expect(await within(card()).findByText("Copied")).toBeTruthy();
  });

  it("provisioning without a number: progress of the steps done, and says there is no number yet", () => {
    render(
      <VoiceAgentCard
        agent={agent({ status: "provisioning", phoneNumber: null, twilioPhoneNumberSid: null, retellAgentId: null })}
        onDelete={() => undefined}
      />,
    );
    expect(within(card()).getByText("Setting up", { exact: true })).toBeTruthy();
    expect(within(card()).getByText("No number yet")).toBeTruthy();
    expect(within(card()).queryByRole("link")).toBeNull();
    const progress = within(card()).getByRole("progressbar");
    expect(progress.getAttribute("value")).toBe("1");
    expect(progress.getAttribute("max")).toBe("3");
    expect(within(card()).getByText("Retell LLM (done)")).toBeTruthy();
    // Cannot be deleted while its create still holds it.
    expect(within(card()).queryByRole("button", { name: /Delete/ })).toBeNull();
  });

  it("provisioning with the number bought already shows the number", () => {
    render(<VoiceAgentCard agent={agent({ status: "provisioning", retellAgentId: null })} />);
    expect(within(card()).getByRole("link").textContent).toBe("+61 412 345 678");
    expect(within(card()).getByRole("progressbar").getAttribute("value")).toBe("2");
  });

  it.each([
    ["buy_number", /TWILIO_BUNDLE_SID/],
    ["search_numbers", /Twilio could not sell/],
    ["create_llm", /Retell API key/],
    ["activate", /database did not answer/],
    [null, /ask an operator/],
  ])("failed at %s: the step and what to do; a released number is not offered", (step, advice) => {
    render(
      <VoiceAgentCard agent={agent({ status: "failed", failedStep: step })} onDelete={() => undefined} />,
    );
    expect(within(card()).getByText("Failed", { exact: true })).toBeTruthy();
    expect(within(card()).getByRole("note").textContent).toContain(`Failed at step ${step ?? "unknown"}.`);
    expect(within(card()).getByText(advice)).toBeTruthy();
    expect(within(card()).queryByRole("link")).toBeNull();
    expect(within(card()).getByText("No number")).toBeTruthy();
    expect(within(card()).getByRole("button", { name: "Delete Reception" })).toBeTruthy();
  });

  it("deleting: says what is happening and offers no second delete", () => {
    render(<VoiceAgentCard agent={agent({ status: "deleting" })} onDelete={() => undefined} />);
    expect(within(card()).getByText("Deleting")).toBeTruthy();
    expect(within(card()).getByText(/Releasing the phone number/)).toBeTruthy();
    expect(within(card()).queryByRole("button", { name: /Delete/ })).toBeNull();
  });

  it("no description: no empty line; the delete button asks its owner", () => {
    const onDelete = vi.fn();
    render(<VoiceAgentCard agent={agent({ description: null })} onDelete={onDelete} />);
    expect(card().querySelector(".description")).toBeNull();
    fireEvent.click(within(card()).getByRole("button", { name: "Delete Reception" }));
    expect(onDelete).toHaveBeenCalledWith(expect.objectContaining({ id: "agt_1" }));
  });
});
