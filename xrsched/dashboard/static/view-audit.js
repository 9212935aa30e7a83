// Admin: the audit log, newest first, filtered by identity, method and outcome (audit_search).

import { call } from "./api.js";
import { h, link, replace } from "./dom.js";
import { route } from "./routes.js";

const LIMIT = 100;
const COLUMNS = ["ts", "identity", "role", "method", "outcome", "duration_ms", "peer", "via", "request_id"];

/** Render the audit view for the filters (and `before` cursor) in the route's query. */
export function renderAudit(ctx) {
  const filters = {
    identity: ctx.query.get("identity") ?? "",
    method: ctx.query.get("method") ?? "",
    outcome: ctx.query.get("outcome") ?? "",
  };
  const before = ctx.query.get("before") ?? "";
  const note = h("p", { class: "muted", id: "audit-note" });
  const table = h("div", { id: "audit-table" });
  const pager = h("div", { class: "pager", id: "audit-pager" });
  replace(ctx.main, h("h1", {}, "Audit log"), auditFilters(filters), note, pager, table);
  let loaded = false;
  ctx.poll(async () => {
    // An older page does not change: it is loaded once. The newest page follows the log.
    if (loaded && before) return;
    const page = await call("audit_search", {
      identity: filters.identity || null, method: filters.method || null, outcome: filters.outcome || null,
      limit: LIMIT, before: before || null,
    });
    replace(note, page.note ?? "");
    replace(table, recordTable(page.records ?? []));
    replace(pager,
      before ? link(route("audit", [], filters), "← newest") : h("span", { class: "muted" }, "newest first"),
      page.next !== undefined && page.next !== null ? link(route("audit", [], { ...filters, before: page.next }), "older →") : h("span", { class: "muted" }, "end of log"));
    loaded = true;
  });
}

function auditFilters(filters) {
  const identity = h("input", { name: "identity", id: "audit-identity", value: filters.identity, placeholder: "identity (token:ops)", "aria-label": "Identity" });
  const method = h("input", { name: "method", id: "audit-method", value: filters.method, placeholder: "method", "aria-label": "Method" });
  const outcome = h("select", { name: "outcome", id: "audit-outcome", "aria-label": "Outcome" },
    [["", "any outcome"], ["ok", "ok"], ["error", "not ok"]].map(([value, label]) => h("option", { value, selected: value === filters.outcome }, label)));
  const form = h("form", { class: "filters", id: "audit-filters" }, identity, method, outcome, h("button", { type: "submit" }, "Apply"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = route("audit", [], { identity: identity.value.trim(), method: method.value.trim(), outcome: outcome.value });
  });
  outcome.addEventListener("change", () => form.requestSubmit());
  return form;
}

function recordTable(records) {
  if (records.length === 0) return h("p", { class: "muted", id: "no-records" }, "No record matches.");
  const body = h("tbody");
  for (const record of records) {
    const ok = record.outcome === "ok";
    body.append(h("tr", { class: ok ? "audit-row" : "audit-row audit-refused" },
      COLUMNS.map((name) => h("td", { class: name === "duration_ms" ? "num" : "" }, record[name] === undefined || record[name] === null ? "" : String(record[name])))));
  }
  return h("table", { class: "grid audit" }, h("thead", {}, h("tr", {}, COLUMNS.map((name) => h("th", {}, name)))), body);
}
