// The journey map: the server-drawn overlay SVG made interactive (touchpoints and flows can be
// picked with mouse or keyboard), hidden-journey highlighting, and the numbers behind a pick.

import { duration, h, num, parseSvg, pct, words } from "./util.js";

const ARROW = "→";
const flowKey = (from, to) => `${from}${ARROW}${to}`;

/** Indexes over a compare result that the side panel and the highlighting read. */
export function buildModel(result) {
  const overlay = result.overlay || { phases: [], flows: [], unknown_touchpoints: [] };
  const touchpoints = new Map();
  for (const phase of overlay.phases) {
    for (const tp of phase.touchpoints) touchpoints.set(tp.id, { ...tp, phase: phase.id, phaseName: phase.name, inMap: true });
  }
  for (const tp of overlay.unknown_touchpoints || []) {
    touchpoints.set(tp.id, { ...tp, phase: null, phaseName: null, inMap: false, observable: true });
  }
  const flows = new Map(overlay.flows.map((f) => [flowKey(f.from, f.to), f]));
  const designed = new Set(overlay.flows.filter((f) => f.designed).map((f) => flowKey(f.from, f.to)));
  const satisfaction = new Map((result.satisfaction?.touchpoints || []).map((s) => [s.touchpoint, s]));
  const leaks = new Map((result.leaks || []).map((l) => [l.touchpoint, l]));
  const frames = new Map((result.time_frames || []).filter((t) => t.from).map((t) => [flowKey(t.from, t.to), t]));
  // Example journeys per touchpoint and per flow, from the per-journey deviations.
  const examplesAt = new Map();
  const examplesOn = new Map();
  const cases = result.cases && typeof result.cases === "object" ? result.cases : {};
  const push = (map, key, id) => {
    const list = map.get(key) || [];
    if (list.length < 5 && !list.includes(id)) list.push(id);
    map.set(key, list);
  };
  for (const [id, c] of Object.entries(cases)) {
    for (const d of c.deviations) {
      if (d.touchpoint) push(examplesAt, d.touchpoint, id);
      if (d.from && d.to) push(examplesOn, flowKey(d.from, d.to), id);
    }
  }
  return { result, overlay, touchpoints, flows, designed, satisfaction, leaks, frames, examplesAt, examplesOn, cases };
}

/** The ordered deviation signature of a path (unknown touchpoints, undesigned flows), as the
 * comparison defines hidden journeys: first occurrence order, rework (a -> a) not counted. */
export function signatureOf(model, activities) {
  const sig = [];
  activities.forEach((a, i) => {
    if (!model.touchpoints.has(a) || !model.touchpoints.get(a).inMap) {
      if (!sig.includes(a)) sig.push(a);
    }
    const p = activities[i - 1];
    if (i > 0 && p !== a && model.touchpoints.get(p)?.inMap && model.touchpoints.get(a)?.inMap) {
      if (!model.designed.has(flowKey(p, a))) {
        const s = `${p}->${a}`;
        if (!sig.includes(s)) sig.push(s);
      }
    }
  });
  return sig;
}

/** Put the SVG text into `container`; touchpoints and flows become pickable (roving tabindex). */
export function mountMap(container, svgText, onPick) {
  const svg = parseSvg(svgText);
  container.replaceChildren();
  if (!svg) {
    container.append(h("p", { class: "muted" }, "The map could not be drawn."));
    return null;
  }
  svg.classList.add("journey-map", "fit");
  svg.setAttribute("focusable", "false");
  // Fit the width, but never shrink labels below ~70% of their drawn size: scroll instead.
  const natural = parseFloat(svg.getAttribute("width")) || 1200;
  svg.style.maxWidth = `${natural}px`;
  svg.style.minWidth = `${Math.round(natural * 0.72)}px`;
  const items = [...svg.querySelectorAll("g.touchpoint[data-touchpoint], g.flow[data-from][data-to]")];
  items.forEach((node, i) => {
    const title = node.querySelector("title")?.textContent || "";
    node.setAttribute("role", "button");
    node.setAttribute("tabindex", i === 0 ? "0" : "-1");
    node.setAttribute("aria-label", title.replaceAll("\n", ". "));
    node.classList.add("pickable");
  });
  const pick = (node) => {
    for (const other of svg.querySelectorAll(".is-picked")) other.classList.remove("is-picked");
    node.classList.add("is-picked");
    if (onPick) onPick(describeNode(node));
  };
  const move = (node) => {
    for (const other of items) other.setAttribute("tabindex", "-1");
    node.setAttribute("tabindex", "0");
    node.focus();
  };
  svg.addEventListener("click", (event) => {
    const node = event.target.closest(".pickable");
    if (node) {
      move(node);
      pick(node);
    }
  });
  svg.addEventListener("keydown", (event) => {
    const node = event.target.closest?.(".pickable");
    if (!node) return;
    const i = items.indexOf(node);
    const next = { ArrowRight: i + 1, ArrowDown: i + 1, ArrowLeft: i - 1, ArrowUp: i - 1, Home: 0, End: items.length - 1 }[event.key];
    if (next !== undefined) {
      event.preventDefault();
      move(items[(next + items.length) % items.length]);
    } else if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      pick(node);
    }
  });
  container.append(svg);
  return svg;
}

