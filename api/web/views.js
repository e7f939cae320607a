// The analysis views (one per tab): funnel and leaks, hidden journeys, variants and the
// performance view, time frames and satisfaction; drawn from a compare result and its discover twin.

import { barChart, funnelChart, lineChart } from "./charts.js";
import { buildModel, exampleList, highlight, mountMap, signatureOf } from "./journeymap.js";
import { sortableTable } from "./tables.js";
import { deltaPt, dec, duration, fill, h, num, pct, segmentName, signedDuration, valueUnit, words } from "./util.js";

/** The journey map tab: the overlay SVG and a side panel. Returns the SVG element. */
export function renderMap(container, svgText, onPick) {
  return mountMap(container, svgText, onPick);
}

function section(title, ...children) {
  return h("section", { class: "view-section" }, h("h3", {}, title), ...children);
}

/** Funnel by phase (and, when split, each segment's share reaching each phase) and the leak
 * points with value at risk. */
export function renderFunnel(panel, result) {
  const funnel = result.funnel || [];
  const phases = funnel.map((p) => words(p.phase));
  const chart = h("div", { class: "chart", id: "funnel-chart" });
  const seg = result.by_segment;
  const split = seg && seg.funnel?.length ? h("div", { class: "chart", id: "funnel-segments-chart" }) : null;
  const funnelTable = sortableTable(
    [
      { key: "phase", label: "Phase", format: words },
      { key: "reached", label: "Reached", num: true, format: num },
      { key: "dropped", label: "Left here", num: true, format: num },
      { key: "drop_rate", label: "Drop rate", num: true, format: pct },
      { key: "in_progress", label: "In progress", num: true, format: num },
      { key: "conversion_rate", label: "Converted after reaching", num: true, format: pct },
    ],
    { rows: funnel, caption: "Journeys per designed phase (only closed journeys count as drop-offs)", csv: "funnel" },
  );
  const leaks = sortableTable(
    [
      { key: "touchpoint", label: "Leak point", format: words },
      { key: "phase", label: "Phase", format: words },
      { key: "journeys", label: "Journeys lost", num: true, format: num },
      { key: "share_of_closed", label: "Share of closed", num: true, format: pct },
      { key: "pass_conversion", label: "Conversion of those who go on", num: true, format: pct },
      // Expected conversions (journeys x conversion of those who go on): whole journeys here,
      // the exact figure stays in the JSON and the CSV.
      { key: "conversions_lost", label: "Conversions lost (expected)", num: true, format: num },
      { key: "value_at_risk", label: `Value at risk (${words(valueUnit(result))})`, num: true, format: num },
    ],
    { rows: result.leaks || [], caption: "Where journeys end outside the goal", sortKey: "value_at_risk", csv: "leaks" },
  );
  fill(
    panel,
    section(
      "Funnel by phase",
      h(
        "div",
        { class: split ? "chart-row" : "" },
        h("div", {}, h("h4", {}, "All journeys reaching each phase"), chart),
        split ? h("div", {}, h("h4", {}, `Share of each ${seg.attribute}'s journeys reaching each phase`), split) : "",
      ),
      funnelTable,
    ),
    section("Leak points and value at risk", leaks),
  );
  funnelChart(chart, phases, [{ name: "all journeys", values: funnel.map((p) => p.reached) }]);
  if (split) {
    const names = [...new Set(seg.funnel.map((r) => r.segment))];
    const series = names.map((name) => {
      const rows = seg.funnel.filter((r) => r.segment === name);
      const first = rows.find((r) => r.phase === funnel[0]?.phase)?.reached || 1;
      const byPhase = new Map(rows.map((r) => [r.phase, r.reached / first]));
      return { name: segmentName(seg.attribute, name), values: funnel.map((p) => byPhase.get(p.phase) ?? 0) };
    });
    barChart(split, phases, series, { yTitle: "share reaching the phase", percent: true });
  }
}

