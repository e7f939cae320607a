// Charts through plotly.js, served from the plotly Python package (no CDN). Without plotly the
// page still shows every number in its tables; the chart spot says so.

import { h } from "./util.js";

const FONT = { family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 13, color: "#1b1f24" };
// Colour-blind-safe palette (Okabe–Ito); every series also has its own marker and a label.
const COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"];
const SYMBOLS = ["circle", "square", "diamond", "triangle-up", "x", "star", "cross"];
const PATTERNS = ["", "/", ".", "x", "-", "|", "+"];
const CONFIG = {
  displaylogo: false,
  responsive: true,
  modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"],
  toImageButtonOptions: { format: "png", scale: 2 },
};

export const hasPlotly = () => typeof window.Plotly === "object" && window.Plotly !== null;

// Numbers as the tables write them (en-GB): "2,741", never "2741".
const integer = new Intl.NumberFormat("en-GB", { maximumFractionDigits: 0 });

function layout(extra) {
  return {
    font: FONT,
    separators: ".,",
    margin: { l: 60, r: 20, t: 30, b: 60 },
    paper_bgcolor: "#ffffff",
    plot_bgcolor: "#ffffff",
    legend: { orientation: "h", y: -0.2 },
    ...extra,
  };
}

function draw(node, traces, extraLayout, summary) {
  node.replaceChildren();
  node.setAttribute("role", "img");
  node.setAttribute("aria-label", summary);
  if (!hasPlotly()) {
    node.append(h("p", { class: "muted" }, "Charts need plotly (not installed): the table beside it has the numbers."));
    return;
  }
  window.Plotly.newPlot(node, traces, layout(extraLayout), CONFIG);
}

/** The funnel by phase: journeys reaching each phase, one trace per segment if given. */
export function funnelChart(node, phases, series) {
  const traces = series.map((s, i) => ({
    type: "funnel",
    name: s.name,
    y: phases,
    x: s.values,
    // d3 format ",": thousands separators, as in the tables.
    texttemplate: "%{value:,}<br>%{percentInitial:.0%}",
    hovertemplate: "%{y}: %{value:,} journeys (%{percentInitial:.0%} of the first phase)<extra>%{fullData.name}</extra>",
    marker: { color: COLOURS[i % COLOURS.length], pattern: { shape: PATTERNS[i % PATTERNS.length] } },
    connector: { line: { color: "#9aa3ae", width: 1 } },
  }));
  draw(
    node,
    traces,
    { margin: { l: 120, r: 20, t: 20, b: 40 }, funnelmode: "group", showlegend: series.length > 1, xaxis: { tickformat: "," } },
    `Funnel by phase: ${series.map((s) => `${s.name}: ${s.values.map((v) => integer.format(v)).join(", ")}`).join("; ")}`,
  );
}

/** Grouped bars: categories on x, one trace per series; values as text on the bars. */
export function barChart(node, categories, series, { yTitle = "", percent = false, summary = "" } = {}) {
  const traces = series.map((s, i) => ({
    type: "bar",
    name: s.name,
    x: categories,
    y: s.values,
    text: s.values.map((v) => (v === null ? "" : percent ? `${(v * 100).toFixed(1)}%` : integer.format(v))),
    textposition: "outside",
    cliponaxis: false,
    marker: { color: COLOURS[i % COLOURS.length], pattern: { shape: PATTERNS[i % PATTERNS.length] } },
  }));
  draw(
    node,
    traces,
    {
      barmode: "group",
      showlegend: series.length > 1,
      yaxis: { title: { text: yTitle }, tickformat: percent ? ".0%" : ",", rangemode: "tozero" },
      xaxis: { automargin: true, tickangle: 0 },
    },
    summary || `${yTitle}: ${categories.map((c, i) => `${c} ${series[0]?.values[i]}`).join(", ")}`,
  );
}

/** Lines with markers along an ordered x (the satisfaction curve). */
export function lineChart(node, categories, series, { yTitle = "", yRange, summary = "" } = {}) {
  const traces = series.map((s, i) => ({
    type: "scatter",
    mode: "lines+markers+text",
    name: s.name,
    x: categories,
    y: s.values,
    text: s.values.map((v) => (v === null ? "" : v.toFixed(2))),
    textposition: "top center",
    connectgaps: true,
    line: { color: COLOURS[i % COLOURS.length], width: 2, dash: i === 0 ? "solid" : "dash" },
    marker: { size: 9, symbol: SYMBOLS[i % SYMBOLS.length] },
  }));
  draw(
    node,
    traces,
    { yaxis: { title: { text: yTitle }, range: yRange }, xaxis: { automargin: true }, showlegend: series.length > 1 },
    summary,
  );
}
