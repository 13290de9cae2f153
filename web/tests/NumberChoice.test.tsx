import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { PhoneNumberOption } from "../src/api";
import { CreateAgentForm } from "../src/components/CreateAgentForm";
import { describeNumber, inCountry, splitNumberErrors } from "../src/numberOptions";
import { agent } from "./agents";
import { type Sent, creates, fakeApi, json } from "./fakeApi";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

/** What the local stack offers (AU mobile the default). */
const OFFERED: PhoneNumberOption[] = [
  { country: "AU", numberType: "mobile", default: true },
  { country: "AU", numberType: "local", default: false },
  { country: "NZ", numberType: "mobile", default: false },
  { country: "GB", numberType: "mobile", default: false },
  { country: "GB", numberType: "local", default: false },
  { country: "US", numberType: "local", default: false },
  { country: "US", numberType: "tollfree", default: false },
  { country: "CA", numberType: "local", default: false },
];

/** The options route answers `options`; a create answers `created` (by default the new agent). */
function api(options: (sent: Sent) => Response | Promise<Response>, created: () => Response = () => json(201, agent())) {
  return fakeApi((sent) =>
    sent.method === "GET" && sent.path === "/api/phone-number-options" ? options(sent) : created(),
  );
}

const offering = (offered: PhoneNumberOption[]) => () => json(200, { options: offered });

function renderForm(client: ReturnType<typeof fakeApi>["client"]) {
  render(<CreateAgentForm client={client} onStarted={() => undefined} onFinished={() => undefined} />);
  fireEvent.change(screen.getByLabelText("Name"), { target: { value: "Reception" } });
  fireEvent.change(screen.getByLabelText("Prompt"), { target: { value: "Book appointments." } });
}

const group = () => screen.getByRole("group", { name: "Phone number" });
const select = (label: string) => within(group()).getByLabelText(label) as HTMLSelectElement;
const choices = (label: string) => Array.from(select(label).options).map((option) => option.textContent);

async function create(sent: Sent[]) {
  fireEvent.click(screen.getByRole("button", { name: "Create agent" }));
  await waitFor(() => expect(creates(sent)).toHaveLength(1));
  return creates(sent)[0].body as Record<string, unknown>;
}

