// Building DOM nodes safely. Every piece of data goes in as a text node (textContent): task
// parameters, messages and tracebacks are written by whoever submitted the task, so no string
// from the server is ever parsed as HTML.

const SVG_NS = "http://www.w3.org/2000/svg";
// Attributes this helper will set; anything else is a programming error, not data.
const SAFE_ATTRS = new Set([
  "class", "id", "type", "name", "value", "placeholder", "title", "for", "min", "max", "step",
  "role", "colspan", "datetime", "autocomplete", "required", "disabled", "selected", "checked",
  "data-id", "data-status", "data-route", "data-method", "aria-label", "aria-live", "tabindex",
  "maxlength", "size", "low", "high", "optimum", "open", "rel", "target",
]);

/** Create an HTML element: h("td", {class: "x"}, "text", childNode, [more, children]). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** Create an SVG element with attributes (numbers and our own strings only). */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) {
      el.addEventListener(key.slice(2), value);
    } else if (key === "href") {
      el.setAttribute("href", safeHref(value));
    } else if (SAFE_ATTRS.has(key) || key.startsWith("data-")) {
      el.setAttribute(key, value === true ? "" : String(value));
    } else {
      throw new Error(`attribute not allowed: ${key}`);
    }
  }
}

/** Append children: strings and numbers become text nodes, arrays are flattened. */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace the contents of `el` with `children`. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** A link inside the app, e.g. link("#/task/" + id, text). Only "#/" routes. */
export function link(route, ...children) {
  return h("a", { href: route }, ...children);
}

/** Only in-app routes and http(s) URLs may become links; anything else becomes "#". */
export function safeHref(value) {
  const text = String(value);
  if (text.startsWith("#/")) return text;
  return externalUrl(text) ?? "#";
}

/** The URL if it is absolute http: or https:, else null (no javascript:, data:, ...). */
export function externalUrl(text) {
  let url;
  try {
    url = new URL(String(text));
  } catch {
    return null;
  }
  return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
}

/** An epoch-seconds time as "YYYY-MM-DD HH:MM:SS" UTC ("" for none). */
export function fmtTime(seconds) {
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds <= 0) return "";
  return new Date(seconds * 1000).toISOString().replace("T", " ").slice(0, 19);
}

/** "3 s ago", "5 min ago"... relative to `now` (epoch seconds). */
export function fmtAgo(seconds, now = Date.now() / 1000) {
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds <= 0) return "";
  const delta = Math.max(0, now - seconds);
  if (delta < 60) return `${Math.round(delta)} s ago`;
  if (delta < 3600) return `${Math.round(delta / 60)} min ago`;
  if (delta < 86400) return `${Math.round(delta / 3600)} h ago`;
  return `${Math.round(delta / 86400)} d ago`;
}

/** A status badge: <span class="status status-FAILED">FAILED</span>. */
export function badge(status) {
  const known = /^[A-Z_]+$/.test(String(status)) ? String(status) : "UNKNOWN";
  return h("span", { class: `status status-${known}` }, String(status));
}

/** A two-column definition table from [label, value] rows; rows with an empty value are left out. */
export function facts(rows) {
  const body = h("tbody");
  for (const [label, value] of rows) {
    if (value === undefined || value === null || value === "") continue;
    body.append(h("tr", {}, h("th", {}, label), h("td", {}, value)));
  }
  return h("table", { class: "facts" }, body);
}
