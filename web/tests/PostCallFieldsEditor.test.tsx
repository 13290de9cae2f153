import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { useState } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Agent, ApiClient } from "../src/api";
import { CreateAgentForm } from "../src/components/CreateAgentForm";
import { VoiceAgentCard } from "../src/components/VoiceAgentCard";
import { draftsOf, fieldsOf, splitPostCallFieldErrors } from "../src/postCallFields";
import { agent } from "./agents";
import { agentApi, patches } from "./agentApi";
import { creates, fakeApi, json } from "./fakeApi";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const group = () => screen.getByRole("group", { name: "Questions after each call" });
const row = (n: number) => within(group()).getByRole("group", { name: new RegExp(`^Field ${n}`) });

function addField(name: string, type: string, description: string, choices?: string) {
  fireEvent.click(within(group()).getByRole("button", { name: "Add a field" }));
  const fields = within(group()).getAllByRole("group", { name: /^Field \d/ });
  const added = fields[fields.length - 1];
  expect(document.activeElement).toBe(within(added).getByLabelText("Field name"));
  fireEvent.change(within(added).getByLabelText("Field name"), { target: { value: name } });
  fireEvent.change(within(added).getByLabelText("Type"), { target: { value: type } });
  fireEvent.change(within(added).getByLabelText("What to find out"), { target: { value: description } });
  if (choices !== undefined) {
    fireEvent.change(within(added).getByLabelText("Choices, one a line"), { target: { value: choices } });
  }
}

describe("postCallFields as the form holds them", () => {
  it("sends choices (trimmed, blank lines dropped) for an enum only, and reads them back one a line", () => {
    const drafts = draftsOf([
      { name: "reason", type: "enum", description: "Why they called", choices: ["booking", "billing"] },
      { name: "booked", type: "boolean", description: "Booked?", choices: null },
    ]);
    expect(drafts.map((draft) => draft.choices)).toEqual(["booking\nbilling", ""]);
    drafts[0].choices = " booking \n\nbilling\n";
    drafts[1].choices = "ignored";
    expect(fieldsOf(drafts)).toEqual([
      { name: "reason", type: "enum", description: "Why they called", choices: ["booking", "billing"] },
      { name: "booked", type: "boolean", description: "Booked?" },
    ]);
  });

  it("splits the API's paths: the list, a row, a row's input (a choice's index too), and the rest", () => {
    const { postCall, rest } = splitPostCallFieldErrors([
      { field: "postCallFields", message: "each field needs a name of its own (reason repeated)" },
      { field: "postCallFields.0", message: "an enum field needs its choices" },
      { field: "postCallFields.1.name", message: "must be a lower-case identifier" },
      { field: "postCallFields.1.choices.2", message: "too long" },
      { field: "name", message: "required" },
    ]);
    expect(postCall).toEqual({
      list: "each field needs a name of its own (reason repeated)",
      rows: { 0: { row: "an enum field needs its choices" }, 1: { name: "must be a lower-case identifier", choices: "too long" } },
    });
    expect(rest).toEqual([{ field: "name", message: "required" }]);
  });
});

