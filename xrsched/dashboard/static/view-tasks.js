// Task list: filters by status and family, search, paging through task_page (never every task).

import { call } from "./api.js";
import { badge, fmtAgo, h, link, replace } from "./dom.js";
import { route, taskRoute } from "./routes.js";
import { STATUSES } from "./view-overview.js";

const PAGE = 50;

/** Render the task list for the filters in the route's query. */
export function renderTasks(ctx) {
  const filters = {
    status: ctx.query.get("status") ?? "",
    family: ctx.query.get("family") ?? "",
    search: ctx.query.get("search") ?? "",
    offset: Math.max(0, Number.parseInt(ctx.query.get("offset") ?? "0", 10) || 0),
  };
  const families = h("datalist", { id: "family-names" });
  const table = h("div", { id: "task-table" });
  const pager = h("div", { class: "pager", id: "pager" });
  replace(ctx.main, h("h1", {}, "Tasks"), filterForm(filters, families), pager, table);
  let named = false;
  ctx.poll(async () => {
    if (!named) {
      // The family names for the filter's suggestions, once per visit.
      const summary = await call("overview");
      replace(families, Object.keys(summary.tasks.by_family ?? {}).sort().map((name) => h("option", { value: name })));
      named = true;
    }
    const page = await call("task_page", {
      status: filters.status || null, family: filters.family || null, search: filters.search || null,
      offset: filters.offset, limit: PAGE,
    });
    replace(table, taskTable(page.tasks));
    replace(pager, ...pagerParts(filters, page));
  });
}

function filterForm(filters, families) {
  const status = h("select", { name: "status", id: "filter-status", "aria-label": "Status" },
    h("option", { value: "" }, "any status"),
    STATUSES.map((name) => h("option", { value: name, selected: name === filters.status }, name)));
  const family = h("input", { name: "family", id: "filter-family", value: filters.family, placeholder: "family", "aria-label": "Family" });
  family.setAttribute("list", "family-names");
  const search = h("input", { type: "search", name: "search", id: "filter-search", value: filters.search, placeholder: "search name and parameters", "aria-label": "Search" });
  const form = h("form", { class: "filters", id: "task-filters" }, status, family, families, search, h("button", { type: "submit" }, "Apply"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = route("tasks", [], { status: status.value, family: family.value.trim(), search: search.value.trim() });
  });
  status.addEventListener("change", () => form.requestSubmit());
  return form;
}

function pagerParts(filters, page) {
  const first = page.total === 0 ? 0 : page.offset + 1;
  const last = page.offset + page.tasks.length;
  const at = (offset) => route("tasks", [], { ...filters, offset: offset || "" });
  return [
    page.offset > 0 ? link(at(Math.max(0, page.offset - PAGE)), "← newer") : h("span", { class: "muted" }, "← newer"),
    h("span", { id: "page-range" }, `${first}–${last} of ${page.total}`),
    last < page.total ? link(at(page.offset + PAGE), "older →") : h("span", { class: "muted" }, "older →"),
  ];
}

/** "a=1, b=2" from a params object. */
export function paramText(params) {
  return Object.entries(params ?? {}).map(([key, value]) => `${key}=${value}`).join(", ");
}

function taskTable(tasks) {
  if (tasks.length === 0) return h("p", { class: "muted", id: "no-tasks" }, "No task matches.");
  const now = Date.now() / 1000;
  const body = h("tbody");
  for (const task of tasks) {
    const progress = task.progress_percentage !== undefined ? h("progress", { max: 100, value: task.progress_percentage }) : null;
    body.append(h("tr", { class: "task-row", "data-id": task.task_id, "data-status": task.status },
      h("td", {}, badge(task.status)),
      h("td", {}, link(taskRoute(task.task_id), task.family)),
      h("td", { class: "params" }, paramText(task.params)),
      h("td", {}, task.worker_running ?? ""),
      h("td", { class: "message" }, progress, task.status_message ?? ""),
      h("td", { class: "num" }, task.priority ?? 0),
      h("td", { title: String(task.last_updated ?? "") }, fmtAgo(task.last_updated, now))));
  }
  const head = h("tr", {}, ["Status", "Family", "Parameters", "Worker", "Message", "Priority", "Updated"].map((name) => h("th", {}, name)));
  return h("table", { class: "grid tasks" }, h("thead", {}, head), body);
}
