// The page's flow: sign in, choose or upload a log and a map, run the comparison with a live
// progress bar, then show the result in tabs. Every API error appears as a readable message.

import { ApiError, apiKey, get, post, request, waitFor } from "./api.js";
import { buildModel, flowDetails, highlight, touchpointDetails } from "./journeymap.js";
import { fill, h, num, parseSvg, segmentLabel, segmentName, words } from "./util.js";
import { renderDownloads, renderHeadline, renderPriorities, renderSegments } from "./summary.js";
import { renderFunnel, renderHidden, renderMap, renderTimes, renderVariants } from "./views.js";
import { describeFiles, mapOwnColumns, mappingOf } from "./upload.js";
import { closeEditor, downloadEditor, openEditor, saveEditor } from "./editor.js";

const $ = (id) => document.getElementById(id);

const state = {
  logs: [],
  maps: [],
  run: null, // {compare, discover, overlay, links, segment, value}
  base: null, // the unfiltered compare result (segments side by side)
  mapSvg: null,
  model: null,
  dirty: new Set(),
};

// -- messages -----------------------------------------------------------------------------
function showError(err, context, actions = []) {
  const problem = err instanceof ApiError ? err.problem : { title: "Something went wrong", detail: String(err.message || err) };
  const lines = Array.isArray(problem.problems) ? problem.problems : [];
  const detail = String(problem.detail || "");
  // Say each fact once: what the detail already tells is not repeated below it.
  const said = (text) => text && detail.includes(String(text));
  const where = [
    problem.file && `file ${problem.file}`,
    problem.line && `line ${problem.line}`,
    problem.id && `id “${problem.id}”`,
    problem.row && `row ${problem.row}`,
    problem.column && `column ${problem.column}`,
  ].filter((w) => w && !said(w.replace(/^(file|line|row|column) /, "").replace(/^id “(.*)”$/, "$1")));
  const box = h(
    "div",
    { class: "message error", role: "alert" },
    h("p", { class: "title" }, h("strong", {}, `${context ? `${context}: ` : ""}${problem.title || "Error"}`), problem.status ? h("span", { class: "status" }, ` (HTTP ${problem.status})`) : ""),
    problem.detail ? h("p", { class: "detail" }, problem.detail) : "",
    where.length && !lines.length ? h("p", { class: "where" }, where.join(" · ")) : "",
    problem.expected && !(said(problem.expected) && (!problem.found || said(problem.found)))
      ? h("p", { class: "where" }, `Expected: ${problem.expected}${problem.found ? ` · found: ${problem.found}` : ""}`)
      : "",
    lines.length
      ? h("ul", { class: "problems" }, lines.map((p) => h("li", {}, p.line ? h("strong", {}, `line ${p.line}`) : "", p.id ? ` · id “${p.id}”` : "", `: ${p.message}`)))
      : "",
    actions.length ? h("p", { class: "actions row" }, actions) : "",
    problem.request_id ? h("p", { class: "request-id" }, `Request id ${problem.request_id} (quote it when you ask for help)`) : "",
    h("button", { type: "button", class: "link", onclick: (e) => e.target.closest(".message").remove() }, "Dismiss"),
  );
  $("messages").prepend(box);
}

function clearMessages() {
  $("messages").replaceChildren();
}

const announce = (text) => fill($("announce"), text);

async function guarded(context, work) {
  try {
    return await work();
  } catch (err) {
    showError(err, context);
    if (err instanceof ApiError && err.status === 401) signOut(false);
    return undefined;
  }
}

/** Hide a progress bar and set it back to 0, so a failed step does not look half done. */
function resetProgress(rowId) {
  const row = $(rowId);
  row.hidden = true;
  const bar = row.querySelector(".progress");
  bar.setAttribute("aria-valuenow", "0");
  bar.removeAttribute("aria-valuetext");
  bar.querySelector(".bar").style.width = "0%";
  fill(row.querySelector(".stage"), "");
}

