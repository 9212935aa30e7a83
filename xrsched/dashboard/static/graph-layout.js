// Layered layout of a dependency graph, pure (no DOM): longest-path layering from the root,
// then barycentre ordering within each layer. O(V + E) per sweep, a few sweeps.

/**
 * Lay out `nodes` (Map id -> {edges: [ids]}) from `root`: every edge goes from a lower layer to
 * a higher one (cycles are broken where they are found). Returns {layers: [[ids]], layerOf: Map,
 * rowOf: Map id -> row (a number; rows of one layer are at least 1 apart)}.
 */
export function layered(nodes, root, sweeps = 4) {
  const { children, parents } = adjacency(nodes);
  const layerOf = longestPathLayers(nodes, root, children, parents);
  const layers = [];
  for (const id of discoveryOrder(nodes, root, children)) {
    const layer = layerOf.get(id);
    (layers[layer] ??= []).push(id);
  }
  const compact = layers.filter((layer) => layer !== undefined);
  compact.forEach((layer, index) => layer.forEach((id) => layerOf.set(id, index)));
  orderByBarycentre(compact, layerOf, children, parents, sweeps);
  return { layers: compact, layerOf, rowOf: rows(compact, layerOf, parents) };
}

function adjacency(nodes) {
  const children = new Map();
  const parents = new Map();
  for (const id of nodes.keys()) {
    children.set(id, []);
    parents.set(id, []);
  }
  for (const [id, node] of nodes) {
    for (const other of new Set(node.edges)) {
      if (other === id || !nodes.has(other)) continue;
      children.get(id).push(other);
      parents.get(other).push(id);
    }
  }
  return { children, parents };
}

/** Kahn's order with layer = 1 + the deepest parent; a cycle is cut at its least-blocked node. */
function longestPathLayers(nodes, root, children, parents) {
  const waiting = new Map();
  for (const id of nodes.keys()) waiting.set(id, parents.get(id).length);
  const layerOf = new Map();
  const ready = [];
  if (nodes.has(root) && waiting.get(root) === 0) ready.push(root);
  for (const [id, count] of waiting) if (count === 0 && id !== root) ready.push(id);
  let placed = 0;
  let candidates = null;
  while (placed < nodes.size) {
    if (ready.length === 0) {
      candidates ??= [...nodes.keys()];
      ready.push(leastBlocked(candidates, waiting, layerOf));
    }
    const id = ready.pop();
    if (layerOf.has(id)) continue;
    let layer = 0;
    for (const parent of parents.get(id)) {
      if (layerOf.has(parent)) layer = Math.max(layer, layerOf.get(parent) + 1);
    }
    layerOf.set(id, layer);
    placed += 1;
    for (const child of children.get(id)) {
      if (layerOf.has(child)) continue;
      const left = waiting.get(child) - 1;
      waiting.set(child, left);
      if (left === 0) ready.push(child);
    }
  }
  return layerOf;
}

function leastBlocked(candidates, waiting, layerOf) {
  let best = null;
  for (const id of candidates) {
    if (layerOf.has(id)) continue;
    if (best === null || waiting.get(id) < waiting.get(best)) best = id;
  }
  return best;
}

/** Breadth-first order from the root (then any node not reached): the initial in-layer order. */
function discoveryOrder(nodes, root, children) {
  const seen = new Set();
  const order = [];
  const visit = (start) => {
    if (seen.has(start)) return;
    seen.add(start);
    const queue = [start];
    for (let i = 0; i < queue.length; i += 1) {
      const id = queue[i];
      order.push(id);
      for (const child of children.get(id)) {
        if (!seen.has(child)) {
          seen.add(child);
          queue.push(child);
        }
      }
    }
  };
  if (nodes.has(root)) visit(root);
  for (const id of nodes.keys()) visit(id);
  return order;
}

/** Alternate down and up sweeps: sort each layer by the mean relative position of its
 * neighbours in the layer just swept (parents going down, children going up; the next layer
 * when it has any, else any layer on that side). Keeps the order with the fewest crossings
 * between neighbouring layers, the first one included. */
