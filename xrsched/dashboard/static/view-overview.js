// Overview: counts by status and family, pause state, workers, resources, health.

import { actionButton } from "./actions.js";
import { call, health } from "./api.js";
import { badge, h, link, replace } from "./dom.js";
import { route } from "./routes.js";

/** Statuses in the order the pages show them. */
export const STATUSES = ["PENDING", "RUNNING", "BATCH_RUNNING", "DONE", "FAILED", "DISABLED", "UNKNOWN"];

/** Render the overview and poll overview() and the health document. */
export function renderOverview(ctx) {
  const cards = h("div", { class: "cards", id: "overview-cards" });
  const statusTable = h("div", { id: "by-status" });
  const familyTable = h("div", { id: "by-family" });
  const resources = h("div", { id: "overview-resources" });
  replace(ctx.main,
    h("h1", {}, "Overview"), cards,
    h("section", {}, h("h2", {}, "Tasks by status"), statusTable),
    h("section", {}, h("h2", {}, "Resources"), resources),
    h("section", {}, h("h2", {}, "Tasks by family"), familyTable));
  ctx.poll(async () => {
    // One request after the other: a dashboard never has two requests in flight.
    const summary = await call("overview");
    const report = await health().catch((error) => ({ status: "unknown", reasons: [error.message] }));
    replace(cards, ...summaryCards(ctx, summary, report));
    replace(statusTable, byStatus(summary.tasks));
    replace(familyTable, byFamily(summary.tasks.by_family ?? {}));
    replace(resources, resourceTable(summary.resources ?? {}));
  });
}

function card(title, value, ...more) {
  return h("div", { class: "card" }, h("div", { class: "card-title" }, title), h("div", { class: "card-value" }, value), ...more);
}

function summaryCards(ctx, summary, report) {
  const paused = Boolean(summary.paused);
  const toggle = actionButton(ctx, paused ? "Unpause" : "Pause", paused ? "unpause" : "pause", () => ({}), { id: "pause-toggle" });
  const healthValue = h("span", { class: `health health-${String(report.status).replace(/[^a-z]/g, "")}`, id: "health-status" }, report.status);
  return [
    card("Tasks", h("span", { id: "total-tasks" }, summary.tasks.total)),
    card("Workers", h("span", { id: "active-workers" }, summary.workers.active), " active",
      summary.workers.disabled ? h("div", { class: "muted" }, `${summary.workers.disabled} disabled`) : null),
    card("Scheduler", h("span", { id: "paused", "data-paused": String(paused) }, paused ? "paused" : "running"), toggle),
    card("Health", healthValue, h("div", { class: "muted" }, report.version ? `version ${report.version}` : ""),
      ...(report.reasons ?? []).map((reason) => h("div", { class: "muted" }, reason))),
  ];
}

function byStatus(tasks) {
  const body = h("tbody");
  for (const status of STATUSES) {
    const count = tasks.by_status?.[status] ?? 0;
    if (!count && status !== "PENDING" && status !== "RUNNING" && status !== "FAILED") continue;
    body.append(h("tr", { "data-status": status },
      h("td", {}, link(route("tasks", [], { status }), badge(status))),
      h("td", { class: "num" }, count)));
  }
  return h("table", { class: "grid compact" }, h("thead", {}, h("tr", {}, h("th", {}, "Status"), h("th", { class: "num" }, "Tasks"))), body);
}

function byFamily(families) {
  const names = Object.keys(families).sort();
  if (names.length === 0) return h("p", { class: "muted" }, "No tasks.");
  const shown = STATUSES.filter((status) => names.some((name) => families[name][status]));
  const head = h("tr", {}, h("th", {}, "Family"), shown.map((status) => h("th", { class: "num" }, badge(status))));
  const body = h("tbody");
  for (const name of names) {
    const counts = families[name];
    // Family "": dependencies nobody has registered yet (status UNKNOWN).
    const title = name === "" ? h("span", { class: "muted" }, "(not registered yet)") : link(route("tasks", [], { family: name }), name);
    body.append(h("tr", {},
      h("td", {}, title),
      shown.map((status) => h("td", { class: "num" },
        counts[status] ? link(route("tasks", [], { family: name, status }), counts[status]) : ""))));
  }
  return h("table", { class: "grid" }, h("thead", {}, head), body);
}

function resourceTable(resources) {
  const names = Object.keys(resources).sort();
  if (names.length === 0) return h("p", { class: "muted" }, "No resources configured.");
  const body = h("tbody");
  for (const name of names) {
    const { used = 0, total = 0 } = resources[name];
    body.append(h("tr", {},
      h("td", {}, name),
      h("td", { class: "num" }, `${used} / ${total}`),
      h("td", {}, h("meter", { min: 0, max: Math.max(total, 1), value: Math.min(used, Math.max(total, 1)), high: Math.max(total, 1) * 0.9 }))));
  }
  return h("table", { class: "grid compact" },
    h("thead", {}, h("tr", {}, h("th", {}, "Resource"), h("th", { class: "num" }, "Used / capacity"), h("th", {}, ""))), body);
}
