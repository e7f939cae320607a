// The summary views: headline numbers, segments side by side, the priority list, downloads.

import { barChart } from "./charts.js";
import { flatRows, sortableTable } from "./tables.js";
import { deltaPt, download, fill, h, num, pct, segmentLabel, segmentName, svgToPng, toCsv, valueUnit, words } from "./util.js";

function section(title, ...children) {
  return h("section", { class: "view-section" }, h("h3", {}, title), ...children);
}

const kpi = (label, value, note, id) =>
  h("div", { class: "kpi", "data-kpi": id }, h("span", { class: "label" }, label), h("strong", {}, value), note ? h("span", { class: "kpi-note" }, note) : "");

/** The leak with the most journeys and the one with the most value at risk (conversions lost
 * where the log has no value): they can differ, and the page says both. */
export function biggestLeaks(result) {
  const leaks = result.leaks || [];
  const risk = (l) => (result.value?.attribute ? l.value_at_risk : l.conversions_lost) ?? -Infinity;
  const byVolume = leaks[0]; // leaks come most journeys first
  const byValue = leaks.reduce((best, l) => (best === undefined || risk(l) > risk(best) ? l : best), undefined);
  return { byVolume, byValue, risk };
}

/** Headline numbers: journeys (in progress apart), conversion, fit, hidden journeys, biggest
 * leak. Counts come from the log's own totals, never from a funnel row. */
export function renderHeadline(node, result) {
  const f = result.fitness || {};
  const t = result.totals || {};
  const hidden = result.hidden_journeys || [];
  const { byVolume, byValue, risk } = biggestLeaks(result);
  const unit = valueUnit(result);
  const leakNote = byVolume
    ? [
        `${num(byVolume.journeys)} journeys leave here`,
        !byValue || !(risk(byValue) > 0)
          ? ""
          : byValue !== byVolume
            ? h("span", { class: "kpi-more", "data-leak-by-value": byValue.touchpoint }, `; most value at risk: ${words(byValue.touchpoint)} (${num(risk(byValue))} ${words(unit)})`)
            : h("span", { class: "kpi-more" }, "; also the most value at risk"),
      ]
    : "";
  fill(
    node,
    kpi("Journeys", num(t.journeys), `${num(t.in_progress)} still in progress`, "journeys"),
    kpi("Conversion", pct(t.conversion_rate), `${num(t.converted)} of ${num(t.closed)} closed journeys`, "conversion"),
    kpi("Follow the map", pct(f.cases), `${num(f.fitting_cases)} journeys fit it`, "fitness"),
    kpi("Hidden journeys", num(hidden.length), hidden.length ? `${num(hidden.reduce((s, x) => s + x.cases, 0))} journeys take one` : "none found", "hidden"),
    kpi("Biggest leak by journeys", byVolume ? words(byVolume.touchpoint) : "–", leakNote, "leak"),
  );
}

/** The segments side by side (from the unfiltered run), with the worst and best one named.
 * Journeys without the attribute are a group of their own ("no region"): shown, filterable,
 * never crowned, since they are no value of it. */
export function renderSegments(panel, base, onFocus) {
  const seg = base?.by_segment;
  if (!seg || !seg.headline?.length) {
    fill(panel, h("p", {}, "No split: type an attribute (for example device) in “Split every view by” and compare again."));
    return;
  }
  const rows = seg.headline;
  const label = (v) => segmentLabel(seg.attribute, v);
  const ranked = rows.filter((r) => r.segment !== null && r.closed > 0 && r.conversion_rate !== null);
  const byRate = [...ranked].sort((a, b) => a.conversion_rate - b.conversion_rate);
  const worst = byRate.length > 1 ? byRate[0] : undefined;
  const best = byRate.length > 1 ? byRate[byRate.length - 1] : undefined;
  const chart = h("div", { class: "chart", id: "segments-chart" });
  const tag = (r) =>
    r === worst
      ? h("span", { class: "tag warn" }, "lowest conversion")
      : r === best
        ? h("span", { class: "tag ok" }, "highest conversion")
        : r.segment === null
          ? h("span", { class: "tag" }, "not ranked")
          : "";
  const cards = h(
    "div",
    { class: "segment-cards" },
    rows.map((r) =>
      h(
        "article",
        { class: `card segment ${r === worst ? "worst" : ""} ${r.segment === null ? "missing" : ""}`, "data-segment": r.segment ?? "", "data-missing": r.segment === null ? "true" : null },
        h("h4", {}, segmentName(seg.attribute, r.segment), tag(r)),
        r.segment === null ? h("p", { class: "hint" }, `Journeys with no ${words(seg.attribute)} (for example customers missing from the customer table); not a ${words(seg.attribute)}, so never ranked.`) : "",
        h(
          "dl",
          { class: "facts" },
          h("dt", {}, "Journeys"), h("dd", { "data-fact": "journeys" }, num(r.journeys)),
          h("dt", {}, "Conversion"), h("dd", { "data-fact": "conversion" }, pct(r.conversion_rate)),
          h("dt", {}, "Follow the map"), h("dd", {}, pct(r.fitness_cases)),
          h("dt", {}, "Dropped"), h("dd", {}, num(r.dropped)),
          h("dt", {}, "In progress"), h("dd", { "data-fact": "in_progress" }, num(r.in_progress)),
        ),
        h("button", { type: "button", class: "secondary", onclick: () => onFocus(r.segment) }, r.segment === null ? `Show only journeys with no ${words(seg.attribute)}` : `Show only ${r.segment}`),
      ),
    ),
  );
  const leaks = sortableTable(
    [
      { key: "segment", label: seg.attribute, format: label },
      { key: "touchpoint", label: "Leak point", format: words },
      { key: "journeys", label: "Journeys lost", num: true, format: num },
      { key: "share_of_closed", label: "Share of closed", num: true, format: pct },
      { key: "value_at_risk", label: `Value at risk (${words(valueUnit(base))})`, num: true, format: num },
    ],
    { rows: seg.leaks || [], caption: "Leaks per segment", sortKey: "value_at_risk", csv: "segment-leaks" },
  );
  const lead = worst
    ? h(
        "p",
        { class: "lead", id: "worst-segment" },
        `Worst ${words(seg.attribute)}: ${worst.segment} converts ${pct(worst.conversion_rate)} of its closed journeys`,
        best ? `; best: ${best.segment} (${pct(best.conversion_rate)}).` : ".",
      )
    : "";
  fill(panel, lead, section(`By ${seg.attribute}, side by side`, cards, chart), section("Leaks per segment", leaks));
  barChart(
    chart,
    rows.map((r) => label(r.segment)),
    [
      { name: "conversion", values: rows.map((r) => r.conversion_rate) },
      { name: "follow the map", values: rows.map((r) => r.fitness_cases) },
    ],
    { yTitle: "share of journeys", percent: true },
  );
}

