// Small helpers of the page: building elements, formatting numbers and durations, CSV, files.

/** An element: h("td", {class: "num"}, "12"); attributes starting with "on" become listeners. */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "dataset") {
      Object.assign(node.dataset, value);
    } else {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace a node's children. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

const integer = new Intl.NumberFormat("en-GB", { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat("en-GB", { maximumFractionDigits: 2 });

export const num = (x) => (x === null || x === undefined || Number.isNaN(x) ? "–" : integer.format(x));
export const dec = (x) => (x === null || x === undefined || Number.isNaN(x) ? "–" : decimal.format(x));
export const pct = (x, digits = 1) =>
  x === null || x === undefined || Number.isNaN(x) ? "–" : `${(x * 100).toFixed(digits)}%`;

/** A signed percentage-point difference: "+4.2 pt" / "−3.0 pt". */
export function deltaPt(x) {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  const v = x * 100;
  return `${v > 0 ? "+" : v < 0 ? "−" : "±"}${Math.abs(v).toFixed(1)} pt`;
}

/** Seconds as a short readable duration: 45s, 12m, 3.5h, 2.1d. */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "–";
  const s = Math.abs(seconds);
  const sign = seconds < 0 ? "−" : "";
  if (s < 90) return `${sign}${s.toFixed(s < 10 ? 1 : 0)}s`;
  if (s < 5400) return `${sign}${(s / 60).toFixed(0)}m`;
  if (s < 172800) return `${sign}${(s / 3600).toFixed(1)}h`;
  return `${sign}${(s / 86400).toFixed(1)}d`;
}

export const signedDuration = (s) =>
  s === null || s === undefined ? "–" : `${s > 0 ? "+" : ""}${duration(s)}`;

/** A touchpoint id as people read it: "add_to_cart" -> "add to cart". */
export const words = (id) =>
  id === null || id === undefined ? "–" : String(id).replaceAll("_", " ").replaceAll("->", "→");

/** A segment value as people read it: journeys without the attribute are "no region". The
 * JSON keeps null; this label is only how the page names that group. */
export const segmentLabel = (attribute, value) =>
  value === null || value === undefined ? `no ${words(attribute)}` : String(value);

/** "region = east", or "no region" for the journeys without one. */
export const segmentName = (attribute, value) =>
  value === null || value === undefined ? `no ${words(attribute)}` : `${attribute} = ${value}`;

/** The unit value at risk and impact count in (the value attribute, or conversions). */
export const valueUnit = (result) => result?.value?.impact_unit || "conversions";

/** Rows (objects) as CSV text with a header from `columns` (default: keys of the first row). */
export function toCsv(rows, columns) {
  const cols = columns || Object.keys(rows[0] || {});
  const cell = (v) => {
    if (v === null || v === undefined) return "";
    const text = typeof v === "object" ? JSON.stringify(v) : String(v);
    return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  return [cols.join(","), ...rows.map((r) => cols.map((c) => cell(r[c])).join(","))].join("\r\n") + "\r\n";
}

/** Offer a Blob (or text) to the person as a file download. */
export function download(name, content, type = "text/plain") {
  const blob = content instanceof Blob ? content : new Blob([content], { type });
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** An SVG element drawn into a PNG Blob through a canvas (at `scale` times its size). */
export function svgToPng(svg, scale = 2) {
  const width = parseFloat(svg.getAttribute("width")) || svg.viewBox.baseVal.width || 1200;
  const height = parseFloat(svg.getAttribute("height")) || svg.viewBox.baseVal.height || 800;
  const copy = svg.cloneNode(true);
  copy.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  const text = new XMLSerializer().serializeToString(copy);
  const url = URL.createObjectURL(new Blob([text], { type: "image/svg+xml" }));
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => {
      const canvas = h("canvas", { width: Math.ceil(width * scale), height: Math.ceil(height * scale) });
      const ctx = canvas.getContext("2d");
      ctx.fillStyle = "#ffffff";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
      URL.revokeObjectURL(url);
      canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("PNG failed"))), "image/png");
    };
    img.onerror = () => reject(new Error("the SVG could not be drawn"));
    img.src = url;
  });
}

/** Parse SVG text from the API into an element, without scripts or event attributes. */
export function parseSvg(text) {
  const doc = new DOMParser().parseFromString(text, "image/svg+xml");
  const svg = doc.documentElement;
  if (svg.nodeName !== "svg") return null;
  for (const bad of svg.querySelectorAll("script, foreignObject")) bad.remove();
  for (const node of [svg, ...svg.querySelectorAll("*")]) {
    for (const attr of [...node.attributes]) {
      if (/^on/i.test(attr.name) || /javascript:/i.test(attr.value)) node.removeAttribute(attr.name);
    }
  }
  return document.importNode(svg, true);
}