function setProgress(rowId, fraction, stage) {
  const row = $(rowId);
  row.hidden = false;
  const pctValue = Math.round(Math.max(0, Math.min(1, fraction)) * 100);
  const bar = row.querySelector(".progress");
  bar.setAttribute("aria-valuenow", String(pctValue));
  bar.setAttribute("aria-valuetext", `${pctValue}%${stage ? `: ${stage}` : ""}`);
  bar.querySelector(".bar").style.width = `${pctValue}%`;
  fill(row.querySelector(".stage"), `${pctValue}%${stage ? ` · ${stage}` : ""}`);
}

// -- sign in ------------------------------------------------------------------------------
async function signIn(key) {
  clearMessages();
  try {
    await get("logs", { key });
  } catch (err) {
    showError(err, "Sign in failed");
    $("api-key").focus();
    return;
  }
  apiKey.set(key);
  await enter();
}

async function enter() {
  $("sign-in").hidden = true;
  $("who").hidden = false;
  $("setup").hidden = false;
  await Promise.all([loadLogs(), loadMaps(), offerSample()]);
  $("log-select").focus();
}

function signOut(clear = true) {
  apiKey.clear();
  if (clear) clearMessages();
  $("sign-in").hidden = false;
  $("who").hidden = true;
  $("setup").hidden = true;
  $("results").hidden = true;
  $("api-key").value = "";
}

// -- logs and maps ------------------------------------------------------------------------
async function loadLogs(selectId) {
  const body = await guarded("Reading the logs", () => get("logs"));
  if (!body) return;
  state.logs = body.logs.filter((l) => l.status === "ready");
  const select = $("log-select");
  const keep = selectId || select.value;
  fill(
    select,
    state.logs.length ? "" : h("option", { value: "" }, "(no log yet: upload one below)"),
    state.logs.map((l) => h("option", { value: l.id }, `${l.name} · ${num(l.journeys)} journeys`)),
  );
  if (keep && state.logs.some((l) => l.id === keep)) select.value = keep;
  $("upload-details").open = state.logs.length === 0;
  logChanged();
}

// Attributes worth splitting by, offered while the log does not list its own attributes.
const SEGMENT_HINTS = ["device", "channel", "queue", "region"];
const NOT_SEGMENTS = new Set(["case_id", "activity", "timestamp", "customer_id", "source_id", "session_id", "call_id"]);

function logChanged() {
  const log = state.logs.find((l) => l.id === $("log-select").value);
  const attributes = Array.isArray(log?.attributes) ? log.attributes.filter((a) => !NOT_SEGMENTS.has(a)) : SEGMENT_HINTS;
  fill($("segment-attrs"), attributes.map((a) => h("option", { value: a })));
  // Local times the clocks showed twice (autumn fall-back hour), placed by the upload's rule.
  const twice = (log?.ingested || []).reduce((sum, line) => sum + (line.ambiguous_times || 0), 0);
  fill(
    $("log-facts"),
    log
      ? `${num(log.events)} events, ${num(log.journeys)} journeys of ${num(log.customers)} customers, ${log.start?.slice(0, 10)} to ${log.end?.slice(0, 10)}; channels: ${log.channels.join(", ")}`
      : "",
    twice ? h("span", { class: "ambiguous-times" }, `; ${num(twice)} local time${twice === 1 ? "" : "s"} in an autumn fall-back hour, placed by the upload's rule`) : "",
  );
  updateRun();
}

async function loadMaps(selectId) {
  const body = await guarded("Reading the maps", () => get("maps"));
  if (!body) return;
  state.maps = body.maps;
  const select = $("map-select");
  const keep = selectId || select.value;
  fill(
    select,
    state.maps.length ? "" : h("option", { value: "" }, "(no map yet: upload or draft one)"),
    state.maps.map((m) => h("option", { value: m.id }, `${m.name} · version ${m.version}`)),
  );
  if (keep && state.maps.some((m) => m.id === keep)) select.value = keep;
  mapChanged();
}

