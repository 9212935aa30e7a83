// Resources: capacity and use; operators and admins edit the capacity (update_resource).

import { numberForm } from "./actions.js";
import { call } from "./api.js";
import { h, link, replace } from "./dom.js";
import { taskRoute } from "./routes.js";
import { isEditing } from "./view-workers.js";

/** Render the resource table and poll resource_list(). */
export function renderResources(ctx) {
  const table = h("div", { id: "resource-table" });
  replace(ctx.main, h("h1", {}, "Resources"), table);
  ctx.poll(async () => {
    const resources = await call("resource_list");
    if (isEditing(table)) return;
    replace(table, resourceTable(ctx, resources));
  });
}

function resourceTable(ctx, resources) {
  if (resources.length === 0) return h("p", { class: "muted" }, "No resources configured ([resources] in the server's config).");
  const body = h("tbody");
  for (const resource of resources) {
    const total = Number(resource.num_total ?? 0);
    const used = Number(resource.num_used ?? 0);
    body.append(h("tr", { class: "resource-row", "data-id": resource.name },
      h("td", {}, resource.name),
      h("td", { class: "num" }, `${used} / ${total}`),
      h("td", {}, h("meter", { min: 0, max: Math.max(total, 1), value: Math.min(used, Math.max(total, 1)), high: Math.max(total, 1) * 0.9 })),
      h("td", {}, h("ul", { class: "relations" }, Object.keys(resource.running ?? {}).map((taskId) => h("li", {}, link(taskRoute(taskId), taskId))))),
      h("td", { class: "controls" },
        numberForm(ctx, "Set capacity", "update_resource", (amount) => ({ resource: resource.name, amount }), { value: total, min: 0, role: "operator" }))));
  }
  const head = h("tr", {}, ["Resource", "Used / capacity", "", "Running tasks", ""].map((name) => h("th", {}, name)));
  return h("table", { class: "grid resources" }, h("thead", {}, head), body);
}
