import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { useState } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Agent, ApiClient } from "../src/api";
import { changedFields } from "../src/components/EditAgentForm";
import { VoiceAgentCard } from "../src/components/VoiceAgentCard";
import { agent } from "./agents";
import { agentApi, patches } from "./agentApi";
import { fakeApi, json } from "./fakeApi";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

/** The card as the list holds it: an update replaces the agent it shows. */
function Listed({ initial, client }: { initial: Agent; client: ApiClient }) {
  const [shown, setShown] = useState(initial);
  return <VoiceAgentCard agent={shown} client={client} onUpdated={setShown} onDelete={() => undefined} />;
}

const card = () => screen.getByRole("article");

async function openEditor() {
  fireEvent.click(within(card()).getByRole("button", { name: "Edit Reception" }));
  const form = await within(card()).findByRole("form", { name: "Edit Reception" });
  await waitFor(() => expect(within(form).getByRole("button", { name: "Save" })).toHaveProperty("disabled", false));
  return form;
}

describe("changedFields", () => {
  const before = { name: "Reception", prompt: "Old", beginMessage: "Hello" };
  it.each([
    [{ ...before }, {}],
    [{ ...before, prompt: "New" }, { prompt: "New" }],
    [{ ...before, beginMessage: "" }, { beginMessage: null }],
    [{ ...before, name: "Front desk", beginMessage: "Hi" }, { name: "Front desk", beginMessage: "Hi" }],
  ])("%o sends %o", (after, body) => {
    expect(changedFields(before, after)).toEqual(body);
  });
});