function describeNode(node) {
  if (node.dataset.touchpoint !== undefined) return { type: "touchpoint", id: node.dataset.touchpoint };
  return { type: "flow", from: node.dataset.from, to: node.dataset.to };
}

/** Mark a hidden journey on the map: its own flows and touchpoints, and its commonest path. */
export function highlight(svg, signature, path = []) {
  if (!svg) return;
  for (const node of svg.querySelectorAll(".is-highlighted, .is-on-path")) {
    node.classList.remove("is-highlighted", "is-on-path");
  }
  svg.classList.toggle("has-highlight", signature.length > 0);
  const mark = (selector, cls) => svg.querySelectorAll(selector).forEach((n) => n.classList.add(cls));
  const esc = (s) => CSS.escape(s);
  for (const item of signature) {
    if (item.includes("->")) {
      const [from, to] = item.split("->");
      mark(`g.flow[data-from="${esc(from)}"][data-to="${esc(to)}"]`, "is-highlighted");
      mark(`g.touchpoint[data-touchpoint="${esc(from)}"], g.touchpoint[data-touchpoint="${esc(to)}"]`, "is-highlighted");
    } else {
      mark(`g.touchpoint[data-touchpoint="${esc(item)}"]`, "is-highlighted");
      mark(`g.flow[data-from="${esc(item)}"], g.flow[data-to="${esc(item)}"]`, "is-highlighted");
    }
  }
  path.forEach((a, i) => {
    mark(`g.touchpoint[data-touchpoint="${esc(a)}"]`, "is-on-path");
    if (i > 0) mark(`g.flow[data-from="${esc(path[i - 1])}"][data-to="${esc(a)}"]`, "is-on-path");
  });
}

/** A readable line for one deviation of a journey. */
export function deviationText(d) {
  const step = d.position !== undefined && d.position !== null ? ` (step ${d.position + 1})` : "";
  const flow = d.from && d.to ? `${words(d.from)} ${ARROW} ${words(d.to)}` : "";
  const text = {
    unknown_touchpoint: `touchpoint not in the map: ${words(d.touchpoint)}`,
    unexpected_transition: `unexpected flow ${flow}`,
    skipped_touchpoint: `skipped ${words(d.touchpoint)}${flow ? ` (${flow})` : ""}`,
    wrong_start: `started at ${words(d.touchpoint)}, not at a designed start`,
    drop_off: `left the journey at ${words(d.touchpoint)}${d.phase ? ` (${words(d.phase)})` : ""}`,
    phase_regression: `went back a phase: ${flow}`,
    rework: `repeated ${words(d.touchpoint)}${d.detail ? ` (${d.detail})` : ""}`,
    time_frame_breach: `too slow: ${flow}${d.detail ? ` ${d.detail}` : ""}`,
    rule_breach: `broke a rule${d.detail ? `: ${d.detail}` : ""}`,
  }[d.type];
  return `${text || `${words(d.type)} ${d.touchpoint || flow}`}${step}`;
}

/** Example journeys with what went off the designed journey in each. */
export function exampleList(model, ids) {
  if (!ids || ids.length === 0) return h("p", { class: "muted" }, "No example journeys.");
  return h(
    "ul",
    { class: "examples" },
    ids.map((id) => {
      const c = model.cases[id];
      const devs = c ? c.deviations : [];
      return h(
        "li",
        {},
        h("code", {}, id),
        c && c.fits ? h("span", { class: "tag ok" }, "fits the map") : "",
        devs.length ? h("ul", {}, devs.map((d) => h("li", { class: `dev dev-${d.type}` }, deviationText(d)))) : "",
      );
    }),
  );
}