describe("the create form's questions after each call", () => {
  it("adds fields (choices only for 'one of a list'), removes one, and sends them with the agent", async () => {
    const { client, sent } = fakeApi(() => json(201, agent()));
    render(<CreateAgentForm client={client} onStarted={() => undefined} onFinished={() => undefined} />);
    expect(within(group()).getByText("None.")).toBeTruthy();
    fireEvent.change(screen.getByLabelText("Name"), { target: { value: "Reception" } });
    fireEvent.change(screen.getByLabelText("Prompt"), { target: { value: "Book appointments." } });
    addField("appointment_booked", "boolean", "Did the caller book an appointment?");
    expect(within(row(1)).queryByLabelText("Choices, one a line")).toBeNull();
    addField("scratch", "number", "Removed again");
    addField("reason", "enum", "Why they called", "booking\nbilling\n");
    fireEvent.click(within(group()).getByRole("button", { name: "Remove field 2 (scratch)" }));
    expect(document.activeElement).toBe(within(group()).getByRole("button", { name: "Add a field" }));
    fireEvent.click(screen.getByRole("button", { name: "Create agent" }));

    await waitFor(() => expect(creates(sent)).toHaveLength(1));
    expect((creates(sent)[0].body as { postCallFields: unknown }).postCallFields).toEqual([
      { name: "appointment_booked", type: "boolean", description: "Did the caller book an appointment?" },
      { name: "reason", type: "enum", description: "Why they called", choices: ["booking", "billing"] },
    ]);
    // Created: the form is empty again, its fields too.
    await waitFor(() => expect(within(group()).getByText("None.")).toBeTruthy());
  });

  it("sends no postCallFields when there are none", async () => {
    const { client, sent } = fakeApi(() => json(201, agent()));
    render(<CreateAgentForm client={client} onStarted={() => undefined} onFinished={() => undefined} />);
    fireEvent.click(screen.getByRole("button", { name: "Create agent" }));
    await waitFor(() => expect(creates(sent)).toHaveLength(1));
    expect(creates(sent)[0].body).not.toHaveProperty("postCallFields");
  });

  it("the API's 400s are shown where they point: an input, a field's group, the whole list", async () => {
    const { client } = fakeApi(() =>
      json(400, {
        error: "validation_error",
        message: "invalid",
        requestId: "r1",
        fields: [
          { field: "postCallFields", message: "each field needs a name of its own (reason repeated)" },
          { field: "postCallFields.0.name", message: "must be a lower-case identifier" },
          { field: "postCallFields.1", message: "an enum field needs its choices" },
          { field: "postCallFields.1.choices.0", message: "String should have at most 100 characters" },
        ],
      }),
    );
    render(<CreateAgentForm client={client} onStarted={() => undefined} onFinished={() => undefined} />);
    addField("Reason", "string", "Why");
    addField("reason", "enum", "Why", "x".repeat(101));
    fireEvent.click(screen.getByRole("button", { name: "Create agent" }));

    const name = await within(row(1)).findByLabelText("Field name");
    await waitFor(() => expect(name.getAttribute("aria-invalid")).toBe("true"));
    expect(screen.getByRole("alert").textContent).toBe("Please correct the fields marked below.");
    const nameError = document.getElementById(name.getAttribute("aria-describedby")?.split(" ").at(-1) ?? "");
    expect(nameError?.textContent).toBe("must be a lower-case identifier");
    expect(row(2).getAttribute("aria-invalid")).toBe("true");
    expect(within(row(2)).getByText("an enum field needs its choices")).toBeTruthy();
    expect(within(row(2)).getByLabelText("Choices, one a line").getAttribute("aria-invalid")).toBe("true");
    expect(group().getAttribute("aria-invalid")).toBe("true");
    expect(within(group()).getByText("each field needs a name of its own (reason repeated)").id).toBe(
      group().getAttribute("aria-describedby")?.split(" ").at(-1),
    );
    expect(within(row(1)).getByLabelText("What to find out").getAttribute("aria-invalid")).toBeNull();
  });

  it("10 fields is the most: Add is then disabled, and says why", () => {
    const { client } = fakeApi(() => json(201, agent()));
    render(<CreateAgentForm client={client} onStarted={() => undefined} onFinished={() => undefined} />);
    for (let n = 0; n < 10; n += 1) fireEvent.click(within(group()).getByRole("button", { name: "Add a field" }));
    const add = within(group()).getByRole("button", { name: "Add a field" });
    expect(add).toHaveProperty("disabled", true);
    expect(add.getAttribute("aria-describedby")).toBeTruthy();
    expect(within(group()).getByText("10 fields is the most an agent can have.")).toBeTruthy();
  });
});

function Listed({ initial, client }: { initial: Agent; client: ApiClient }) {
  const [shown, setShown] = useState(initial);
  return <VoiceAgentCard agent={shown} client={client} onUpdated={setShown} onDelete={() => undefined} />;
}

describe("the edit form's questions after each call", () => {
  const stored = agent({
    postCallFields: [{ name: "reason", type: "enum", description: "Why they called", choices: ["booking", "billing"] }],
  });

  async function openEditor(client: ApiClient) {
    render(<Listed initial={stored} client={client} />);
    fireEvent.click(screen.getByRole("button", { name: "Edit Reception" }));
    const form = await screen.findByRole("form", { name: "Edit Reception" });
    await waitFor(() => expect(within(form).getByRole("button", { name: "Save" })).toHaveProperty("disabled", false));
    return form;
  }

  it("shows the agent's fields; untouched, they are not sent", async () => {
    const api = agentApi(stored);
    const form = await openEditor(api.client);
    expect(within(row(1)).getByLabelText("Field name")).toHaveProperty("value", "reason");
    expect(within(row(1)).getByLabelText("Choices, one a line")).toHaveProperty("value", "booking\nbilling");
    fireEvent.change(within(form).getByLabelText("Prompt"), { target: { value: "New." } });
    fireEvent.click(within(form).getByRole("button", { name: "Save" }));
    await waitFor(() => expect(patches(api.sent)).toHaveLength(1));
    expect(patches(api.sent)[0].body).toEqual({ prompt: "New." });
  });

  it("a changed field sends the whole list, with If-Match", async () => {
    const api = agentApi(stored);
    const form = await openEditor(api.client);
    fireEvent.change(within(row(1)).getByLabelText("Choices, one a line"), {
      target: { value: "booking\nbilling\ncomplaint" },
    });
    addField("callback_number", "string", "The number to call back on");
    fireEvent.click(within(form).getByRole("button", { name: "Save" }));
    await waitFor(() => expect(patches(api.sent)).toHaveLength(1));
    const [patch] = patches(api.sent);
    expect(patch.headers.get("If-Match")).toBe('"v1"');
    expect(patch.body).toEqual({
      postCallFields: [
        { name: "reason", type: "enum", description: "Why they called", choices: ["booking", "billing", "complaint"] },
        { name: "callback_number", type: "string", description: "The number to call back on" },
      ],
    });
  });

  it("removing the last field sends an empty list", async () => {
    const api = agentApi(stored);
    const form = await openEditor(api.client);
    fireEvent.click(within(row(1)).getByRole("button", { name: "Remove field 1 (reason)" }));
    fireEvent.click(within(form).getByRole("button", { name: "Save" }));
    await waitFor(() => expect(patches(api.sent)).toHaveLength(1));
    expect(patches(api.sent)[0].body).toEqual({ postCallFields: [] });
  });
});