function mapChanged() {
  const map = state.maps.find((m) => m.id === $("map-select").value);
  fill($("map-facts"), map ? `${map.format.toUpperCase()}, updated ${map.updated_at.slice(0, 10)}` : "");
  $("map-edit").disabled = !map;
  // The editor follows the chosen map (not a reload of the same one: its messages stay).
  if (!$("map-editor").hidden && map && map.id !== $("map-editor").dataset.map) guarded("The map could not be read", () => openEditor(map.id));
  updateRun();
}

function updateRun() {
  $("run").disabled = !($("log-select").value && $("map-select").value);
}

function filesChanged() {
  describeFiles($("file-presets"), [...$("log-files").files], (err, context) => showError(err, context));
}

/** What the page can offer after an upload failed: open the log that has these files already,
 * or map the columns of the file a preset did not fit. */
function uploadActions(err) {
  const problem = err instanceof ApiError ? err.problem : {};
  const actions = [];
  if (problem.existing_log) {
    actions.push(
      h("button", { type: "button", class: "primary", onclick: (e) => openLog(problem.existing_log, e) }, `Open “${problem.existing_name || problem.existing_log}”`),
    );
  }
  if (problem.file && /column/i.test(problem.title || "") && [...$("log-files").files].some((f) => f.name === problem.file)) {
    actions.push(
      h("button", { type: "button", class: "secondary", onclick: (e) => { e.target.closest(".message").remove(); mapOwnColumns(problem.file); } }, `Map the columns of ${problem.file}`),
    );
  }
  return actions;
}

async function openLog(id, event) {
  event?.target.closest(".message")?.remove();
  await loadLogs(id);
  $("log-select").focus();
  announce("The stored log is selected.");
}

async function uploadLog(event) {
  event.preventDefault();
  clearMessages();
  const files = [...$("log-files").files];
  if (!files.length) return;
  const form = new FormData();
  const timezone = $("timezone").value.trim();
  // One mapping per file, in order: a preset or the file's own columns, each with its zone.
  files.forEach((f, i) => {
    form.append("files", f, f.name);
    form.append("mapping", JSON.stringify(mappingOf(i, timezone)));
  });
  const identities = $("identities").files[0];
  if (identities) form.append("identities", identities, identities.name);
  const customers = $("customers").files[0];
  if (customers) form.append("customers", customers, customers.name);
  if ($("log-name").value.trim()) form.append("name", $("log-name").value.trim());
  $("upload-button").disabled = true;
  setProgress("upload-progress", 0, "uploading");
  try {
    const job = await post("logs", { form });
    const done = await waitFor(job.status_url, (j) => setProgress("upload-progress", j.progress, j.stage || j.status));
    announce("The log is ready.");
    // Clear the chosen files: the next choice starts afresh (and cannot be sent twice by accident).
    $("log-files").value = "";
    fill($("file-presets"), "");
    await loadLogs(done.log);
  } catch (err) {
    resetProgress("upload-progress");
    showError(err, "Upload failed", uploadActions(err));
    if (err instanceof ApiError && err.status === 401) signOut(false);
  }
  $("upload-button").disabled = false;
}

/** Load the bundled sample (its log and map) and compare it, split by region: one click. */
async function trySample() {
  clearMessages();
  $("sample-button").disabled = true;
  setProgress("sample-progress", 0, "loading the sample");
  try {
    const loaded = await post("logs/sample");
    let log = loaded.log;
    if (loaded.job) log = (await waitFor(loaded.job.status_url, (j) => setProgress("sample-progress", j.progress, j.stage || j.status))).log;
    await Promise.all([loadLogs(log), loadMaps(loaded.map)]);
    resetProgress("sample-progress");
    $("segment-attr").value = "region";
    await run();
  } catch (err) {
    resetProgress("sample-progress");
    showError(err, "The sample could not be loaded");
  }
  $("sample-button").disabled = false;
}

async function offerSample() {
  const info = await get("logs/sample").catch(() => null);
  const card = $("sample-card");
  card.hidden = !info;
  if (!info) return;
  $("sample-button").hidden = !info.available;
  fill($("sample-note"), info.available ? `The bundled sample: ${info.detail}. One click loads it and compares it, split by region.` : `No sample here: ${info.detail}.`);
}