const TYPE_WORDS = { drop_off: "leak", hidden_journey: "hidden journey" };
const badge = (type, warn) => h("span", { class: `tag ${warn ? "warn" : ""}` }, TYPE_WORDS[type] || words(type));

/** One priority: a badge per aspect (what kind) beside what it is about, never the kind twice. */
function priorityItem(p, unit, detail) {
  const aspects = p.aspects?.length ? p.aspects : [{ type: p.type, subject: p.subject ?? p.title }];
  return h(
    "li",
    { "data-journeys": p.journeys },
    h(
      "span",
      { class: "aspects" },
      aspects.map((a, i) => [i ? h("span", { class: "muted" }, " · ") : "", badge(a.type, p.kind === "leak"), " ", h("strong", {}, words(a.subject))]),
      p.hidden_journey ? [h("span", { class: "muted" }, " · "), badge("hidden_journey"), " ", h("strong", {}, words(p.hidden_journey))] : "",
    ),
    h("span", { class: "muted" }, ` · ${num(p.journeys)} journeys · ${detail(p, unit)}`),
  );
}

/** The priority list: what costs conversions or value (by impact), what works better than
 * designed, and what happens only after the goal. */
export function renderPriorities(panel, result) {
  const items = result.priorities || [];
  const better = result.better_than_designed || [];
  const after = result.after_goal || [];
  const unit = valueUnit(result);
  const { byVolume, byValue } = biggestLeaks(result);
  const costs = (p, u) =>
    p.kind === "leak"
      ? `those who go on from here convert ${pct(p.baseline_rate)} · ${u === "conversions" ? "conversions lost" : `value at risk (${words(u)})`} ${num(p.impact)}`
      : `conversion ${pct(p.conversion_rate)} vs ${pct(p.baseline_rate)} without it · impact ${num(p.impact)} ${words(u)}`;
  const gains = (p) => `conversion ${pct(p.conversion_rate)} vs ${pct(p.baseline_rate)} without it (${deltaPt(-p.conversion_gap)})`;
  fill(
    panel,
    section(
      "What to fix first",
      h(
        "p",
        { class: "hint", id: "priorities-why" },
        `Only what costs conversions, ranked by impact in ${words(unit)}: value at risk for a leak, journeys affected times the conversion gap (times the journey value) for a deviation. `,
        byVolume && byValue && byVolume !== byValue
          ? `So the top leak here is ${words(byValue.touchpoint)} (most value at risk), while the headline's biggest leak, ${words(byVolume.touchpoint)}, loses the most journeys.`
          : "",
      ),
      items.length ? h("ol", { class: "priorities", id: "priorities-list" }, items.map((p) => priorityItem(p, unit, costs))) : h("p", {}, "Nothing found that costs conversions."),
      sortableTable(
        [
          { key: "rank", label: "Rank", num: true },
          { key: "title", label: "What", format: words },
          { key: "journeys", label: "Journeys", num: true, format: num },
          { key: "conversion_gap", label: "Conversion gap", num: true, format: deltaPt },
          { key: "impact", label: `Impact (${words(unit)})`, num: true, format: num },
        ],
        { rows: items, caption: "Priorities as a table", csv: "priorities" },
      ),
    ),
    better.length
      ? section(
          "Works better than designed",
          h("p", { class: "hint" }, "Journeys off the map that convert better than the closed journeys without the same deviation: worth a look before “fixing” them."),
          h("ol", { class: "priorities better", id: "better-list" }, better.map((p) => priorityItem(p, unit, gains))),
        )
      : "",
    after.length
      ? section(
          "After the goal",
          h("p", { class: "hint" }, "Every one of these journeys had converted before it happened, so conversion cannot tell their cost (satisfaction and time frames can)."),
          h("ul", { class: "priorities after", id: "after-goal-list" }, after.map((p) => priorityItem(p, unit, () => "all converted before it"))),
        )
      : "",
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
    "better-than-designed": result.better_than_designed,
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
