// The summary views: headline numbers, segments side by side, the priority list, downloads.

import { barChart } from "./charts.js";
import { flatRows, sortableTable } from "./tables.js";
import { deltaPt, download, fill, h, num, pct, svgToPng, toCsv, words } from "./util.js";

function section(title, ...children) {
  return h("section", { class: "view-section" }, h("h3", {}, title), ...children);
}

const kpi = (label, value, note, id) =>
  h("div", { class: "kpi", "data-kpi": id }, h("span", { class: "label" }, label), h("strong", {}, value), note ? h("span", { class: "kpi-note" }, note) : "");

/** Headline numbers: journeys, conversion, fit, hidden journeys, worst leak. */
export function renderHeadline(node, result) {
  const f = result.fitness || {};
  const funnel = result.funnel || [];
  const first = funnel[0] || {};
  const leak = (result.leaks || [])[0];
  const hidden = result.hidden_journeys || [];
  fill(
    node,
    kpi("Journeys", num(f.n_cases), `${num(first.in_progress)} still in progress`, "journeys"),
    kpi("Conversion", pct(first.conversion_rate), `${num(first.converted)} of ${num(first.closed)} closed journeys`, "conversion"),
    kpi("Follow the map", pct(f.cases), `${num(f.fitting_cases)} journeys fit it`, "fitness"),
    kpi("Hidden journeys", num(hidden.length), hidden.length ? `${num(hidden.reduce((s, x) => s + x.cases, 0))} journeys take one` : "none found", "hidden"),
    kpi("Biggest leak", leak ? words(leak.touchpoint) : "–", leak ? `${num(leak.journeys)} journeys leave here` : "", "leak"),
  );
}

/** The segments side by side (from the unfiltered run), with the worst one named. */
export function renderSegments(panel, base, onFocus) {
  const seg = base?.by_segment;
  if (!seg || !seg.headline?.length) {
    fill(panel, h("p", {}, "No split: type an attribute (for example device) in “Split every view by” and compare again."));
    return;
  }
  const rows = seg.headline;
  const worst = [...rows].filter((r) => r.closed > 0).sort((a, b) => a.conversion_rate - b.conversion_rate)[0];
  const chart = h("div", { class: "chart", id: "segments-chart" });
  const cards = h(
    "div",
    { class: "segment-cards" },
    rows.map((r) =>
      h(
        "article",
        { class: `card segment ${r === worst ? "worst" : ""}`, "data-segment": r.segment ?? "" },
        h("h4", {}, `${seg.attribute} = ${r.segment ?? "(none)"}`, r === worst ? h("span", { class: "tag warn" }, "lowest conversion") : ""),
        h(
          "dl",
          { class: "facts" },
          h("dt", {}, "Journeys"), h("dd", {}, num(r.journeys)),
          h("dt", {}, "Conversion"), h("dd", {}, pct(r.conversion_rate)),
          h("dt", {}, "Follow the map"), h("dd", {}, pct(r.fitness_cases)),
          h("dt", {}, "Dropped"), h("dd", {}, num(r.dropped)),
          h("dt", {}, "In progress"), h("dd", {}, num(r.in_progress)),
        ),
        h("button", { type: "button", class: "secondary", onclick: () => onFocus(r.segment) }, `Show only ${r.segment}`),
      ),
    ),
  );
  const leaks = sortableTable(
    [
      { key: "segment", label: seg.attribute },
      { key: "touchpoint", label: "Leak point", format: words },
      { key: "journeys", label: "Journeys lost", num: true, format: num },
      { key: "share_of_closed", label: "Share of closed", num: true, format: pct },
      { key: "value_at_risk", label: "Value at risk", num: true, format: num },
    ],
    { rows: seg.leaks || [], caption: "Leaks per segment", sortKey: "value_at_risk", csv: "segment-leaks" },
  );
  fill(
    panel,
    worst ? h("p", { class: "lead" }, `Worst segment: ${seg.attribute} = ${worst.segment} converts ${pct(worst.conversion_rate)} of its closed journeys.`) : "",
    section(`By ${seg.attribute}, side by side`, cards, chart),
    section("Leaks per segment", leaks),
  );
  barChart(
    chart,
    rows.map((r) => String(r.segment)),
    [
      { name: "conversion", values: rows.map((r) => r.conversion_rate) },
      { name: "follow the map", values: rows.map((r) => r.fitness_cases) },
    ],
    { yTitle: "share of journeys", percent: true },
  );
}

/** The priority list: leaks and deviations ranked by impact. */
export function renderPriorities(panel, result) {
  const items = result.priorities || [];
  fill(
    panel,
    section(
      "What to fix first",
      h("p", { class: "hint" }, "Ranked by impact: journeys affected times the conversion gap (times the journey value where the log has one)."),
      h(
        "ol",
        { class: "priorities" },
        items.map((p) =>
          h(
            "li",
            {},
            h("span", { class: `tag ${p.kind === "leak" ? "warn" : ""}` }, p.kind === "leak" ? "leak" : words(p.type)),
            h("strong", {}, words(p.title)),
            h("span", { class: "muted" }, ` · ${num(p.journeys)} journeys · conversion ${pct(p.conversion_rate)} vs ${pct(p.baseline_rate)} · impact ${num(p.impact)}`),
          ),
        ),
      ),
      sortableTable(
        [
          { key: "rank", label: "Rank", num: true },
          { key: "title", label: "What", format: words },
          { key: "journeys", label: "Journeys", num: true, format: num },
          { key: "conversion_gap", label: "Conversion gap", num: true, format: deltaPt },
          { key: "impact", label: "Impact", num: true, format: num },
        ],
        { rows: items, caption: "Priorities as a table", csv: "priorities" },
      ),
    ),
  );
}

/** Downloads of the result: JSON, CSV of every table, SVG and PNG of the map. */
export function renderDownloads(panel, result, getSvg) {
  const tables = {
    funnel: result.funnel,
    leaks: result.leaks,
    "hidden-journeys": result.hidden_journeys,
    "time-frames": result.time_frames,
    priorities: result.priorities,
    deviations: result.deviations,
    paths: result.paths,
    "segments-headline": result.by_segment?.headline,
  };
  const button = (label, action) => h("button", { type: "button", class: "secondary", onclick: action }, label);
  fill(
    panel,
    section("The whole result", button("Result as JSON", () => download("journeyminer-result.json", JSON.stringify(result, null, 2), "application/json"))),
    section(
      "Tables as CSV",
      h(
        "div",
        { class: "buttons" },
        Object.entries(tables)
          .filter(([, rows]) => rows && rows.length)
          .map(([name, rows]) => button(`${name.replaceAll("-", " ")} (CSV)`, () => download(`${name}.csv`, toCsv(flatRows(rows)), "text/csv"))),
      ),
    ),
    section(
      "The journey map",
      h(
        "div",
        { class: "buttons" },
        button("Map as SVG", () => {
          const svg = getSvg();
          if (svg) download("journey-map.svg", new XMLSerializer().serializeToString(svg), "image/svg+xml");
        }),
        button("Map as PNG", async () => {
          const svg = getSvg();
          if (svg) download("journey-map.png", await svgToPng(svg));
        }),
      ),
    ),
  );
}
