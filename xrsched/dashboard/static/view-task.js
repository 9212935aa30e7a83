// One task: parameters, status, worker, times, message, progress, tracking URL, traceback,
// history timeline, dependencies and dependents (linked), and the operator's actions.

import { actionButton } from "./actions.js";
import { call } from "./api.js";
import { badge, externalUrl, facts, fmtTime, h, link, replace } from "./dom.js";
import { route, taskRoute } from "./routes.js";

/** Render the page of the task whose id is the route's first argument. */
export function renderTask(ctx) {
  const taskId = ctx.args[0] ?? "";
  const title = h("h1", { id: "task-title" }, taskId);
  const actions = h("div", { class: "actions", id: "task-actions" }, ...taskActions(ctx, taskId));
  const summary = h("div", { id: "task-summary" });
  const params = h("div", { id: "task-params" });
  const error = h("div", { id: "task-error" });
  const relations = h("div", { class: "columns", id: "task-relations" });
  const history = h("div", { id: "task-history" });
  replace(ctx.main, title, actions,
    h("div", { class: "columns" },
      h("section", {}, h("h2", {}, "Status"), summary),
      h("section", {}, h("h2", {}, "Parameters"), params)),
    error, relations,
    h("section", {}, h("h2", {}, "History"), history));
  ctx.poll(async () => {
    const task = await call("task_info", { task_id: taskId });
    replace(title, task.family, " ", badge(task.status));
    title.dataset.status = task.status;
    replace(summary, statusFacts(task));
    replace(params, paramTable(task.params));
    replace(error, task.error ? errorSection(task.error) : "");
    replace(relations, relationList("Dependencies", "task-deps", task.deps), relationList("Dependents", "task-dependents", task.dependents));
    replace(history, timeline(task.history ?? []));
    for (const button of actions.querySelectorAll("button[data-method]")) {
      button.hidden = !actionApplies(button.dataset.method, task.status);
    }
  });
}

function taskActions(ctx, taskId) {
  const kwargs = () => ({ task_id: taskId });
  // The server answers with the task's status after the call: say what it is now.
  const outcome = (label) => (result) => `${label}: ${result && result.status ? `the task is ${result.status}` : "nothing to change"}`;
  return [
    link(route("graph", [taskId]), "Dependency graph"),
    actionButton(ctx, "Re-enable", "re_enable_task", kwargs, { id: "action-re-enable", done: outcome("Re-enable") }),
    actionButton(ctx, "Forgive failures", "forgive_failures", kwargs, { id: "action-forgive", done: outcome("Forgive failures") }),
    actionButton(ctx, "Mark done", "mark_as_done", kwargs, { id: "action-mark-done", done: outcome("Mark done") }),
  ];
}

/** Whether the server would act on `method` for a task in `status` (xrsched/core/control.py). */
function actionApplies(method, status) {
  if (method === "re_enable_task") return status === "DISABLED";
  if (method === "forgive_failures") return status === "FAILED";
  if (method === "mark_as_done") return status === "RUNNING" || status === "FAILED" || status === "DISABLED";
  return true;
}

function statusFacts(task) {
  const tracking = task.tracking_url ? trackingLink(task.tracking_url) : "";
  const progress = task.progress_percentage !== undefined
    ? h("span", {}, h("progress", { max: 100, value: task.progress_percentage }), ` ${task.progress_percentage}%`) : "";
  return facts([
    ["Task id", h("code", { id: "task-id" }, task.task_id)],
    ["Status", h("span", { id: "task-status" }, badge(task.status))],
    ["Message", task.status_message ? h("span", { id: "task-message" }, task.status_message) : ""],
    ["Progress", progress],
    ["Worker", task.worker_running ?? ""],
    ["Interested workers", (task.workers ?? []).join(", ")],
    ["Priority", String(task.priority ?? 0)],
    ["Resources", Object.entries(task.resources ?? {}).map(([name, n]) => `${name}=${n}`).join(", ")],
    ["Added", fmtTime(task.time_added)],
    ["Running since", fmtTime(task.time_running)],
    ["Last updated", fmtTime(task.last_updated)],
    ["Retry at", fmtTime(task.retry_at)],
    ["Disabled until", fmtTime(task.disabled_until)],
    ["Tracking", tracking],
  ]);
}

/** A tracking URL as a link only when it is http(s); anything else is shown as text. */
function trackingLink(url) {
  const safe = externalUrl(url);
  if (safe === null) return h("span", { id: "tracking-url", class: "muted" }, url);
  return h("a", { href: safe, rel: "noopener noreferrer", target: "_blank", id: "tracking-url" }, url);
}

function paramTable(params) {
  const entries = Object.entries(params ?? {});
  if (entries.length === 0) return h("p", { class: "muted" }, "No parameters.");
  return h("table", { class: "facts params" }, h("tbody", {},
    entries.map(([key, value]) => h("tr", {}, h("th", {}, key), h("td", { class: "param-value" }, String(value))))));
}

function errorSection(text) {
  return h("section", { class: "error-box" }, h("h2", {}, "Error"), h("pre", { class: "traceback", id: "traceback" }, text));
}

function relationList(title, id, ids) {
  const list = ids ?? [];
  return h("section", {}, h("h2", {}, `${title} (${list.length})`),
    list.length === 0 ? h("p", { class: "muted" }, "None.")
      : h("ul", { class: "relations", id }, list.map((other) => h("li", {}, link(taskRoute(other), other)))));
}

function timeline(rows) {
  if (rows.length === 0) return h("p", { class: "muted" }, "No recorded changes.");
  return h("ol", { class: "timeline" }, rows.map((row) => h("li", {},
    h("time", {}, fmtTime(row.time)), " ",
    row.old_status ? badge(row.old_status) : "", row.old_status ? " → " : "", badge(row.new_status),
    row.worker ? h("span", { class: "muted" }, ` by ${row.worker}${row.host ? ` on ${row.host}` : ""}`) : "")));
}