/** The hidden journeys: a sortable table; picking one highlights it and lists examples. */
export function renderHidden(panel, result, discover, mapSvgText, onSelect) {
  const model = buildModel(result);
  const rows = (result.hidden_journeys || []).map((hj) => ({
    ...hj,
    channel_list: hj.channels.map((c) => words(c.channel)).join(", "),
  }));
  const detail = h("div", { class: "hidden-detail", id: "hidden-detail", "aria-live": "polite" });
  const mapBox = h("div", { class: "map-scroll small", id: "hidden-map" });
  let svg = null;
  const select = (hj) => {
    const paths = commonPaths(model, discover, hj.signature);
    svg = svg || mountMap(mapBox, mapSvgText, null);
    highlight(svg, hj.signature, paths[0]?.activities || []);
    fill(
      detail,
      h("h4", {}, `${hj.label}: ${num(hj.cases)} journeys (${pct(hj.share)})`),
      h(
        "p",
        {},
        `Conversion ${pct(hj.conversion_rate)} of its closed journeys: ${deltaPt(hj.delta_conversion)} against the rest of the closed journeys (${num(hj.rest_closed)}, converting ${pct(hj.rest_conversion_rate)}); `,
        `median duration ${duration(hj.median_duration_s)} (${signedDuration(hj.delta_duration_s)} against the rest's ${duration(hj.rest_median_duration_s)}). `,
        `Deviations seen: ${hj.deviation_types.map(words).join(", ")}.`,
      ),
      paths.length
        ? [h("h5", {}, "Its commonest paths"), h("ol", { class: "paths" }, paths.slice(0, 3).map((p) => h("li", {}, pathChips(model, p.activities), ` · ${num(p.count)} journeys`)))]
        : "",
      h("h5", {}, "Example journeys"),
      exampleList(model, hj.examples),
    );
    onSelect(hj, paths[0]?.activities || []);
  };
  const table = sortableTable(
    [
      { key: "label", label: "Hidden journey", format: (v) => words(v) },
      { key: "cases", label: "Journeys", num: true, format: num },
      { key: "share", label: "Share", num: true, format: pct },
      { key: "conversion_rate", label: "Conversion", num: true, format: pct },
      { key: "delta_conversion", label: "Δ conversion vs rest of closed journeys", num: true, format: deltaPt },
      { key: "median_duration_s", label: "Median duration", num: true, format: duration },
      { key: "delta_duration_s", label: "Δ duration vs rest", num: true, format: signedDuration },
      { key: "channel_list", label: "Channels" },
    ],
    {
      rows,
      caption: "Groups of journeys that leave the map the same way, each against the rest of the closed journeys (pick one to see it on the map)",
      sortKey: "cases",
      rowKey: (r) => r.signature.join("|"),
      select,
      csv: "hidden-journeys",
    },
  );
  table.id = "hidden-table";
  fill(
    panel,
    rows.length ? "" : h("p", {}, "No hidden journeys: every group of deviating journeys is below the support threshold."),
    section("Hidden journeys", table),
    section("The picked journey", h("div", { class: "hidden-layout" }, detail, mapBox)),
  );
  fill(detail, h("p", { class: "muted" }, "Pick a hidden journey in the table."));
}

/** Paths (variants of the discover result) whose deviation signature equals `signature`. */
export function commonPaths(model, discover, signature) {
  if (!discover) return [];
  const want = signature.join("|");
  return (discover.variants || []).filter((v) => signatureOf(model, v.activities).join("|") === want);
}

function pathChips(model, activities) {
  return h(
    "span",
    { class: "path" },
    activities.map((a, i) => {
      const unknown = !model.touchpoints.get(a)?.inMap;
      const odd = i > 0 && activities[i - 1] !== a && !unknown && model.touchpoints.get(activities[i - 1])?.inMap && !model.designed.has(`${activities[i - 1]}→${a}`);
      return [
        i > 0 ? h("span", { class: `arrow ${odd ? "odd" : ""}`, title: odd ? "unexpected flow" : null }, odd ? " ⇢ " : " → ") : "",
        h("span", { class: `chip ${unknown ? "unknown" : ""}` }, words(a), unknown ? h("span", { class: "visually-hidden" }, " (not in the map)") : ""),
        odd ? h("span", { class: "visually-hidden" }, " (unexpected flow)") : "",
      ];
    }),
  );
}

/** Variants explorer with a coverage slider (as in Disco), and the discovered process's
 * performance view, drawn for the variants the slider shows. */
