// Workers: their running tasks, last seen, processes; operators drain and resize them.

import { actionButton, numberForm } from "./actions.js";
import { call } from "./api.js";
import { fmtAgo, fmtTime, h, link, replace } from "./dom.js";
import { taskRoute } from "./routes.js";

/** Render the worker table and poll worker_list(). */
export function renderWorkers(ctx) {
  const table = h("div", { id: "worker-table" });
  replace(ctx.main, h("h1", {}, "Workers"), table);
  ctx.poll(async () => {
    const workers = await call("worker_list");
    if (isEditing(table)) return;
    replace(table, workerTable(ctx, workers));
  });
}

/** Whether the user is typing in a form inside `el` (a refresh would throw the input away). */
export function isEditing(el) {
  const active = document.activeElement;
  return active !== null && el.contains(active) && active.tagName === "INPUT";
}

function workerTable(ctx, workers) {
  if (workers.length === 0) return h("p", { class: "muted", id: "no-workers" }, "No worker is connected.");
  const now = Date.now() / 1000;
  const body = h("tbody");
  for (const worker of workers) {
    const running = Object.keys(worker.running ?? {});
    const processes = Number(worker.workers ?? 0) || "";
    body.append(h("tr", { class: "worker-row", "data-id": worker.name },
      h("td", {}, h("code", {}, worker.name), h("div", { class: "muted" }, [worker.host, worker.username, worker.pid].filter(Boolean).join(" · "))),
      h("td", {}, worker.state ?? ""),
      h("td", { title: fmtTime(worker.last_active) }, fmtAgo(worker.last_active, now)),
      h("td", { class: "num" }, processes),
      h("td", {}, running.length === 0 ? h("span", { class: "muted" }, "idle")
        : h("ul", { class: "relations" }, running.map((taskId) => h("li", {}, link(taskRoute(taskId), taskId))))),
      h("td", { class: "num" }, worker.num_pending ?? ""),
      h("td", { class: "controls" },
        worker.state === "disabled" ? null
          : actionButton(ctx, "Drain", "disable_worker", () => ({ worker: worker.name }), { done: () => `worker ${worker.name} drains: it finishes its running tasks and takes no new ones` }),
        numberForm(ctx, "Set processes", "set_worker_processes", (n) => ({ worker: worker.name, n }), { value: processes || 1, min: 1, name: "processes" }))));
  }
  const head = h("tr", {}, ["Worker", "State", "Last seen", "Processes", "Running", "Pending", ""].map((name) => h("th", {}, name)));
  return h("table", { class: "grid workers" }, h("thead", {}, head), body);
}
