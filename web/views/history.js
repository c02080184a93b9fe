// @ts-check
/// <reference lib="dom" />
/**
 * History: minutes and confidence over the learning days (Chart.js: bars for minutes, a line
 * for confidence on its own 1–10 axis), and the same sessions as a table, which is also what a
 * screen reader reads (the chart is an image with a summary label).
 */
/** @import { SessionSummary } from "../../sdk/types.ts" */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from "chart.js";
import { byId, h } from "../lib/dom.js";
import { date, minutes } from "../lib/format.js";

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
);

/** @param {SessionSummary} s */
const label = (s) => `W${s.week} D${s.day}`;

/** @param {SessionSummary[]} chronological */
function chartConfig(chronological) {
  return /** @type {import("chart.js").ChartConfiguration<"bar" | "line">} */ ({
    type: "bar",
    data: {
      labels: chronological.map(label),
      datasets: [
        {
          type: "bar",
          label: "Minutes",
          data: chronological.map((s) => s.completion?.completion_time_min ?? null),
          backgroundColor: "#a5b4fc",
          borderRadius: 6,
          maxBarThickness: 48,
          yAxisID: "minutes",
          order: 2,
        },
        {
          type: "line",
          label: "Confidence",
          data: chronological.map((s) => s.completion?.confidence ?? null),
          borderColor: "#7c3aed",
          backgroundColor: "#7c3aed",
          pointRadius: 4,
          tension: 0.25,
          spanGaps: true,
          yAxisID: "confidence",
          order: 1,
        },
      ],
    },
    options: {
      // Drawn at once: no animation to wait for (and none for people who asked for less).
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false },
      plugins: { legend: { position: "bottom" } },
      scales: {
        minutes: {
          type: "linear",
          position: "left",
          beginAtZero: true,
          title: { display: true, text: "Minutes" },
        },
        confidence: {
          type: "linear",
          position: "right",
          min: 0,
          max: 10,
          grid: { drawOnChartArea: false },
          title: { display: true, text: "Confidence (1–10)" },
        },
      },
    },
  });
}

/** @param {SessionSummary[]} chronological */
function summary(chronological) {
  const done = chronological.filter((s) => s.completion);
  if (done.length === 0) return "No completed days yet.";
  const parts = done.map((s) =>
    `${
      label(s)
    }: ${s.completion?.completion_time_min} minutes, confidence ${s.completion?.confidence}`
  );
  return `Minutes and confidence for ${done.length} completed days. ${parts.join("; ")}.`;
}

/** @param {SessionSummary} s */
function row(s) {
  const c = s.completion;
  return h("tr", {}, [
    h("td", { text: `Week ${s.week}, day ${s.day}` }),
    h("td", { text: s.plan_title ?? "—" }),
    h("td", { text: c ? minutes(c.completion_time_min) : "—" }),
    h("td", { text: c ? `${c.confidence} / 10` : "—" }),
    h("td", { text: c ? date(c.completed_at) : "Not yet" }),
  ]);
}

export function createHistoryView() {
  /** @type {Chart<"bar" | "line"> | null} */
  let chart = null;

  return {
    /** @param {SessionSummary[]} sessions newest first, as the API lists them */
    render(sessions) {
      const completed = sessions.some((s) => s.completion !== null);
      byId("history-empty").hidden = completed;
      byId("history-chart-box").hidden = !completed;
      byId("history-table-wrap").hidden = sessions.length === 0;
      byId("history-rows").replaceChildren(...sessions.map(row));
      if (!completed) return;
      const chronological = [...sessions].reverse();
      const canvas = /** @type {HTMLCanvasElement} */ (byId("history-chart"));
      canvas.setAttribute("aria-label", summary(chronological));
      const config = chartConfig(chronological);
      if (chart) {
        chart.data = config.data;
        chart.update();
      } else {
        chart = new Chart(canvas, config);
      }
    },
    reset() {
      chart?.destroy();
      chart = null;
      byId("history-rows").replaceChildren();
      byId("history-empty").hidden = false;
      byId("history-chart-box").hidden = true;
      byId("history-table-wrap").hidden = true;
    },
  };
}