export function renderVariants(panel, result, discover, loadDfg) {
  if (!discover) {
    fill(panel, h("p", { class: "muted" }, "Variants are being computed…"));
    return;
  }
  const model = buildModel(result);
  const variants = discover.variants || [];
  const total = variants.reduce((s, v) => s + v.count, 0) || 1;
  const slider = h("input", { type: "range", id: "coverage", min: 1, max: 100, step: 1, value: 80, "aria-describedby": "coverage-out" });
  const out = h("output", { id: "coverage-out", for: "coverage" });
  const list = h("div", { id: "variants-list", class: "scroll-y" });
  const follow = h("input", { type: "checkbox", id: "dfg-follow", checked: true });
  const MAX_ROWS = 200;
  let shownCount = 0;
  const update = () => {
    const want = Number(slider.value) / 100;
    let cum = 0;
    const shown = [];
    for (const v of variants) {
      if (cum >= want - 1e-9) break;
      cum += v.count / total;
      shown.push({ ...v, cumulative: cum, fits: signatureOf(model, v.activities).length === 0 });
    }
    shownCount = shown.length;
    fill(out, `${slider.value}% of journeys: ${num(shown.length)} of ${num(variants.length)} variants (covering ${pct(cum)})`);
    fill(
      list,
      sortableTable(
        [
          { key: "variant", label: "#", num: true, format: (v) => v + 1 },
          { key: "count", label: "Journeys", num: true, format: num },
          { key: "share", label: "Share", num: true, format: pct },
          { key: "cumulative", label: "Cumulative", num: true, format: pct },
          { key: "median_duration", label: "Median duration", num: true, format: duration },
          { key: "fits", label: "Within the map's flows", format: (v) => (v ? "yes" : "no: leaves the map"), sort: (r) => (r.fits ? 1 : 0) },
          { key: "activities", label: "Path", format: (v) => pathChips(model, v), sort: (r) => r.activities.length },
        ],
        { rows: shown.slice(0, MAX_ROWS), caption: "Variants: journeys with the same sequence of touchpoints", csv: "variants" },
      ),
      shown.length > MAX_ROWS ? h("p", { class: "hint" }, `Showing the first ${MAX_ROWS}; download the result for all of them.`) : "",
    );
  };
  const dfgBox = h("div", { class: "map-scroll", id: "dfg-container" });
  const view = () => panel.querySelector('input[name="dfg-view"]:checked')?.value || "performance";
  const redraw = () => loadDfg(view(), dfgBox, follow.checked && shownCount < variants.length ? shownCount : null);
  slider.addEventListener("input", update);
  slider.addEventListener("change", () => follow.checked && redraw());
  follow.addEventListener("change", redraw);
  const views = ["performance", "frequency"].map((v, i) =>
    h(
      "label",
      { class: "radio" },
      h("input", { type: "radio", name: "dfg-view", value: v, checked: i === 0, onchange: redraw }),
      v === "performance" ? " median time on each step" : " how often each step happens",
    ),
  );
  fill(
    panel,
    section(
      "Variants explorer",
      h("div", { class: "slider-row" }, h("label", { for: "coverage" }, "Show the variants that cover"), slider, out),
      list,
    ),
    section(
      "Performance view (discovered process)",
      h(
        "div",
        { class: "slider-row" },
        h("fieldset", { class: "inline" }, h("legend", {}, "Label the steps with"), views),
        h("label", { class: "radio" }, follow, " draw only the variants the slider shows"),
      ),
      h("p", { class: "hint", id: "dfg-note" }),
      dfgBox,
    ),
    serviceTimes(discover.service_times),
  );
  update();
  redraw();
}

/** How long each touchpoint itself takes (start to complete), for a log with start times; the
 * discover result has `service_times` only then, and without them there is no section. */