describe("editing an agent on its card", () => {
  it("reads the agent for its ETag, sends only the prompt with If-Match, and the card shows it", async () => {
    const api = agentApi(agent());
    render(<Listed initial={agent()} client={api.client} />);
    const form = await openEditor();
    expect(document.activeElement).toBe(within(form).getByLabelText("Name"));

    fireEvent.change(within(form).getByLabelText("Prompt"), { target: { value: "You book cleanings." } });
    fireEvent.click(within(form).getByRole("button", { name: "Save" }));

    await waitFor(() => expect(within(card()).queryByRole("form")).toBeNull());
    const [patch] = patches(api.sent);
    expect(patch.path).toBe("/api/agents/agt_1");
    expect(patch.headers.get("If-Match")).toBe('"v1"');
    expect(patch.body).toEqual({ prompt: "You book cleanings." });
    expect(within(card()).getByText("You book cleanings.")).toBeTruthy();
    // The keyboard is back where it was.
    expect(document.activeElement).toBe(within(card()).getByRole("button", { name: "Edit Reception" }));
  });

  it("a renamed agent with its greeting cleared sends the name and a null greeting", async () => {
    const api = agentApi(agent({ beginMessage: "Hi, the clinic." }));
    render(<Listed initial={agent({ beginMessage: "Hi, the clinic." })} client={api.client} />);
    expect(within(card()).getByText("Hi, the clinic.")).toBeTruthy();
    const form = await openEditor();
    fireEvent.change(within(form).getByLabelText("Name"), { target: { value: "Front desk" } });
    fireEvent.change(within(form).getByLabelText("First thing it says (optional)"), { target: { value: "" } });
    fireEvent.click(within(form).getByRole("button", { name: "Save" }));

    expect(await within(card()).findByRole("heading", { name: "Front desk" })).toBeTruthy();
    expect(patches(api.sent)[0].body).toEqual({ name: "Front desk", beginMessage: null });
    expect(within(card()).queryByText("Hi, the clinic.")).toBeNull();
  });

  it("saving with nothing changed sends nothing and closes the form", async () => {
    const api = agentApi(agent());
    render(<Listed initial={agent()} client={api.client} />);
    const form = await openEditor();
    fireEvent.click(within(form).getByRole("button", { name: "Save" }));
    await waitFor(() => expect(within(card()).queryByRole("form")).toBeNull());
    expect(patches(api.sent)).toEqual([]);
  });

  it("412: says the agent changed elsewhere, reloads it, and the next save carries the new ETag", async () => {
    const api = agentApi(agent(), (sent) =>
      sent.headers.get("If-Match") === '"v1"'
        ? json(412, { error: "precondition_failed", message: "The agent changed", etag: '"v2"' })
        : undefined,
    );
    render(<Listed initial={agent()} client={api.client} />);
    const form = await openEditor();
    api.changeElsewhere({ prompt: "Changed in another tab." });
    fireEvent.change(within(form).getByLabelText("Prompt"), { target: { value: "Mine." } });
    fireEvent.click(within(form).getByRole("button", { name: "Save" }));

    expect((await within(form).findByRole("alert")).textContent).toMatch(/changed elsewhere/);
    // The form and the card show what the API has now, not the stale copy.
    expect(within(form).getByLabelText<HTMLTextAreaElement>("Prompt").value).toBe("Changed in another tab.");
    expect(within(card()).getAllByText("Changed in another tab.").length).toBeGreaterThan(0);

    fireEvent.change(within(form).getByLabelText("Prompt"), { target: { value: "Mine." } });
    fireEvent.click(within(form).getByRole("button", { name: "Save" }));
    await waitFor(() => expect(within(card()).queryByRole("form")).toBeNull());
    expect(patches(api.sent).map((patch) => patch.headers.get("If-Match"))).toEqual(['"v1"', '"v2"']);
    expect(within(card()).getByText("Mine.")).toBeTruthy();
  });

  it("400: each field's error next to its input; one the form has no input for above the button", async () => {
    const api = agentApi(agent(), () =>
      json(400, {
        error: "validation_error",
        message: "Invalid request",
        fields: [
          { field: "name", message: "at most 100 characters" },
          { field: "voiceId", message: "unknown voice" },
        ],
      }),
    );
    render(<Listed initial={agent()} client={api.client} />);
    const form = await openEditor();
    fireEvent.change(within(form).getByLabelText("Name"), { target: { value: "x".repeat(101) } });
    fireEvent.click(within(form).getByRole("button", { name: "Save" }));

    const name = within(form).getByLabelText("Name");
    await waitFor(() => expect(name.getAttribute("aria-invalid")).toBe("true"));
    const described = name.getAttribute("aria-describedby") ?? "";
    expect(document.getElementById(described)?.textContent).toBe("at most 100 characters");
    expect(within(form).getByLabelText("Prompt").getAttribute("aria-invalid")).toBeNull();
    expect(within(form).getByRole("alert").textContent).toBe("voiceId: unknown voice");
    // The card still shows what the API has.
    expect(within(card()).getByRole("heading", { name: "Reception" })).toBeTruthy();
  });

  it.each([
    [json(409, { error: "conflict", message: "The agent is not active" }), "The agent is not active"],
    [json(503, { error: "database_unavailable", message: "MongoDB failed; retry" }), "MongoDB failed; retry"],
    [new Response("", { status: 502, statusText: "Bad Gateway" }), "The API answered 502 Bad Gateway"],
  ])("%#: an answer that is not a success says why and keeps the edit", async (answer, message) => {
    const api = agentApi(agent(), () => answer);
    render(<Listed initial={agent()} client={api.client} />);
    const form = await openEditor();
    fireEvent.change(within(form).getByLabelText("Prompt"), { target: { value: "Kept." } });
    fireEvent.click(within(form).getByRole("button", { name: "Save" }));
    expect((await within(form).findByRole("alert")).textContent).toBe(message);
    expect(within(form).getByLabelText<HTMLTextAreaElement>("Prompt").value).toBe("Kept.");
  });

  it("a request that never answers says so and keeps the form", async () => {
    const api = agentApi(agent(), () => {
      throw new TypeError("Failed to fetch");
    });
    render(<Listed initial={agent()} client={api.client} />);
    const form = await openEditor();
    fireEvent.change(within(form).getByLabelText("Prompt"), { target: { value: "Lost." } });
    fireEvent.click(within(form).getByRole("button", { name: "Save" }));
    expect((await within(form).findByRole("alert")).textContent).toMatch(/did not complete: Failed to fetch/);
  });

  it("a double click on Save sends one PATCH", async () => {
    const api = agentApi(agent());
    render(<Listed initial={agent()} client={api.client} />);
    const form = await openEditor();
    fireEvent.change(within(form).getByLabelText("Prompt"), { target: { value: "Once." } });
    const save = within(form).getByRole("button", { name: "Save" });
    fireEvent.click(save);
    fireEvent.click(save);
    await waitFor(() => expect(within(card()).queryByRole("form")).toBeNull());
    expect(patches(api.sent)).toHaveLength(1);
    expect(within(card()).queryByRole("alert")).toBeNull();
  });

  it.each([
    ["deleted meanwhile", () => json(404, { error: "not_found", message: "Agent not found" }), "Agent not found"],
    [
      "the API unreachable",
      () => {
        throw new TypeError("Failed to fetch");
      },
      "Failed to fetch",
    ],
  ])("an agent the form cannot read (%s) says so and cannot be saved", async (_, answer, reason) => {
    const { client } = fakeApi(answer);
    render(<Listed initial={agent()} client={client} />);
    fireEvent.click(within(card()).getByRole("button", { name: "Edit Reception" }));
    const form = await within(card()).findByRole("form", { name: "Edit Reception" });
    expect((await within(form).findByRole("alert")).textContent).toBe(`Could not read Reception: ${reason}`);
    expect(within(form).getByRole("button", { name: "Save" })).toHaveProperty("disabled", true);
  });

  it("cancel closes the form without a request", async () => {
    const api = agentApi(agent());
    render(<Listed initial={agent()} client={api.client} />);
    const form = await openEditor();
    fireEvent.change(within(form).getByLabelText("Prompt"), { target: { value: "Never sent." } });
    fireEvent.click(within(form).getByRole("button", { name: "Cancel" }));
    expect(within(card()).queryByRole("form")).toBeNull();
    expect(patches(api.sent)).toEqual([]);
    expect(within(card()).queryByText("Never sent.")).toBeNull();
  });

  it.each(["provisioning", "deleting", "failed"] as const)("%s: no Edit and no Recent calls", (status) => {
    const { client } = fakeApi(() => json(500, {}));
    render(<Listed initial={agent({ status })} client={client} />);
    expect(within(card()).queryByRole("button", { name: /^Edit/ })).toBeNull();
    expect(within(card()).queryByText("Recent calls")).toBeNull();
  });
});