const facts = (rows) =>
  h("dl", { class: "facts" }, rows.filter(Boolean).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));

/** The side panel's content for a touchpoint. */
export function touchpointDetails(model, id) {
  const tp = model.touchpoints.get(id);
  if (!tp) return h("p", {}, `No numbers for ${id}.`);
  const sat = model.satisfaction.get(id);
  const leak = model.leaks.get(id);
  const incoming = [...model.flows.values()].filter((f) => f.to === id && f.count > 0).sort((a, b) => b.count - a.count);
  const outgoing = [...model.flows.values()].filter((f) => f.from === id && f.count > 0).sort((a, b) => b.count - a.count);
  const flowRows = (list, side) =>
    list.length
      ? h(
          "ul",
          { class: "flow-list" },
          list.slice(0, 6).map((f) =>
            h("li", {}, `${side === "in" ? "from" : "to"} ${words(side === "in" ? f.from : f.to)}: ${num(f.count)}× · median ${duration(f.median_s)}`, f.designed ? "" : h("span", { class: "tag warn" }, "unexpected")),
          ),
        )
      : h("p", { class: "muted" }, "none");
  return h(
    "div",
    {},
    h("h3", {}, words(id)),
    h(
      "p",
      { class: "muted" },
      tp.inMap ? `Phase: ${tp.phaseName || tp.phase}` : "Not in the map (hidden lane)",
      tp.channel ? ` · channel ${words(tp.channel)}` : "",
      tp.observable === false ? " · unobservable" : "",
    ),
    facts([
      ["Events", num(tp.count)],
      ["Journeys reaching it", num(tp.cases)],
      ["Drop-offs here", num(tp.drop_offs)],
      ["Journeys starting / ending here", `${num(tp.starts)} / ${num(tp.ends)}`],
      // Rework as the priority list counts it: journeys that come back to the touchpoint.
      ["Journeys coming back to it (rework)", num(tp.rework ?? tp.repeats)],
      ["Satisfaction", sat ? `${sat.mean.toFixed(2)} (${num(sat.scores)} scores)${sat.dip ? " · a dip" : ""}` : "no scores"],
      leak && [`Value at risk (leak, ${words(model.result.value?.impact_unit || "conversions")})`, num(leak.value_at_risk)],
      leak && ["Share of closed journeys lost here", pct(leak.share_of_closed)],
    ]),
    h("h4", {}, "Time to get here (median)"),
    flowRows(incoming, "in"),
    h("h4", {}, "Next steps"),
    flowRows(outgoing, "out"),
    h("h4", {}, "Example journeys"),
    exampleList(model, leak?.examples?.length ? leak.examples : model.examplesAt.get(id)),
  );
}

/** The side panel's content for a flow. */
export function flowDetails(model, from, to) {
  const f = model.flows.get(flowKey(from, to));
  if (!f) return h("p", {}, `No numbers for ${from} ${ARROW} ${to}.`);
  const frame = model.frames.get(flowKey(from, to));
  const kind = {
    designed: "designed flow, seen",
    unexpected: "unexpected flow: seen, not in the map",
    unseen: "designed flow, never seen",
    unobservable: "designed flow through an unobservable touchpoint",
  }[f.kind] || f.kind;
  const hidden = (model.result.hidden_journeys || []).filter((hj) =>
    hj.signature.some((s) => s === `${from}->${to}` || s === from || s === to),
  );
  return h(
    "div",
    {},
    h("h3", {}, `${words(from)} ${ARROW} ${words(to)}`),
    h("p", {}, h("span", { class: `tag ${f.designed ? "" : "warn"}` }, kind)),
    facts([
      ["Times directly followed", num(f.count)],
      ["Median time", duration(f.median_s)],
      frame && ["Time frame", `max ${duration(frame.max_s)} · breached ${num(frame.breached)} of ${num(frame.measured)} (${pct(frame.breach_rate)})${frame.overdue ? ` · ${num(frame.overdue)} still open, overdue` : ""}`],
      hidden.length > 0 && ["Hidden journeys using it", hidden.map((hj) => `${hj.label} (${num(hj.cases)})`).join(", ")],
    ]),
    h("h4", {}, "Example journeys"),
    exampleList(model, model.examplesOn.get(flowKey(from, to))),
  );
}