export function serviceTimes(rows) {
  if (!rows?.length) return "";
  return section(
    "Service time per touchpoint",
    h("p", { class: "hint" }, "From each event's start time to its complete time: how long a call, visit or task itself lasts, apart from the waits between touchpoints."),
    h(
      "div",
      { id: "service-times" },
      sortableTable(
        [
          { key: "activity", label: "Touchpoint", format: words },
          { key: "count", label: "Events", num: true, format: num },
          { key: "median", label: "Median", num: true, format: duration },
          { key: "mean", label: "Mean", num: true, format: duration },
          { key: "min", label: "Min", num: true, format: duration },
          { key: "max", label: "Max", num: true, format: duration },
        ],
        { rows, caption: "Touchpoints with start times, the longest median first", sortKey: "median", csv: "service-times" },
      ),
    ),
  );
}

const frameText = (frame) => words(frame);

/** Time frames (table and breach-rate bars, per segment when split) and the satisfaction curve. */
export function renderTimes(panel, result) {
  const frames = result.time_frames || [];
  const seg = result.by_segment;
  const chart = h("div", { class: "chart", id: "frames-chart" });
  const table = sortableTable(
    [
      { key: "frame", label: "Time frame", format: frameText },
      { key: "max_s", label: "Max", num: true, format: duration },
      { key: "measured", label: "Measured", num: true, format: num },
      { key: "breached", label: "Breached", num: true, format: num },
      { key: "breach_rate", label: "Breach rate", num: true, format: pct },
      { key: "overdue", label: "Still open, overdue", num: true, format: num },
      { key: "median_s", label: "Median", num: true, format: duration },
      { key: "p90_s", label: "90th percentile", num: true, format: duration },
    ],
    { rows: frames, caption: "Designed time frames and how often journeys breach them", sortKey: "breach_rate", csv: "time-frames" },
  );
  const sat = result.satisfaction || {};
  const satChart = h("div", { class: "chart", id: "satisfaction-chart" });
  fill(
    panel,
    section("Time frames breached", chart, table),
    section(
      "Satisfaction along the journey",
      sat.touchpoints?.length
        ? h(
            "p",
            {},
            `Mean score ${dec(sat.mean)} over ${num(sat.journeys_scored)} scored journeys; `,
            `peak at ${words(sat.peak_touchpoint)} (${dec(sat.peak_mean)}), lowest at ${words(sat.low_touchpoint)} (${dec(sat.low_mean)}); `,
            `mean end score ${dec(sat.mean_end)}.`,
          )
        : h("p", { class: "muted" }, "This log has no satisfaction scores (CSAT, NPS, sentiment)."),
      satChart,
    ),
  );
  const series = [{ name: "all journeys", values: frames.map((f) => f.breach_rate) }];
  if (seg && seg.time_frames?.length) {
    for (const name of [...new Set(seg.time_frames.map((r) => r.segment))]) {
      const rows = new Map(seg.time_frames.filter((r) => r.segment === name).map((r) => [r.frame, r.breach_rate]));
      series.push({ name: segmentName(seg.attribute, name), values: frames.map((f) => rows.get(f.frame) ?? null) });
    }
  }
  if (frames.length) barChart(chart, frames.map((f) => frameText(f.frame).replace(" → ", "<br>→ ")), series, { yTitle: "breach rate", percent: true });
  if (sat.touchpoints?.length) {
    // Along the journey: designed order of phases and touchpoints; unknown ones by their column.
    const order = new Map();
    (result.overlay?.phases || []).forEach((p, i) => p.touchpoints.forEach((t, j) => order.set(t.id, i * 100 + j)));
    const columns = new Map((result.overlay?.phases || []).map((p, i) => [p.id, i]));
    for (const u of result.overlay?.unknown_touchpoints || []) order.set(u.id, (columns.get(u.column) ?? 9) * 100 + 99);
    const points = [...sat.touchpoints].sort((a, b) => (order.get(a.touchpoint) ?? 1e9) - (order.get(b.touchpoint) ?? 1e9));
    const phaseMean = new Map((sat.phases || []).map((p) => [p.phase, p.mean]));
    lineChart(
      satChart,
      points.map((p) => words(p.touchpoint)),
      [
        { name: "mean score at the touchpoint", values: points.map((p) => p.mean) },
        { name: "mean score of its phase", values: points.map((p) => phaseMean.get(p.phase) ?? null) },
      ],
      { yTitle: "mean score", summary: `Satisfaction: ${points.map((p) => `${p.touchpoint} ${p.mean.toFixed(2)}`).join(", ")}` },
    );
  }
}
