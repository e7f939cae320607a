// Mapping each chosen source file's columns before the upload: the server reads the header from
// the file's first 64 KiB (POST logs/columns), the page offers the presets that fit (the first
// one preselected) or the file's own columns per role; a mapping can be saved in this browser
// per header (localStorage) and downloaded as TOML for `journeyminer ingest --mapping`.

import { post } from "./api.js";
import { download, fill, h, words } from "./util.js";

export const PRESETS = ["web", "call_center", "crm"];
const OWN = "own";
const SAMPLE_BYTES = 1 << 16;
const TEXT = /\.(csv|tsv|txt|jsonl|ndjson|json)$/i;
const SAVED = "journeyminer.mapping:";
const ROLES = [
  ["case", "Customer (case) column"],
  ["activity", "Touchpoint column"],
  ["timestamp", "Timestamp column"],
  ["start_timestamp", "Start time column (optional)"],
  ["channel", "Channel column"],
];
/** The first option of the roles a file may lack: "" sends no column for them. */
const NONE = {
  start_timestamp: "(none: each event is one moment)",
  channel: "(no channel column: one value for all)",
};
/** How to place local times that happen twice (the autumn fall-back hour); the API's default. */
const AMBIGUOUS_DEFAULT = "earliest";

/** What is known per chosen file: its header (null for Parquet, XES, …) and the saved mapping. */
const sources = [];

/** The key a mapping is saved under: the header's columns, in order. */
const signature = (columns) => SAVED + columns.join("\u001f");

function savedMapping(columns) {
  try {
    return JSON.parse(localStorage.getItem(signature(columns)) || "null");
  } catch {
    return null;
  }
}

/** One chosen file's mapping as the upload sends it: a preset (with the zone) or own columns;
 * the fall-back-hour rule (the form's one select) only when it is not the default. */
export function mappingOf(i, timezone) {
  const kind = document.getElementById(`preset-${i}`)?.value || PRESETS[0];
  const zone = document.getElementById(`map-${i}-timezone`)?.value.trim() || timezone || undefined;
  const rule = document.getElementById("ambiguous")?.value || AMBIGUOUS_DEFAULT;
  const placed = rule !== AMBIGUOUS_DEFAULT ? { ambiguous: rule } : {};
  if (kind !== OWN) return { preset: kind, ...(zone ? { timezone: zone } : {}), ...placed };
  const value = (role) => document.getElementById(`map-${i}-${role}`)?.value || undefined;
  const mapping = { case: value("case"), activity: value("activity"), timestamp: value("timestamp") };
  const start = value("start_timestamp");
  if (start) mapping.start_timestamp = start;
  const channel = value("channel");
  if (channel) mapping.channel = channel;
  else mapping.channel_value = document.getElementById(`map-${i}-channel-value`)?.value.trim() || "unknown";
  const format = document.getElementById(`map-${i}-format`)?.value.trim();
  if (format) mapping.timestamp_format = format;
  if (zone) mapping.timezone = zone;
  return { ...mapping, ...placed };
}

/** The mapping as TOML text (the fields the page sets are all plain strings). */
export function mappingToml(mapping) {
  const quote = (v) => JSON.stringify(String(v));
  return Object.entries(mapping)
    .filter(([, v]) => v !== undefined && v !== "")
    .map(([k, v]) => `${k} = ${quote(v)}`)
    .join("\n") + "\n";
}

function roleSelect(i, role, label, columns, chosen) {
  const id = `map-${i}-${role}`;
  const none = NONE[role] ? h("option", { value: "" }, NONE[role]) : "";
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    h("select", { id, "data-role": role }, none, columns.map((c) => h("option", { value: c, selected: c === chosen }, c))),
  );
}

function ownFields(i, source, saved) {
  const { header } = source;
  const pick = (role) => saved?.[role] ?? header.suggested[role] ?? "";
  const channelValue = saved?.channel_value ?? source.file.name.split(".")[0].toLowerCase();
  return h(
    "div",
    { class: "own-columns", id: `own-${i}` },
    h("div", { class: "role-grid" }, ROLES.map(([role, label]) => roleSelect(i, role, label, header.columns, pick(role)))),
    h(
      "div",
      { class: "role-grid" },
      h("div", { class: "field" }, h("label", { for: `map-${i}-channel-value` }, "Channel name when there is no channel column"), h("input", { id: `map-${i}-channel-value`, value: channelValue, autocomplete: "off" })),
      h(
        "div",
        { class: "field" },
        h("label", { for: `map-${i}-format` }, "Timestamp format (empty: detected)"),
        h("input", { id: `map-${i}-format`, value: saved?.timestamp_format || "", placeholder: "e.g. %d-%m-%Y %H:%M", autocomplete: "off", spellcheck: "false" }),
      ),
      h("div", { class: "field" }, h("label", { for: `map-${i}-timezone` }, "Time zone of this file (empty: the one below)"), h("input", { id: `map-${i}-timezone`, value: saved?.timezone || "", list: "timezones", autocomplete: "off" })),
    ),
  );
}

