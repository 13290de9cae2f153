import {
  BarController,
  BarElement,
  CategoryScale,
  Chart as ChartJS,
  Legend,
  LineController,
  LineElement,
  LinearScale,
  PointElement,
  Tooltip,
} from "chart.js";
import { useState } from "react";
import { Chart } from "react-chartjs-2";
import type { UsageDay } from "../api";
import { formatCents } from "../money";
import { formatDay } from "../usage";

// Only the pieces this chart draws: chart.js is tree-shaken to them.
ChartJS.register(BarController, BarElement, LineController, LineElement, PointElement, CategoryScale, LinearScale, Tooltip, Legend);

interface Props {
  /** Names the chart and the table: "Usage of Reception, 4 Nov to 3 Dec". */
  title: string;
  days: readonly UsageDay[];
  currency: string;
}

/**
 * Calls (bars) and minutes (a line) per day. The canvas is a picture: the same numbers are in a table
 * that screen readers read (visually hidden until "Show as a table" shows it to everyone).
 */
export function UsageChart({ title, days, currency }: Props) {
  const [tableShown, setTableShown] = useState(false);
  const tableId = `${title.replace(/\W+/g, "-")}-table`;
  const labels = days.map((day) => formatDay(day.date));
  const data = {
    labels,
    datasets: [
      {
        type: "bar" as const,
        label: "Calls",
        data: days.map((day) => day.calls),
        backgroundColor: "#0b3d5c",
        yAxisID: "calls",
        order: 2,
      },
      {
        type: "line" as const,
        label: "Minutes",
        data: days.map((day) => day.minutes),
        borderColor: "#c05600",
        backgroundColor: "#c05600",
        pointRadius: 2,
        yAxisID: "minutes",
        order: 1,
      },
    ],
  };
  const options = {
    responsive: true,
    maintainAspectRatio: false,
    animation: false as const,
    interaction: { mode: "index" as const, intersect: false },
    // The line is drawn over the bars (its lower order); the legend still reads Calls, then Minutes.
    plugins: {
      legend: {
        labels: {
          sort: (a: { datasetIndex?: number }, b: { datasetIndex?: number }) =>
            (a.datasetIndex ?? 0) - (b.datasetIndex ?? 0),
        },
      },
    },
    scales: {
      calls: { type: "linear" as const, position: "left" as const, beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "Calls" } },
      minutes: {
        type: "linear" as const,
        position: "right" as const,
        beginAtZero: true,
        ticks: { precision: 0 },
        grid: { drawOnChartArea: false },
        title: { display: true, text: "Minutes" },
      },
    },
  };
  return (
    <figure className="usage-chart">
      <div className="chart-box">
        <Chart
          type="bar"
          data={data}
          options={options}
          role="img"
          aria-label={`${title}: calls and minutes per day, as a chart; the table lists them`}
        />
      </div>
      <button
        type="button"
        className="link"
        aria-expanded={tableShown}
        aria-controls={tableId}
        onClick={() => setTableShown((shown) => !shown)}
      >
        {tableShown ? "Hide the table" : "Show as a table"}
      </button>
      {/* A table keeps its rows' height whatever its box says: the wrapper is what is hidden. */}
      <div className={tableShown ? undefined : "visually-hidden"}>
        <table id={tableId} className="usage-table">
          <caption>{title}: per day</caption>
          <thead>
            <tr>
              <th scope="col">Day</th>
              <th scope="col">Calls</th>
              <th scope="col">Minutes</th>
              <th scope="col">Cost</th>
            </tr>
          </thead>
          <tbody>
            {days.map((day) => (
              <tr key={day.date}>
                <th scope="row">
                  <time dateTime={day.date}>{formatDay(day.date)}</time>
                </th>
                <td>{day.calls}</td>
                <td>{day.minutes}</td>
                <td>{formatCents(day.totalCents, currency)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
}
