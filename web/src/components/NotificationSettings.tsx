import { type FormEvent, useEffect, useRef, useState } from "react";
import { type ApiClient, type ChannelResult, type NotificationSettings as Settings, errorMessage } from "../api";
import { formatWhen } from "../calls";
import { TextField } from "./AgentField";
import { CopyButton } from "./CopyButton";

interface Props {
  client: ApiClient;
}

type Field = "email" | "webhookUrl";
type Values = Record<Field, string>;
const valuesOf = (settings: Settings): Values => ({ email: settings.email ?? "", webhookUrl: settings.webhookUrl ?? "" });

type TestState =
  | { kind: "idle" }
  | { kind: "sending" }
  | { kind: "done"; webhook: ChannelResult | null; email: ChannelResult | null }
  | { kind: "failed"; message: string };

const WEBHOOK_HINT =
  "https, on a public host: each analysed call is POSTed there as JSON, signed (Standard Webhooks).";

/**
 * Where the owner hears of each analysed call: an email and a signed webhook. The signing secret is
 * in the one answer that made it (the first webhook URL saved, or a new one asked for): shown then,
 * with a copy button, and never again.
 */
export function NotificationSettings({ client }: Props) {
  const [settings, setSettings] = useState<Settings | null>(null);
  const [values, setValues] = useState<Values>({ email: "", webhookUrl: "" });
  const [errors, setErrors] = useState<Partial<Record<Field, string>>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [saving, setSaving] = useState(false);
  const [secret, setSecret] = useState<string | null>(null);
  const [rotating, setRotating] = useState(false);
  const [test, setTest] = useState<TestState>({ kind: "idle" });
  const secretBox = useRef<HTMLDivElement>(null);

  const take = (answer: Settings) => {
    setSettings(answer);
    setValues(valuesOf(answer));
    if (answer.signingSecret) setSecret(answer.signingSecret);
  };

  useEffect(() => {
    void (async () => {
      try {
        const { data, error, response } = await client.GET("/api/notifications");
        if (data) take(data);
        else setFormError(`Could not read your notification settings: ${errorMessage(error, response)}`);
      } catch (problem) {
        setFormError(`Could not read your notification settings: ${errorMessage(problem)}`);
      }
    })();
  }, [client]);
  // A secret just made: the keyboard and screen readers go to it (it is shown this once).
  useEffect(() => {
    if (secret) secretBox.current?.focus();
  }, [secret]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (saving) return;
    setSaving(true);
    setSaved(false);
    setErrors({});
    setFormError(null);
    try {
      const { data, error, response } = await client.PUT("/api/notifications", {
        body: { email: values.email.trim() || null, webhookUrl: values.webhookUrl.trim() || null },
      });
      if (data) {
        take(data);
        setSaved(true);
      } else if (error && "fields" in error && error.fields?.length) {
        const shown: Partial<Record<Field, string>> = {};
        const other: string[] = [];
        for (const { field, message } of error.fields) {
          if (field === "email" || field === "webhookUrl") shown[field] = message;
          else other.push(`${field}: ${message}`);
        }
        setErrors(shown);
        setFormError(other.length ? other.join("; ") : "Please correct the fields marked below.");
      } else {
        setFormError(errorMessage(error, response));
      }
    } catch (problem) {
      setFormError(`The request did not complete: ${errorMessage(problem)}.`);
    } finally {
      setSaving(false);
    }
  };

  const rotate = async () => {
    setRotating(true);
    setFormError(null);
    try {
      const { data, error, response } = await client.POST("/api/notifications/secret");
      if (data) take(data);
      else setFormError(`Could not make a new signing secret: ${errorMessage(error, response)}`);
    } catch (problem) {
      setFormError(`Could not make a new signing secret: ${errorMessage(problem)}`);
    } finally {
      setRotating(false);
    }
  };

  const sendTest = async () => {
    setTest({ kind: "sending" });
    try {
      const { data, error, response } = await client.POST("/api/notifications/test");
      setTest(
        data
          ? { kind: "done", webhook: data.webhook, email: data.email }
          : { kind: "failed", message: errorMessage(error, response) },
      );
    } catch (problem) {
      setTest({ kind: "failed", message: errorMessage(problem) });
    }
  };

  const change = (field: Field, value: string) => {
    setValues((current) => ({ ...current, [field]: value }));
    setSaved(false);
  };
  const field = (name: Field, label: string, type: "email" | "url", hint?: string) => (
    <TextField
      id={`notify-${name}`}
      name={name}
      label={label}
      type={type}
      value={values[name]}
      onChange={(value) => change(name, value)}
      error={errors[name]}
      hint={hint}
      autoComplete={type === "email" ? "email" : "url"}
    />
  );
  const configured = Boolean(settings?.email || settings?.webhookUrl);

  return (
    <section className="notifications" aria-labelledby="notify-title">
      <h2 id="notify-title">Notifications</h2>
      <p className="hint">Told of each call once Retell has analysed it. Leave a field empty to turn it off.</p>
      {/* Typing before the settings are read would be overwritten by them. */}
      {settings === null && !formError ? <p>Loading…</p> : null}
      <form onSubmit={submit} noValidate aria-labelledby="notify-title" hidden={settings === null && !formError}>
        {field("email", "Email (optional)", "email")}
        {field("webhookUrl", "Webhook URL (optional)", "url", WEBHOOK_HINT)}
        {formError ? (
          <p className="form-error" role="alert">
            {formError}
          </p>
        ) : null}
        <div className="form-actions">
          <span role="status" className="copied">
            {saved ? "Saved" : ""}
          </span>
          <button type="submit" disabled={saving || settings === null}>
            {saving ? "Saving…" : "Save"}
          </button>
        </div>
      </form>
      {secret ? (
        <div className="secret" ref={secretBox} tabIndex={-1} role="group" aria-labelledby="notify-secret-title">
          <h3 id="notify-secret-title">Your signing secret</h3>
          <p>
            Keep it now, where your webhook's receiver can read it: it is not shown again. Verify each delivery's{" "}
            <code>webhook-signature</code> with it.
          </p>
          <p className="secret-value">
            <code>{secret}</code>
            <CopyButton text={secret} label="Copy the signing secret" />
          </p>
          <button type="button" className="secondary" onClick={() => setSecret(null)}>
            I have kept it
          </button>
        </div>
      ) : null}
      {settings?.signingSecretCreatedAt ? (
        <div className="secret-state">
          <p>
            Deliveries are signed with the secret made{" "}
            <time dateTime={settings.signingSecretCreatedAt}>{formatWhen(settings.signingSecretCreatedAt)}</time>.
            {settings.previousSecretValidUntil ? (
              <>
                {" "}
                The previous one signs them too until{" "}
                <time dateTime={settings.previousSecretValidUntil}>{formatWhen(settings.previousSecretValidUntil)}</time>.
              </>
            ) : null}
          </p>
          <button type="button" className="secondary" disabled={rotating} onClick={() => void rotate()}>
            {rotating ? "Making a new secret…" : "Make a new signing secret"}
          </button>
          <p className="hint">The old secret keeps signing deliveries for 24 hours, so you can switch over.</p>
        </div>
      ) : null}
      <div className="notify-test">
        <button
          type="button"
          className="secondary"
          disabled={!configured || test.kind === "sending"}
          onClick={() => void sendTest()}
          aria-describedby={configured ? undefined : "notify-test-hint"}
        >
          {test.kind === "sending" ? "Sending…" : "Send a test notification"}
        </button>
        {!configured ? (
          <p id="notify-test-hint" className="hint">
            Save an email or a webhook URL first.
          </p>
        ) : null}
        <div role="status" className="test-result">
          {test.kind === "done" ? (
            <ul>
              {test.webhook ? <li data-delivered={test.webhook.delivered}>{channelWords("Webhook", test.webhook)}</li> : null}
              {test.email ? <li data-delivered={test.email.delivered}>{channelWords("Email", test.email)}</li> : null}
            </ul>
          ) : null}
          {test.kind === "failed" ? <p className="form-error">The test was not sent: {test.message}</p> : null}
        </div>
      </div>
    </section>
  );
}

/** "Webhook: delivered (HTTP 200, 120 ms)" or "Webhook: not delivered: the endpoint answered 500". */
export function channelWords(channel: string, result: ChannelResult): string {
  const details = [
    result.status !== null ? `HTTP ${result.status}` : null,
    result.durationMs !== null ? `${Math.round(result.durationMs)} ms` : null,
  ].filter(Boolean);
  const shown = details.length ? ` (${details.join(", ")})` : "";
  if (result.delivered) return `${channel}: delivered${shown}`;
  return `${channel}: not delivered${shown}${result.error ? `: ${result.error}` : ""}`;
}
