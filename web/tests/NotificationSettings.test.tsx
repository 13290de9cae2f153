import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { NotificationSettings as Settings } from "../src/api";
import { NotificationSettings, channelWords } from "../src/components/NotificationSettings";
import { type Sent, fakeApi, json } from "./fakeApi";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const NONE: Settings = {
  webhookUrl: null,
  email: null,
  signingSecretCreatedAt: null,
  previousSecretValidUntil: null,
  updatedAt: null,
  signingSecret: null,
};
const SET: Settings = {
  ...NONE,
  webhookUrl: "https://hooks.example.com/calls",
  email: "frontdesk@example.com",
  signingSecretCreatedAt: "2026-11-27T01:00:00Z",
  updatedAt: "2026-11-27T01:00:00Z",
};
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

function api(stored: Settings, answer: (sent: Sent) => Response | undefined = () => undefined) {
  return fakeApi((sent) => answer(sent) ?? (sent.method === "GET" ? json(200, stored) : json(404, { message: "no" })));
}

const section = () => screen.getByRole("region", { name: "Notifications" });
const saveButton = () => within(section()).getByRole("button", { name: "Save" });

async function loaded() {
  await waitFor(() => expect(saveButton()).toHaveProperty("disabled", false));
}

describe("NotificationSettings", () => {
  it("saves the email and webhook URL; the first webhook's signing secret is shown once, with copy", async () => {
    const writeText = vi.fn().mockResolvedValue(undefined);
    Object.assign(navigator, { clipboard: { writeText } });
    const { client, sent } = api(NONE, (request) =>
      request.method === "PUT" ? json(200, { ...SET, signingSecret: SECRET }) : undefined,
    );
    render(<NotificationSettings client={client} />);
    await loaded();
    expect(within(section()).getByRole("button", { name: "Send a test notification" })).toHaveProperty("disabled", true);
    fireEvent.change(screen.getByLabelText("Email (optional)"), { target: { value: " frontdesk@example.com " } });
    fireEvent.change(screen.getByLabelText("Webhook URL (optional)"), {
      target: { value: "https://hooks.example.com/calls" },
    });
    fireEvent.click(saveButton());

    const secret = await screen.findByRole("group", { name: "Your signing secret" });
    expect(sent.at(-1)?.body).toEqual({ email: "frontdesk@example.com", webhookUrl: "https://hooks.example.com/calls" });
    expect(within(secret).getByText(SECRET)).toBeTruthy();
    expect(document.activeElement).toBe(secret);
    expect(within(section()).getByText("Saved")).toBeTruthy();
    fireEvent.click(within(secret).getByRole("button", { name: "Copy the signing secret" }));
    expect(writeText).toHaveBeenCalledWith(SECRET);
    expect(await within(secret).findByText("Copied")).toBeTruthy();

    fireEvent.click(within(secret).getByRole("button", { name: "I have kept it" }));
    expect(screen.queryByText(SECRET)).toBeNull();
    expect(within(section()).getByText(/Deliveries are signed with the secret made/)).toBeTruthy();
  });

  it("empty fields turn a channel off: sent as null", async () => {
    const { client, sent } = api(SET, (request) => (request.method === "PUT" ? json(200, { ...SET, email: null }) : undefined));
    render(<NotificationSettings client={client} />);
    await loaded();
    expect(screen.getByLabelText("Email (optional)")).toHaveProperty("value", "frontdesk@example.com");
    fireEvent.change(screen.getByLabelText("Email (optional)"), { target: { value: "" } });
    fireEvent.click(saveButton());
    await waitFor(() => expect(sent.at(-1)?.method).toBe("PUT"));
    expect(sent.at(-1)?.body).toEqual({ email: null, webhookUrl: "https://hooks.example.com/calls" });
  });

  it("a refused webhook URL (a private address) is shown at its input, and nothing is kept", async () => {
    const { client } = api(NONE, (request) =>
      request.method === "PUT"
        ? json(400, {
            error: "validation_error",
            message: "webhookUrl: the host is a private address",
            requestId: "r1",
            fields: [{ field: "webhookUrl", message: "the host 10.0.0.5 is a private address: use a public https URL" }],
          })
        : undefined,
    );
    render(<NotificationSettings client={client} />);
    await loaded();
    const url = screen.getByLabelText("Webhook URL (optional)");
    fireEvent.change(url, { target: { value: "https://10.0.0.5/hook" } });
    fireEvent.click(saveButton());
    await waitFor(() => expect(url.getAttribute("aria-invalid")).toBe("true"));
    expect(document.getElementById("notify-webhookUrl-error")?.textContent).toMatch(/private address/);
    expect(url.getAttribute("aria-describedby")).toContain("notify-webhookUrl-error");
    expect(screen.getByRole("alert").textContent).toBe("Please correct the fields marked below.");
    expect(screen.getByLabelText("Email (optional)").getAttribute("aria-invalid")).toBeNull();
    expect(screen.queryByRole("group", { name: "Your signing secret" })).toBeNull();
  });

  it("send test: says what each channel did", async () => {
    const { client, sent } = api(SET, (request) =>
      request.path === "/api/notifications/test"
        ? json(200, {
            eventId: "evt_test_1",
            webhook: { delivered: false, status: 500, error: "the endpoint answered 500", durationMs: 85.2 },
            email: { delivered: true, status: null, error: null, durationMs: null },
          })
        : undefined,
    );
    render(<NotificationSettings client={client} />);
    await loaded();
    fireEvent.click(within(section()).getByRole("button", { name: "Send a test notification" }));
    const outcome = await within(section()).findByText(/^Webhook:/);
    expect(outcome.textContent).toBe("Webhook: not delivered (HTTP 500, 85 ms): the endpoint answered 500");
    expect(outcome.closest("[role=status]")).toBeTruthy();
    expect(within(section()).getByText("Email: delivered")).toBeTruthy();
    expect(sent.at(-1)?.method).toBe("POST");
  });

  it("send test refused (nothing set, 409): says why", async () => {
    const { client } = api(SET, (request) =>
      request.path === "/api/notifications/test"
        ? json(409, { error: "notifications_not_set", message: "Set a webhook URL or an email first.", requestId: "r" })
        : undefined,
    );
    render(<NotificationSettings client={client} />);
    await loaded();
    fireEvent.click(within(section()).getByRole("button", { name: "Send a test notification" }));
    expect(await within(section()).findByText("The test was not sent: Set a webhook URL or an email first.")).toBeTruthy();
  });

  it("a new signing secret on request: shown once; the old one's last day is said", async () => {
    const { client, sent } = api(SET, (request) =>
      request.path === "/api/notifications/secret"
        ? json(200, { ...SET, signingSecret: SECRET, previousSecretValidUntil: "2026-11-28T01:00:00Z" })
        : undefined,
    );
    render(<NotificationSettings client={client} />);
    await loaded();
    expect(screen.queryByRole("group", { name: "Your signing secret" })).toBeNull();
    fireEvent.click(within(section()).getByRole("button", { name: "Make a new signing secret" }));
    const secret = await screen.findByRole("group", { name: "Your signing secret" });
    expect(within(secret).getByText(SECRET)).toBeTruthy();
    expect(sent.at(-1)?.path).toBe("/api/notifications/secret");
    expect(within(section()).getByText(/The previous one signs them too until/)).toBeTruthy();
  });

  it("a failed read says so", async () => {
    const { client } = fakeApi(() => json(503, { error: "database_unavailable", message: "MongoDB failed; retry" }));
    render(<NotificationSettings client={client} />);
    expect((await screen.findByRole("alert")).textContent).toMatch(/MongoDB failed; retry/);
    expect(saveButton()).toHaveProperty("disabled", true);
  });
});

describe("channelWords", () => {
  it("delivered, with the status and time when known", () => {
    expect(channelWords("Webhook", { delivered: true, status: 204, error: null, durationMs: 12.4 })).toBe(
      "Webhook: delivered (HTTP 204, 12 ms)",
    );
    expect(channelWords("Webhook", { delivered: false, status: null, error: "timed out", durationMs: null })).toBe(
      "Webhook: not delivered: timed out",
    );
  });
});
