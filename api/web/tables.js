// Tables of the page: sortable by any column (header buttons with aria-sort), optionally with
// one selectable row (a button in its first cell), and a CSV download of what they show.

import { download, h, toCsv } from "./util.js";

/**
 * A sortable table.
 * columns: [{key, label, format?(value,row), num?, sort?(row) -> value, title?}]
 * options: {caption, rows, sortKey, descending, select?(row), selectedKey?, rowKey?(row), csv?}
 */
export function sortableTable(columns, options) {
  const state = {
    key: options.sortKey ?? null,
    descending: options.descending ?? true,
    selected: options.selectedKey ?? null,
  };
  const rowKey = options.rowKey || ((row, i) => String(i));
  const wrap = h("div", { class: "table-wrap" });
  const table = h("table", { class: "data" });
  wrap.append(table);

  const valueOf = (col, row) => (col.sort ? col.sort(row) : row[col.key]);

  function sorted() {
    const rows = options.rows.map((row, i) => ({ row, i }));
    if (state.key === null) return rows;
    const col = columns.find((c) => c.key === state.key);
    const dir = state.descending ? -1 : 1;
    return rows.sort((a, b) => {
      const x = valueOf(col, a.row);
      const y = valueOf(col, b.row);
      if (x === y) return a.i - b.i;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * dir;
    });
  }

  function render() {
    const head = h(
      "tr",
      {},
      columns.map((col) => {
        const active = state.key === col.key;
        const sortState = active ? (state.descending ? "descending" : "ascending") : "none";
        const arrow = active ? (state.descending ? " ▼" : " ▲") : "";
        return h(
          "th",
          { scope: "col", class: col.num ? "num" : null, "aria-sort": sortState, title: col.title },
          h(
            "button",
            {
              type: "button",
              class: "sort",
              "data-key": col.key,
              onclick: () => {
                state.descending = active ? !state.descending : Boolean(col.num);
                state.key = col.key;
                render();
                table.querySelector(`th button[data-key="${col.key}"]`)?.focus();
              },
            },
            col.label,
            h("span", { class: "arrow", "aria-hidden": "true" }, arrow),
          ),
        );
      }),
    );
    const body = sorted().map(({ row, i }) => {
      const key = rowKey(row, i);
      const isSelected = options.select && state.selected === key;
      const cells = columns.map((col, c) => {
        const shown = col.format ? col.format(row[col.key], row) : row[col.key];
        let content = shown ?? "–";
        if (c === 0 && options.select) {
          content = h(
            "button",
            {
              type: "button",
              class: "row-select",
              "aria-pressed": isSelected ? "true" : "false",
              onclick: () => {
                state.selected = key;
                render();
                table.querySelector(`tr[data-key="${CSS.escape(key)}"] .row-select`)?.focus();
                options.select(row);
              },
            },
            content,
          );
        }
        return h(c === 0 ? "th" : "td", { class: col.num ? "num" : null, scope: c === 0 ? "row" : null }, content);
      });
      return h("tr", { "data-key": key, class: isSelected ? "selected" : null }, cells);
    });
    table.replaceChildren(
      options.caption ? h("caption", {}, options.caption) : "",
      h("thead", {}, head),
      h("tbody", {}, body),
    );
  }

  render();
  if (options.csv) {
    const rows = () => sorted().map(({ row }) => row);
    wrap.append(
      h(
        "button",
        {
          type: "button",
          class: "link csv",
          onclick: () => download(`${options.csv}.csv`, toCsv(flatRows(rows())), "text/csv"),
        },
        `Download this table as CSV`,
      ),
    );
  }
  wrap.selectKey = (key) => {
    state.selected = key;
    render();
  };
  return wrap;
}

/** Rows with nested lists/objects flattened to text, for CSV. */
export function flatRows(rows) {
  return rows.map((row) =>
    Object.fromEntries(
      Object.entries(row).map(([k, v]) => {
        if (Array.isArray(v)) {
          return [k, v.map((x) => (x && typeof x === "object" ? Object.values(x).join(":") : x)).join("; ")];
        }
        return [k, v && typeof v === "object" ? JSON.stringify(v) : v];
      }),
    ),
  );
}