function formatOf(name) {
  const lower = name.toLowerCase();
  if (lower.endsWith(".json")) return "json";
  if (lower.endsWith(".yaml") || lower.endsWith(".yml")) return "yaml";
  return "toml";
}

async function uploadMap() {
  clearMessages();
  const file = $("map-file").files[0];
  if (!file) {
    showError(new Error("choose a map file (TOML, JSON or YAML) first"), "Upload map");
    return;
  }
  const text = await file.text();
  await guarded("The map was not stored", async () => {
    const map = await post("maps", { json: { name: file.name, format: formatOf(file.name), text } });
    announce(`Map ${map.name} stored.`);
    await loadMaps(map.id);
  });
}

async function draftMap() {
  clearMessages();
  const log = $("log-select").value;
  if (!log) {
    showError(new Error("choose or upload a log first"), "Draft a map");
    return;
  }
  await guarded("Drafting a map failed", async () => {
    const map = await post("maps/draft", { json: { log } });
    announce(`Drafted map ${map.name}: check it in the editor before you trust it.`);
    await loadMaps(map.id);
    await openEditor(map.id);
  });
}

// -- running ------------------------------------------------------------------------------
/** Run the comparison; `segmentValue` undefined: all journeys; a text: only that value of the
 * split attribute; null: only the journeys without one (the API's missing value). */
async function run(segmentValue = undefined) {
  clearMessages();
  const log = $("log-select").value;
  const map = $("map-select").value;
  const segment = $("segment-attr").value.trim() || null;
  const focused = segment !== null && segmentValue !== undefined;
  const filters = focused ? { segment: { [segment]: [segmentValue] } } : {};
  $("run").disabled = true;
  $("segment-value").disabled = true;
  setProgress("run-progress", 0, "queued");
  const progress = { compare: 0, discover: 0, stage: "queued" };
  const show = () => setProgress("run-progress", progress.compare * 0.85 + progress.discover * 0.15, progress.stage);
  await guarded("The comparison failed", async () => {
    const [cmpJob, discJob] = await Promise.all([
      post("analyses", { json: { log, map, kind: "compare", segment, filters } }),
      post("analyses", { json: { log, kind: "discover", filters } }),
    ]);
    const [cmp, disc] = await Promise.all([
      waitFor(cmpJob.status_url, (j) => {
        progress.compare = j.progress;
        progress.stage = j.stage || j.status;
        show();
      }),
      waitFor(discJob.status_url, (j) => {
        progress.discover = j.progress;
        show();
      }),
    ]);
    progress.stage = "loading the result";
    show();
    const [compare, overlay, discover] = await Promise.all([
      get(cmp.links.result),
      request("GET", cmp.links["overlay.svg"], { as: "text" }),
      get(disc.links.result),
    ]);
    state.run = { compare, discover, overlay, cmp, disc, segment, value: focused ? segmentValue : undefined, log, filters };
    state.model = null;
    if (!focused) state.base = compare;
    setProgress("run-progress", 1, "done");
    showResults();
    foldSetup(true);
    announce(`Comparison done: ${num(compare.fitness?.n_cases)} journeys.`);
  });
  $("run").disabled = false;
  $("segment-value").disabled = false;
  updateRun();
}

/** Fold the log and map cards into one line after a run, so the results are in view. */
function foldSetup(folded) {
  const log = state.logs.find((l) => l.id === $("log-select").value);
  const map = state.maps.find((m) => m.id === $("map-select").value);
  $("setup-body").hidden = folded;
  $("setup-folded").hidden = !folded;
  $("setup-unfold").setAttribute("aria-expanded", String(!folded));
  if (folded) {
    fill($("setup-summary"), "Log ", h("strong", {}, log?.name || "–"), " · map ", h("strong", {}, map ? `${map.name} (version ${map.version})` : "–"));
    $("results").scrollIntoView({ block: "start" });
  }
}

