// Dependency graph of one task: upstream (dep_graph) or downstream (inverse_dep_graph), "hide
// done", coloured by status, click-through. Above COLLAPSE_AT nodes it is drawn by family.

import { call } from "./api.js";
import { h, link, replace } from "./dom.js";
import { drawGraph, recolour } from "./graph-draw.js";
import { collapseByFamily } from "./graph-layout.js";
import { route, taskRoute } from "./routes.js";
import { paramText } from "./view-tasks.js";

/** Graphs with more nodes than this are collapsed by family. */
export const COLLAPSE_AT = 2500;
/** Big graphs are fetched again at most this often (ms): a live view must not load the server. */
const BIG_GRAPH = 500;
const BIG_REFETCH_MS = 10000;

/** Render the graph page for the task in the route's first argument. */
export function renderGraph(ctx) {
  const taskId = ctx.args[0] ?? "";
  const options = { dir: ctx.query.get("dir") === "down" ? "down" : "up", hideDone: ctx.query.get("hide_done") === "1" };
  const info = h("p", { class: "muted", id: "graph-info" }, "Loading…");
  const canvas = h("div", { class: "graph-canvas", id: "graph-canvas" });
  replace(ctx.main,
    h("h1", {}, "Dependency graph"),
    h("p", {}, link(taskRoute(taskId), taskId)),
    controls(taskId, options), info, legend(), canvas);
  canvas.addEventListener("click", (event) => openNode(event.target));
  canvas.addEventListener("keydown", (event) => {
    if (event.key === "Enter") openNode(event.target);
  });
  const state = { signature: null, svg: null, fetchedAt: 0, size: 0 };
  ctx.poll(async () => {
    if (state.size > BIG_GRAPH && performance.now() - state.fetchedAt < BIG_REFETCH_MS) return;
    const method = options.dir === "down" ? "inverse_dep_graph" : "dep_graph";
    const fetched = performance.now();
    const graph = await call(method, { task_id: taskId, include_done: !options.hideDone });
    state.fetchedAt = fetched;
    show(state, graph, taskId, info, canvas, performance.now() - fetched);
  });
}

function controls(taskId, options) {
  const at = (changes) => route("graph", [taskId], { dir: options.dir, hide_done: options.hideDone ? "1" : "", ...changes });
  return h("div", { class: "graph-controls" },
    h("span", { class: "segmented" },
      options.dir === "up" ? h("strong", {}, "Upstream") : link(at({ dir: "up" }), "Upstream"),
      options.dir === "down" ? h("strong", {}, "Downstream") : link(at({ dir: "down" }), "Downstream")),
    link(at({ hide_done: options.hideDone ? "" : "1" }), h("span", { id: "toggle-done" }, options.hideDone ? "Show done" : "Hide done")));
}

function legend() {
  return h("div", { class: "legend" },
    ["PENDING", "RUNNING", "DONE", "FAILED", "DISABLED", "UNKNOWN"].map((status) =>
      h("span", { class: `swatch s-${status}` }, status)));
}

function openNode(target) {
  const node = target instanceof Element ? target.closest("g.node") : null;
  if (node === null) return;
  location.hash = node.dataset.href ?? taskRoute(node.dataset.id);
}

/** Draw the graph, or only recolour it when the same nodes and edges came back. */
function show(state, graph, taskId, info, canvas, fetchMs) {
  const ids = Object.keys(graph);
  state.size = ids.length;
  if (ids.length === 0) {
    replace(info, "No such task, or nothing to show.");
    canvas.replaceChildren();
    state.signature = null;
    return;
  }
  const signature = ids.map((id) => `${id}>${(graph[id].deps ?? []).join(",")}`).sort().join("\n");
  const statusOf = (id) => graph[id]?.status;
  if (signature === state.signature && state.svg !== null && !state.collapsed) {
    recolour(state.svg, statusOf);
    return;
  }
  const started = performance.now();
  const collapsed = ids.length > COLLAPSE_AT;
  const { nodes, root } = collapsed ? familyNodes(graph, taskId) : taskNodes(graph, taskId);
  const { svg, layoutMs } = drawGraph(nodes, root);
  if (collapsed) for (const g of svg.querySelectorAll("g.node")) g.dataset.href = route("tasks", [], { family: g.dataset.id });
  canvas.replaceChildren(svg);
  const drawMs = performance.now() - started;
  Object.assign(state, { signature, svg, collapsed });
  Object.assign(svg.dataset, {
    nodes: String(ids.length), drawn: String(nodes.size), collapsed: String(collapsed),
    fetchMs: fetchMs.toFixed(1), layoutMs: layoutMs.toFixed(1), drawMs: drawMs.toFixed(1),
  });
  // When the browser has laid out and painted the SVG: the cost a user waits for.
  requestAnimationFrame(() => setTimeout(() => {
    svg.dataset.paintMs = (performance.now() - started).toFixed(1);
  }, 0));
  replace(info, collapsed
    ? `${ids.length} tasks: too many to draw one by one, shown as ${nodes.size} families (click one for its task list).`
    : `${ids.length} tasks.`);
}

function taskNodes(graph, root) {
  const nodes = new Map();
  for (const [id, task] of Object.entries(graph)) {
    const params = paramText(task.params);
    nodes.set(id, {
      edges: task.deps ?? [],
      status: task.status,
      label: params ? `${task.name}(${params})` : String(task.name ?? id),
      title: task.display_name ?? id,
    });
  }
  return { nodes, root };
}

function familyNodes(graph, taskId) {
  const { nodes, root } = collapseByFamily(
    new Map(Object.entries(graph).map(([id, task]) => [id, { edges: task.deps ?? [] }])),
    taskId, (id) => String(graph[id].name ?? "?"), (id) => graph[id].status);
  for (const [family, group] of nodes) {
    const summary = Object.entries(group.counts).map(([status, n]) => `${n} ${status}`).join(", ");
    group.status = worstStatus(group.counts);
    group.label = `${family} ×${group.size}`;
    group.title = `${family}: ${summary}`;
  }
  return { nodes, root };
}

const SEVERITY = ["FAILED", "DISABLED", "RUNNING", "BATCH_RUNNING", "PENDING", "UNKNOWN", "DONE"];

function worstStatus(counts) {
  return SEVERITY.find((status) => counts[status]) ?? "UNKNOWN";
}
