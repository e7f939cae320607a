// The selected map as text, before it is trusted: read it, edit it, save it as a new version
// (PUT maps/{id}; the server's problems are listed with their line, a click selects the line),
// download it. A textarea is enough: the map's own format (TOML for drafts) is the interface.

import { ApiError, get, request } from "./api.js";
import { download, fill, h } from "./util.js";

const $ = (id) => document.getElementById(id);
const EXT = { toml: "toml", json: "json", yaml: "yaml" };
let current = null; // the map being edited: {id, name, format, version}

/** Select line `n` (1-based) of the textarea and scroll it into view. */
function selectLine(n) {
  const area = $("map-text");
  const lines = area.value.split("\n");
  const start = lines.slice(0, n - 1).reduce((sum, l) => sum + l.length + 1, 0);
  area.focus();
  area.setSelectionRange(start, start + (lines[n - 1] || "").length);
  const lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 18;
  area.scrollTop = Math.max(0, (n - 3) * lineHeight);
}

function showProblems(problem) {
  const list = Array.isArray(problem.problems) && problem.problems.length ? problem.problems : [{ line: problem.line, id: problem.id, message: problem.detail || problem.title }];
  fill(
    $("map-problems"),
    list.map((p) =>
      h(
        "li",
        { "data-line": p.line ?? "" },
        p.line ? h("button", { type: "button", class: "link", onclick: () => selectLine(p.line) }, `line ${p.line}`) : "",
        p.id ? ` · id “${p.id}”` : "",
        `: ${p.message}`,
      ),
    ),
  );
}

/** Open the editor on map `id` (its latest version). */
export async function openEditor(id) {
  const map = await get(`maps/${encodeURIComponent(id)}`);
  current = { id: map.id, name: map.name, format: map.format, version: map.version };
  $("map-text").value = map.text;
  $("map-editor").dataset.map = map.id;
  fill($("map-editor-title"), `${map.name}, version ${map.version} (${map.format.toUpperCase()})`);
  fill($("map-problems"), "");
  $("map-editor").hidden = false;
  $("map-text").focus();
}

/** Save the text as the map's next version; problems stay beside the text. Returns the map. */
export async function saveEditor() {
  if (!current) return null;
  try {
    const map = await request("PUT", `maps/${encodeURIComponent(current.id)}`, { json: { text: $("map-text").value } });
    current.version = map.version;
    fill($("map-editor-title"), `${map.name}, version ${map.version} (${map.format.toUpperCase()})`);
    fill($("map-problems"), h("li", { class: "saved" }, `Saved as version ${map.version}.`));
    return map;
  } catch (err) {
    if (err instanceof ApiError && err.status === 422) {
      showProblems(err.problem);
      return null;
    }
    throw err;
  }
}

export function downloadEditor() {
  if (!current) return;
  const ext = EXT[current.format] || "toml";
  download(`${current.name.replace(/[^\w.-]+/g, "_")}.${ext}`, $("map-text").value, "text/plain");
}

export function closeEditor() {
  $("map-editor").hidden = true;
  delete $("map-editor").dataset.map;
  current = null;
}