function showResults() {
  const { compare, segment, value } = state.run;
  $("results").hidden = false;
  renderHeadline($("headline"), compare);
  // Every value of the split, the journeys without one ("no region") included; each option
  // keeps its value (text or null) as a property, so null is a choice like any other.
  const values = (state.base?.by_segment?.headline || []).map((r) => r.segment);
  const select = $("segment-value");
  const option = (v) => {
    const node = h("option", { value: v ?? `(${segmentLabel(segment, v)})`, selected: v === value }, v === null ? `only journeys with ${segmentLabel(segment, v)}` : `only ${segmentName(segment, v)}`);
    node.segmentValue = v;
    return node;
  };
  fill(select, h("option", { value: "", selected: value === undefined }, "all journeys"), segment ? values.map(option) : "");
  select.disabled = !segment;
  fill(
    $("segment-note"),
    segment
      ? value !== undefined
        ? `Every view shows only the journeys ${value === null ? `with ${segmentLabel(segment, value)}` : `with ${segmentName(segment, value)}`}; the Segments tab keeps all of them side by side.`
        : `Views are split by ${segment}: charts show each ${segment} beside all journeys.`
      : "Type an attribute under “Split every view by” (for example device) and compare again to split the views.",
  );
  state.mapSvg = renderMap($("map-container"), state.run.overlay, pickOnMap);
  closeDetails(false);
  $("highlight-note").hidden = true;
  state.dirty = new Set(["funnel", "hidden", "variants", "time", "segments", "priorities", "downloads"]);
  const current = document.querySelector('[role="tab"][aria-selected="true"]');
  activate(current || $("tab-map"), false);
}

function pickOnMap(picked) {
  state.model = state.model || buildModel(state.run.compare);
  const model = state.model;
  const details = picked.type === "touchpoint" ? touchpointDetails(model, picked.id) : flowDetails(model, picked.from, picked.to);
  const aside = $("map-details");
  const close = h("button", { type: "button", class: "secondary close", onclick: () => closeDetails(true) }, "Close");
  fill(aside, close, details);
  aside.hidden = false;
  announce(`Details of ${aside.querySelector("h3")?.textContent || "the pick"} shown beside the map; Escape closes them.`);
}

/** Hide the details panel; give the focus back to the picked map item. */
function closeDetails(refocus) {
  const aside = $("map-details");
  aside.hidden = true;
  aside.replaceChildren();
  if (refocus) state.mapSvg?.querySelector(".is-picked")?.focus();
}

/** Draw the discovered process (performance or frequency view); with `topVariants`, of only
 * that many most frequent variants (one more, quick, discover analysis). */
async function loadDfg(view, box, topVariants = null) {
  const ticket = (state.dfgTicket = (state.dfgTicket || 0) + 1);
  const note = $("dfg-note");
  await guarded("The process graph could not be drawn", async () => {
    let links = state.run.disc.links;
    if (topVariants) {
      fill(note, `Drawing the ${num(topVariants)} most frequent variants…`);
      const filters = { ...state.run.filters, top_variants: topVariants };
      const job = await post("analyses", { json: { log: state.run.log, kind: "discover", filters } });
      links = (await waitFor(job.status_url)).links;
    }
    const svg = parseSvg(await request("GET", `${links["dfg.svg"]}?view=${view}`, { as: "text" }));
    if (ticket !== state.dfgTicket) return; // a newer request won
    fill(box, svg || h("p", { class: "muted" }, "No graph."));
    fill(note, topVariants ? `The ${num(topVariants)} most frequent variants.` : "All journeys.");
  });
}

const RENDER = {
  funnel: () => renderFunnel($("panel-funnel"), state.run.compare),
  hidden: () => renderHidden($("panel-hidden"), state.run.compare, state.run.discover, state.run.overlay, onHiddenSelected),
  variants: () => renderVariants($("panel-variants"), state.run.compare, state.run.discover, loadDfg),
  time: () => renderTimes($("panel-time"), state.run.compare),
  segments: () => renderSegments($("panel-segments"), state.base, (value) => focusSegment(value)),
  priorities: () => renderPriorities($("panel-priorities"), state.run.compare),
  downloads: () => renderDownloads($("panel-downloads"), state.run.compare, () => state.mapSvg),
};

