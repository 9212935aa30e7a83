// Drawing a laid-out graph as one SVG: a <g class="node"> per node (rect, label, tooltip) and
// all edges in a single <path>, so 2,000 nodes stay a few thousand elements.

import { s } from "./dom.js";
import { layered } from "./graph-layout.js";

export const NODE_W = 210;
export const NODE_H = 22;
const ROW = 28;
const GAP = 70;
const PAD = 10;
const LABEL_CHARS = 28;

/**
 * Lay out and draw `nodes` (Map id -> {edges, label, title, status, href?}) from `root`.
 * Returns the <svg> element and how long the layout took (ms).
 */
export function drawGraph(nodes, root) {
  const started = performance.now();
  const { layers, layerOf, rowOf } = layered(nodes, root);
  const layoutMs = performance.now() - started;
  const point = new Map();
  let lowest = 0;
  for (const [id, row] of rowOf) {
    point.set(id, [PAD + layerOf.get(id) * (NODE_W + GAP), PAD + row * ROW]);
    lowest = Math.max(lowest, row);
  }
  const width = PAD * 2 + layers.length * (NODE_W + GAP) - GAP;
  const height = PAD * 2 + (lowest + 1) * ROW;
  const svg = s("svg", { class: "graph", width, height, viewBox: `0 0 ${width} ${height}`, role: "img" });
  svg.append(s("path", { class: "edges", d: edgePath(nodes, point) }));
  const group = s("g", { class: "nodes" });
  for (const [id, node] of nodes) {
    const [x, y] = point.get(id);
    const label = node.label.length > LABEL_CHARS ? `${node.label.slice(0, LABEL_CHARS - 1)}…` : node.label;
    const g = s("g", { class: `node s-${safeStatus(node.status)}${id === root ? " root" : ""}`, transform: `translate(${x},${y})`, tabindex: 0 },
      s("title", {}, node.title),
      s("rect", { width: NODE_W, height: NODE_H, rx: 4 }),
      s("text", { x: 7, y: 15 }, label));
    g.dataset.id = id;
    group.append(g);
  }
  svg.append(group);
  return { svg, layoutMs };
}

function edgePath(nodes, point) {
  const parts = [];
  for (const [id, node] of nodes) {
    const from = point.get(id);
    for (const other of node.edges) {
      const to = point.get(other);
      if (!to || other === id) continue;
      const x1 = from[0] + NODE_W;
      const y1 = from[1] + NODE_H / 2;
      const x2 = to[0];
      const y2 = to[1] + NODE_H / 2;
      if (x2 > x1) {
        const bend = Math.min(GAP, (x2 - x1) / 2);
        parts.push(`M${x1} ${y1}C${x1 + bend} ${y1} ${x2 - bend} ${y2} ${x2} ${y2}`);
      } else {
        // An edge back to an earlier column (a cycle): loop above.
        const top = Math.min(from[1], to[1]) - 6;
        parts.push(`M${from[0] + NODE_W / 2} ${from[1]}C${from[0] + NODE_W / 2} ${top} ${x2 + NODE_W / 2} ${top} ${x2 + NODE_W / 2} ${to[1]}`);
      }
    }
  }
  return parts.join("");
}

/** Recolour drawn nodes from `statusOf(id)` without a new layout (a live update). */
export function recolour(svg, statusOf) {
  for (const g of svg.querySelectorAll("g.node")) {
    const status = statusOf(g.dataset.id);
    if (status === undefined) continue;
    const wanted = `s-${safeStatus(status)}`;
    for (const name of [...g.classList]) if (name.startsWith("s-") && name !== wanted) g.classList.remove(name);
    g.classList.add(wanted);
  }
}

function safeStatus(status) {
  return String(status).replace(/[^A-Z_]/g, "") || "UNKNOWN";
}