function orderByBarycentre(layers, layerOf, children, parents, sweeps) {
  const position = new Map();
  const place = (layer) => layer.forEach((id, index) => position.set(id, (index + 0.5) / layer.length));
  layers.forEach(place);
  let best = layers.map((layer) => [...layer]);
  let fewest = crossings(layers, position, children, layerOf);
  for (let sweep = 0; sweep < sweeps && fewest > 0; sweep += 1) {
    const down = sweep % 2 === 0;
    const indices = layers.map((_, index) => index);
    if (!down) indices.reverse();
    for (const index of indices.slice(1)) {
      const layer = layers[index];
      const key = new Map();
      for (const id of layer) key.set(id, barycentre(id, index, down ? parents : children, down, layerOf, position));
      layer.sort((a, b) => key.get(a) - key.get(b));
      place(layer);
    }
    const count = crossings(layers, position, children, layerOf);
    if (count < fewest) {
      fewest = count;
      best = layers.map((layer) => [...layer]);
    }
  }
  best.forEach((layer, index) => {
    layers[index] = layer;
    place(layer);
  });
}

function barycentre(id, index, neighbours, down, layerOf, position) {
  const next = down ? index - 1 : index + 1;
  let sum = 0;
  let count = 0;
  let nearSum = 0;
  let nearCount = 0;
  for (const other of neighbours.get(id)) {
    const otherLayer = layerOf.get(other);
    if (down ? otherLayer >= index : otherLayer <= index) continue;
    sum += position.get(other);
    count += 1;
    if (otherLayer === next) {
      nearSum += position.get(other);
      nearCount += 1;
    }
  }
  if (nearCount) return nearSum / nearCount;
  return count ? sum / count : position.get(id);
}

/** Edge crossings between neighbouring layers: per pair, inversions of the edges' lower ends
 * when sorted by their upper ends (counted with a Fenwick tree: O(E log V)). */
function crossings(layers, position, children, layerOf) {
  let total = 0;
  layers.forEach((layer, index) => {
    const below = layers[index + 1];
    if (!below) return;
    const rank = new Map(below.map((id, i) => [id, i]));
    const ends = [];
    for (const id of layer) {
      const lower = [];
      for (const child of children.get(id)) if (layerOf.get(child) === index + 1) lower.push(rank.get(child));
      lower.sort((a, b) => a - b);
      ends.push(...lower);
    }
    const tree = new Array(below.length + 1).fill(0);
    let seen = 0;
    for (const end of ends) {
      let greater = seen;
      for (let i = end + 1; i > 0; i -= i & -i) greater -= tree[i];
      total += greater;
      for (let i = end + 1; i <= below.length; i += i & -i) tree[i] += 1;
      seen += 1;
    }
  });
  return total;
}

/** Vertical places, one layer after the other: each node as near the mean row of its parents
 * as the nodes above it in its layer allow, so a subtree starts beside what it feeds. */
function rows(layers, layerOf, parents) {
  const rowOf = new Map();
  layers.forEach((layer, index) => {
    let next = 0;
    for (const id of layer) {
      let sum = 0;
      let count = 0;
      for (const parent of parents.get(id)) {
        if (layerOf.get(parent) < index) {
          sum += rowOf.get(parent);
          count += 1;
        }
      }
      const row = Math.max(next, count ? sum / count : next);
      rowOf.set(id, row);
      next = row + 1;
    }
  });
  return rowOf;
}

/**
 * Collapse a graph by family: one node per family with its count by status, an edge between
 * two families when any of their tasks are linked. Returns {nodes: Map, root}.
 */
export function collapseByFamily(nodes, root, familyOf, statusOf) {
  const groups = new Map();
  for (const [id] of nodes) {
    const family = familyOf(id);
    let group = groups.get(family);
    if (!group) {
      group = { edges: new Set(), counts: {}, size: 0, family };
      groups.set(family, group);
    }
    group.size += 1;
    const status = statusOf(id);
    group.counts[status] = (group.counts[status] ?? 0) + 1;
  }
  for (const [id, node] of nodes) {
    const from = familyOf(id);
    for (const other of node.edges) {
      if (!nodes.has(other)) continue;
      const to = familyOf(other);
      if (to !== from) groups.get(from).edges.add(to);
    }
  }
  const collapsed = new Map();
  for (const [family, group] of groups) collapsed.set(family, { ...group, edges: [...group.edges] });
  return { nodes: collapsed, root: nodes.has(root) ? familyOf(root) : null };
}
