import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CallPage } from "../src/components/CallPage";
import { RecentCalls } from "../src/components/RecentCalls";
import { agent } from "./agents";
import { formatCents } from "../src/money";
import { callHref, pageOf } from "../src/pages";
import { call, callDetail } from "./calls";
import { fakeApi, json } from "./fakeApi";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const SID = callDetail().callSid;
const LINK = {
  url: "https://recordings.test/agt_1/CA1.wav?X-Amz-Signature=abc",
  expiresAt: "2026-11-27T02:15:00Z",
  contentType: "audio/wav",
  sizeBytes: 1000,
};

function api(detail = callDetail(), link: () => Response = () => json(200, LINK)) {
  return fakeApi((sent) => {
    if (sent.path === `/api/agents/agt_1/calls/${SID}`) return json(200, detail);
    if (sent.path === `/api/agents/agt_1/calls/${SID}/conversation-recording`) return link();
    return json(404, { error: "not_found", message: "No such call." });
  });
}

describe("the call page's address", () => {
  it("is the hash #/agents/{agentId}/calls/{callSid}; anything else is the agents", () => {
    expect(callHref("agt_1", SID)).toBe(`#/agents/agt_1/calls/${SID}`);
    expect(pageOf(callHref("agt 1", SID))).toEqual({ kind: "call", agentId: "agt 1", callSid: SID });
    expect(pageOf("")).toEqual({ kind: "home" });
    expect(pageOf("#/agents/agt_1")).toEqual({ kind: "home" });
  });
});

describe("formatCents", () => {
  it.each([
    [1234, "en-US", "USD", "$12.34"],
    [0, "en-AU", "AUD", "$0.00"],
  ])("%s cents in %s (%s) is %s", (cents, locale, currency, text) => {
    expect(formatCents(cents, currency, locale)).toBe(text);
  });
});

describe("the history's link to a call's page", () => {
  it("each call in Recent calls links to its page, named by its caller and time", async () => {
    const { client } = fakeApi(() => json(200, { items: [call(1), call(2, { from: null })], nextCursor: null }));
    render(<RecentCalls agent={agent()} client={client} />);
    fireEvent.click(screen.getByText("Recent calls"));
    const links = await screen.findAllByRole("link", { name: /^Details of the call from/ });
    expect(links.map((link) => link.getAttribute("href"))).toEqual([
      callHref("agt_1", call(1).callSid),
      callHref("agt_1", call(2).callSid),
    ]);
    expect(links[1].textContent).toMatch(/^Details of the call from Unknown caller, /);
  });
});