function examples(header) {
  if (!header.rows.length) return "";
  return h(
    "details",
    { class: "examples-rows" },
    h("summary", {}, `First rows of the file (${header.columns.length} columns)`),
    h(
      "div",
      { class: "table-scroll" },
      h("table", {}, h("thead", {}, h("tr", {}, header.columns.map((c) => h("th", { scope: "col" }, c)))), h("tbody", {}, header.rows.map((r) => h("tr", {}, r.map((v) => h("td", {}, v)))))),
    ),
  );
}

function kindChanged(i) {
  const source = sources[i];
  const kind = document.getElementById(`preset-${i}`).value;
  const box = document.getElementById(`columns-${i}`);
  if (!source.header) return;
  const saved = source.saved && kind === OWN ? source.saved : null;
  const fits = source.header.presets[kind];
  fill(
    box,
    kind === OWN
      ? ownFields(i, source, saved)
      : fits
        ? h("p", { class: "hint" }, `${words(kind)} reads customer “${fits.case}”, touchpoint “${fits.activity}”, time “${fits.timestamp}”${fits.channel ? `, channel “${fits.channel}”` : ""}.`)
        : h("p", { class: "hint warn" }, `This file lacks the ${words(kind)} preset's columns: choose “my own columns” to map them.`),
    examples(source.header),
    h(
      "div",
      { class: "row mapping-actions" },
      h("button", { type: "button", class: "secondary", onclick: () => saveMapping(i) }, "Save this mapping for files with these columns"),
      h("button", { type: "button", class: "secondary", onclick: () => downloadMapping(i) }, "Download mapping (TOML)"),
    ),
  );
}

function saveMapping(i) {
  const mapping = mappingOf(i, "");
  localStorage.setItem(signature(sources[i].header.columns), JSON.stringify(mapping));
  sources[i].saved = mapping;
  fill(document.getElementById(`saved-${i}`), "Saved in this browser: files with these columns get this mapping.");
}

function downloadMapping(i) {
  const stem = sources[i].file.name.split(".")[0] || "source";
  download(`${stem}.mapping.toml`, mappingToml(mappingOf(i, document.getElementById("timezone")?.value.trim())), "application/toml");
}

/** Show the kind of each chosen file and, for text files, its columns to map. */
export async function describeFiles(container, files, onError) {
  sources.length = 0;
  files.forEach((file) => sources.push({ file, header: null, saved: null }));
  fill(
    container,
    files.length
      ? h(
          "fieldset",
          { class: "presets" },
          h("legend", {}, "Which columns hold what, per file?"),
          files.map((f, i) => {
            const stem = f.name.split(".")[0].toLowerCase();
            return h(
              "div",
              { class: "source-row", "data-file": f.name },
              h("label", { for: `preset-${i}` }, f.name),
              h(
                "select",
                { id: `preset-${i}`, "data-file": f.name, onchange: () => kindChanged(i) },
                PRESETS.map((p) => h("option", { value: p, selected: p === stem }, `${words(p)} preset`)),
                TEXT.test(f.name) ? h("option", { value: OWN }, "my own columns") : "",
              ),
              h("p", { class: "hint saved", id: `saved-${i}`, "aria-live": "polite" }),
              h("div", { class: "columns", id: `columns-${i}` }, TEXT.test(f.name) ? h("p", { class: "hint" }, "Reading the header…") : ""),
            );
          }),
        )
      : "",
  );
  await Promise.all(
    files.map(async (file, i) => {
      if (!TEXT.test(file.name)) return;
      try {
        const sample = await file.slice(0, SAMPLE_BYTES).text();
        sources[i].header = await post("logs/columns", { json: { name: file.name, sample } });
      } catch (err) {
        fill(document.getElementById(`columns-${i}`), "");
        onError(err, `Reading the columns of ${file.name}`);
        return;
      }
      const header = sources[i].header;
      const saved = savedMapping(header.columns);
      const select = document.getElementById(`preset-${i}`);
      if (saved) {
        sources[i].saved = saved;
        select.value = saved.preset || OWN;
        fill(document.getElementById(`saved-${i}`), "Using the mapping saved in this browser for these columns.");
      } else if (!header.presets[select.value]) {
        select.value = header.preset || OWN;
      }
      kindChanged(i);
    }),
  );
}

/** Switch a file (by name) to its own columns, e.g. when the server says a preset does not fit. */
export function mapOwnColumns(name) {
  const i = sources.findIndex((s) => s.file.name === name);
  const select = document.getElementById(`preset-${i}`);
  if (i < 0 || !sources[i].header || !select) return false;
  select.value = OWN;
  kindChanged(i);
  document.getElementById(`map-${i}-case`)?.focus();
  return true;
}
