import { Suspense, lazy, useState } from "react";
import { type Agent, type ApiClient, type Usage, errorMessage } from "../api";
import { browserTimeZone } from "../hours";
import { formatCents } from "../money";
import { PERIODS, formatDay, lastDays } from "../usage";
import { SelectField } from "./AgentField";

// chart.js is most of the dashboard's weight: loaded when a usage is first opened.
const UsageChart = lazy(() => import("./UsageChart").then((module) => ({ default: module.UsageChart })));

interface Props {
  agent: Agent;
  client: ApiClient;
}

/** The agent's calls, minutes and costs per day, fetched when the disclosure is first opened. */
export function AgentUsage({ agent, client }: Props) {
  const [days, setDays] = useState<number>(30);
  const [usage, setUsage] = useState<Usage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  const load = async (period: number) => {
    setLoading(true);
    const timezone = browserTimeZone();
    try {
      const { data, error: failure, response } = await client.GET("/api/agents/{agentId}/usage", {
        params: { path: { agentId: agent.id }, query: { ...lastDays(period, timezone), timezone } },
      });
      if (data) {
        setUsage(data);
        setError(null);
      } else setError(`Could not load the usage: ${errorMessage(failure, response)}`);
    } catch (problem) {
      setError(`Could not load the usage: ${errorMessage(problem)}`);
    } finally {
      setLoading(false);
    }
  };

  const total = usage?.total;
  const title = usage ? `Usage of ${agent.name}, ${formatDay(usage.from)} to ${formatDay(usage.to)}` : "";
  return (
    <details
      className="usage"
      onToggle={(event) => {
        if (event.currentTarget.open && usage === null && !loading) void load(days);
      }}
    >
      <summary>Usage and costs</summary>
      <SelectField
        id={`usage-${agent.id}-period`}
        name="period"
        label="Period"
        value={String(days)}
        options={PERIODS.map((period) => ({ value: String(period.days), label: period.label }))}
        onChange={(value) => {
          setDays(Number(value));
          void load(Number(value));
        }}
      />
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
      {usage === null && !error ? <p>Loading…</p> : null}
      {usage && total ? (
        <>
          <dl className="usage-total" aria-busy={loading}>
            <dt>Calls</dt>
            <dd>{total.calls}</dd>
            <dt>Minutes</dt>
            <dd>{total.minutes}</dd>
            <dt>Cost</dt>
            <dd>
              <strong>{formatCents(total.totalCents, usage.currency)}</strong>{" "}
              <span className="cost-parts">
                (Retell {formatCents(total.retellCents, usage.currency)}, Twilio calls{" "}
                {formatCents(total.twilioCents, usage.currency)}, number {formatCents(total.numberCents, usage.currency)})
              </span>
            </dd>
          </dl>
          {total.unpricedCalls ? (
            <p className="hint">
              {total.unpricedCalls === 1 ? "1 call has" : `${total.unpricedCalls} calls have`} no Twilio price yet
              (Twilio sets it minutes after a call): not in the cost.
            </p>
          ) : null}
          <Suspense fallback={<p>Loading the chart…</p>}>
            <UsageChart title={title} days={usage.days} currency={usage.currency} />
          </Suspense>
        </>
      ) : null}
    </details>
  );
}