describe("the create form's choice of number", () => {
  it("offers the configured countries by name (the default first, then alphabetical), the default pair preselected, and sends it", async () => {
    const { client, sent } = api(offering(OFFERED));
    renderForm(client);
    expect(await within(group()).findByLabelText("Country")).toBeTruthy();
    expect(choices("Country")).toEqual(["Australia", "Canada", "New Zealand", "United Kingdom", "United States"]);
    expect(select("Country").value).toBe("AU");
    expect(choices("Number type")).toEqual(["Mobile", "Local"]);
    expect(select("Number type").value).toBe("mobile");

    expect(await create(sent)).toMatchObject({ country: "AU", numberType: "mobile" });
  });

  it("the default need not be listed first", async () => {
    const { client } = api(
      offering([
        { country: "AU", numberType: "mobile", default: false },
        { country: "GB", numberType: "local", default: true },
        { country: "GB", numberType: "mobile", default: false },
      ]),
    );
    renderForm(client);
    await within(group()).findByLabelText("Country");
    expect(select("Country").value).toBe("GB");
    expect(select("Number type").value).toBe("local");
  });

  it("the types follow the country: kept when offered there, else its first", async () => {
    const { client, sent } = api(offering(OFFERED));
    renderForm(client);
    await within(group()).findByLabelText("Country");

    fireEvent.change(select("Country"), { target: { value: "US" } });
    expect(choices("Number type")).toEqual(["Local", "Toll-free"]);
    expect(select("Number type").value).toBe("local");
    fireEvent.change(select("Number type"), { target: { value: "tollfree" } });
    fireEvent.change(select("Country"), { target: { value: "NZ" } });
    expect(choices("Number type")).toEqual(["Mobile"]);
    expect(select("Number type").value).toBe("mobile");
    fireEvent.change(select("Country"), { target: { value: "GB" } });
    expect(choices("Number type")).toEqual(["Mobile", "Local"]);
    expect(select("Number type").value).toBe("mobile");

    expect(await create(sent)).toMatchObject({ country: "GB", numberType: "mobile" });
  });

  it("one pair on offer is said, not asked", async () => {
    const { client, sent } = api(offering([{ country: "NZ", numberType: "mobile", default: true }]));
    renderForm(client);
    expect(await within(group()).findByText("Mobile · New Zealand")).toBeTruthy();
    expect(within(group()).queryByRole("combobox")).toBeNull();
    expect(await create(sent)).toMatchObject({ country: "NZ", numberType: "mobile" });
  });

  it.each([
    ["an error answer", () => json(500, { error: "internal_error", message: "Something went wrong" })],
    ["no answer", () => Promise.reject(new TypeError("Failed to fetch"))],
    ["no options", offering([])],
  ])("options unreadable (%s): says the choice is unavailable, and creates with the defaults", async (_, answer) => {
    const { client, sent } = api(answer);
    renderForm(client);
    expect(await within(group()).findByText(/Choosing a country and type of number is unavailable/)).toBeTruthy();
    expect(within(group()).queryByRole("combobox")).toBeNull();
    const body = await create(sent);
    expect(body).not.toHaveProperty("country");
    expect(body).not.toHaveProperty("numberType");
  });

  it.each([
    ["country", "Country"],
    ["numberType", "Number type"],
  ])("a 400 naming %s is shown at that select", async (field, label) => {
    const message = "this deployment cannot buy that number: set TWILIO_REGULATIONS";
    const { client, sent } = api(offering(OFFERED), () =>
      json(400, { error: "validation_error", message: "Invalid request", fields: [{ field, message }] }),
    );
    renderForm(client);
    await within(group()).findByLabelText("Country");
    fireEvent.change(select("Country"), { target: { value: "GB" } });
    await create(sent);

    const control = await waitFor(() => {
      const found = select(label);
      expect(found.getAttribute("aria-invalid")).toBe("true");
      return found;
    });
    const description = (control.getAttribute("aria-describedby") ?? "")
      .split(" ")
      .map((id) => document.getElementById(id)?.textContent)
      .join(" ");
    expect(description).toContain("TWILIO_REGULATIONS");
    expect(screen.getByRole("alert").textContent).toBe("Please correct the fields marked below.");
  });

  it("a 400 naming the country with one pair on offer is shown under it", async () => {
    const message = "AU mobile needs TWILIO_REGULATIONS";
    const { client, sent } = api(offering([{ country: "AU", numberType: "mobile", default: true }]), () =>
      json(400, { error: "validation_error", message: "Invalid request", fields: [{ field: "country", message }] }),
    );
    renderForm(client);
    await within(group()).findByText("Mobile · Australia");
    await create(sent);
    expect(await within(group()).findByText(message)).toBeTruthy();
  });
});

describe("numberOptions", () => {
  it("describes a number's kind; nothing without both", () => {
    expect(describeNumber("AU", "mobile")).toBe("Mobile · Australia");
    expect(describeNumber("GB", "local")).toBe("Local · United Kingdom");
    expect(describeNumber("US", "tollfree")).toBe("Toll-free · United States");
    expect(describeNumber(undefined, "mobile")).toBeNull();
    expect(describeNumber("AU", null)).toBeNull();
  });

  it("moving to a country without the type takes its first", () => {
    expect(inCountry(OFFERED, "CA", "mobile")).toEqual({ country: "CA", numberType: "local" });
    expect(inCountry(OFFERED, "GB", "local")).toEqual({ country: "GB", numberType: "local" });
  });

  it("splits country and numberType from the other fields", () => {
    expect(
      splitNumberErrors([
        { field: "country", message: "a" },
        { field: "name", message: "b" },
        { field: "numberType", message: "c" },
      ]),
    ).toEqual({ number: { country: "a", numberType: "c" }, rest: [{ field: "name", message: "b" }] });
  });
});