describe("CallPage", () => {
  it("shows the transcript as a conversation: each turn its speaker, its time from the start, its words", async () => {
    const { client } = api();
    render(<CallPage client={client} agentId="agt_1" callSid={SID} />);
    const conversation = await screen.findByRole("list", { name: "Conversation" });
    const turns = within(conversation).getAllByRole("listitem");
    expect(turns.map((turn) => turn.querySelector(".speaker")?.textContent)).toEqual(["Agent", "Caller", "Agent"]);
    expect(turns.map((turn) => turn.querySelector("time")?.textContent)).toEqual(["at 0:00", "at 0:03", "at 1:05"]);
    expect(turns[2].querySelector("time")?.getAttribute("dateTime")).toBe("PT65S");
    expect(within(turns[1]).getByText("I'd like a cleaning on Tuesday.")).toBeTruthy();
    expect(turns[1].dataset.speaker).toBe("caller");
    expect(screen.queryByText(/longer than the call's record keeps/)).toBeNull();
  });

  it("heads the page with the caller; shows the answers, the cost in dollars, the summary and the mood", async () => {
    const { client, sent } = api();
    render(<CallPage client={client} agentId="agt_1" callSid={SID} />);
    const heading = await screen.findByRole("heading", { level: 2, name: "Call from +61 2 9876 5432" });
    expect(document.activeElement).toBe(heading);
    const answers = screen.getByRole("region", { name: "Answers to your questions" });
    const pairs = [...answers.querySelectorAll("dt")].map((dt) => [dt.textContent, dt.nextElementSibling?.textContent]);
    expect(pairs).toEqual([
      ["appointment_booked", "Yes"],
      ["reason", "cleaning"],
      ["party_size", "2"],
    ]);
    const usd = (cents: number) => formatCents(cents, "USD");
    expect(document.querySelector(".call-cost")?.textContent).toBe(
      `${usd(42)} (elevenlabs_tts ${usd(8)}, gpt_4_1 ${usd(34)}, 1 min 05 s billed)`,
    );
    expect(screen.getByText(/^Not priced yet/)).toBeTruthy();
    expect(screen.getByText("The caller booked a cleaning for Tuesday.")).toBeTruthy();
    expect(screen.getByText("Positive")).toBeTruthy();
    expect(sent[0].path).toBe(`/api/agents/agt_1/calls/${SID}`);
  });

  it("plays the recording from the short-lived link the API answers, in a labelled <audio controls>", async () => {
    const { client, sent } = api();
    render(<CallPage client={client} agentId="agt_1" callSid={SID} />);
    const player = await screen.findByLabelText("Recording of the call");
    expect(player.tagName).toBe("AUDIO");
    expect(player.hasAttribute("controls")).toBe(true);
    expect(player.getAttribute("src")).toBe(LINK.url);
    expect(sent.map((request) => request.path)).toContain(`/api/agents/agt_1/calls/${SID}/conversation-recording`);
  });

  it("a link that no longer plays (expired) is asked for again, once; then the owner may try again", async () => {
    let links = 0;
    const { client } = api(callDetail(), () => {
      links += 1;
      return json(200, { ...LINK, url: `${LINK.url}&n=${links}` });
    });
    render(<CallPage client={client} agentId="agt_1" callSid={SID} />);
    fireEvent.error(await screen.findByLabelText("Recording of the call"));
    await waitFor(() => expect(screen.getByLabelText("Recording of the call").getAttribute("src")).toMatch(/n=2$/));
    fireEvent.error(screen.getByLabelText("Recording of the call"));
    expect((await screen.findByRole("alert")).textContent).toMatch(/Could not load the recording/);
    fireEvent.click(screen.getByRole("button", { name: "Try again" }));
    await waitFor(() => expect(screen.getByLabelText("Recording of the call").getAttribute("src")).toMatch(/n=3$/));
  });

  it("a recording still being copied says so and offers to check again; none says there is none", async () => {
    const { client, sent } = api(callDetail({ recording: { status: "pending", url: null } }));
    render(<CallPage client={client} agentId="agt_1" callSid={SID} />);
    fireEvent.click(await screen.findByRole("button", { name: "Check again" }));
    await waitFor(() => expect(sent).toHaveLength(2));
    expect(screen.queryByLabelText("Recording of the call")).toBeNull();
    cleanup();

    const none = api(callDetail({ recording: null, transcript: [], postCallAnswers: {}, cost: null }));
    render(<CallPage client={none.client} agentId="agt_1" callSid={SID} />);
    expect(await screen.findByText("No recording of this call.")).toBeTruthy();
    expect(screen.getByText("No transcript.")).toBeTruthy();
    expect(screen.getByText("Not reported yet")).toBeTruthy();
    cleanup();

    const priced = api(callDetail({ twilioCost: { currency: "USD", cents: 7, durationSeconds: 66 } }));
    render(<CallPage client={priced.client} agentId="agt_1" callSid={SID} />);
    expect((await screen.findByText(formatCents(7))).className).toBe("call-twilio-cost");
  });

  it("a transcript cut at the record's caps says it is the beginning", async () => {
    const { client } = api(callDetail({ transcriptTruncated: true }));
    render(<CallPage client={client} agentId="agt_1" callSid={SID} />);
    expect(await screen.findByText(/this is its beginning/)).toBeTruthy();
  });

  it("an unknown call: says so as an alert, with the way back", async () => {
    const { client } = fakeApi(() => json(404, { error: "not_found", message: "No such call." }));
    render(<CallPage client={client} agentId="agt_1" callSid="CAnope" />);
    expect((await screen.findByRole("alert")).textContent).toMatch(/No such call/);
    expect(screen.getByRole("link", { name: "← Your agents" }).getAttribute("href")).toBe("#/");
  });
});