function onHiddenSelected(hj, path) {
  highlight(state.mapSvg, hj.signature, path);
  const note = $("highlight-note");
  note.hidden = false;
  fill(
    note,
    `The map highlights the hidden journey “${words(hj.label)}” (${num(hj.cases)} journeys): its own steps are thick and outlined, its commonest path is outlined, the rest is faded. `,
    h(
      "button",
      {
        type: "button",
        class: "link",
        onclick: () => {
          highlight(state.mapSvg, []);
          note.hidden = true;
        },
      },
      "Clear the highlight",
    ),
  );
  announce(`Highlighted ${hj.label} on the map.`);
}

async function focusSegment(value) {
  const select = $("segment-value");
  for (const option of select.options) option.selected = option.segmentValue === value;
  await run(value);
}

/** The chosen option's segment value: undefined for all journeys, else its text or null. */
const chosenSegment = (select) => select.selectedOptions[0]?.segmentValue;

// -- tabs (roving tabindex, automatic activation) -------------------------------------------
function activate(tab, focus = true) {
  const tabs = [...document.querySelectorAll('#tabs [role="tab"]')];
  for (const t of tabs) {
    const on = t === tab;
    t.setAttribute("aria-selected", on ? "true" : "false");
    t.tabIndex = on ? 0 : -1;
    $(t.getAttribute("aria-controls")).hidden = !on;
  }
  if (focus) tab.focus();
  const name = tab.id.replace("tab-", "");
  if (state.run && state.dirty.has(name)) {
    state.dirty.delete(name);
    RENDER[name]();
  }
}

function onTabKey(event) {
  const tabs = [...document.querySelectorAll('#tabs [role="tab"]')];
  const i = tabs.indexOf(event.target);
  if (i < 0) return;
  const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[event.key];
  if (next === undefined) return;
  event.preventDefault();
  activate(tabs[(next + tabs.length) % tabs.length]);
}

// -- wiring -------------------------------------------------------------------------------
function wire() {
  $("sign-in-form").addEventListener("submit", (e) => {
    e.preventDefault();
    signIn($("api-key").value.trim());
  });
  $("sign-out").addEventListener("click", () => signOut());
  $("log-select").addEventListener("change", logChanged);
  $("map-select").addEventListener("change", mapChanged);
  $("log-files").addEventListener("change", filesChanged);
  $("upload-form").addEventListener("submit", uploadLog);
  $("map-upload").addEventListener("click", uploadMap);
  $("map-draft").addEventListener("click", draftMap);
  $("run").addEventListener("click", () => run());
  $("map-edit").addEventListener("click", () => guarded("The map could not be read", () => openEditor($("map-select").value)));
  $("map-save").addEventListener("click", () =>
    guarded("The map was not saved", async () => {
      const map = await saveEditor();
      if (map) {
        await loadMaps(map.id);
        announce(`Map ${map.name} saved as version ${map.version}.`);
      }
    }),
  );
  $("map-download").addEventListener("click", downloadEditor);
  $("map-editor-close").addEventListener("click", closeEditor);
  $("sample-button").addEventListener("click", trySample);
  $("setup-unfold").addEventListener("click", () => {
    foldSetup(false);
    $("log-select").focus();
  });
  $("segment-value").addEventListener("change", (e) => run(chosenSegment(e.target)));
  $("tabs").addEventListener("click", (e) => {
    const tab = e.target.closest('[role="tab"]');
    if (tab) activate(tab);
  });
  $("tabs").addEventListener("keydown", onTabKey);
  $("panel-map").addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !$("map-details").hidden) closeDetails(true);
  });
}

wire();
if (apiKey.get()) {
  get("logs").then(enter, (err) => {
    showError(err, "Please sign in again");
    signOut(false);
  });
}
document.body.dataset.ready = "true";
