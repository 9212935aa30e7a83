// Run by test_graph.py in the dashboard page (execute_async_script): checks graph-layout.js.
const done = arguments[arguments.length - 1];
import("/static/graph-layout.js").then(({ layered, collapseByFamily }) => {
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  // A random DAG: 300 nodes, edges only from lower to higher index, 1-3 edges each.
  const nodes = new Map();
  for (let i = 0; i < 300; i += 1) nodes.set(`n${i}`, { edges: [] });
  for (let i = 0; i < 299; i += 1) {
    const count = 1 + Math.floor(random() * 3);
    for (let k = 0; k < count; k += 1) {
      nodes.get(`n${i}`).edges.push(`n${i + 1 + Math.floor(random() * Math.min(40, 299 - i))}`);
    }
  }
  const crossings = (layers, layerOf) => {
    const index = new Map();
    layers.forEach((layer) => layer.forEach((id, i) => index.set(id, i)));
    const spans = [];
    for (const [id, node] of nodes) for (const other of node.edges) {
      if (layerOf.get(other) === layerOf.get(id) + 1) spans.push([layerOf.get(id), index.get(id), index.get(other)]);
    }
    let count = 0;
    for (let a = 0; a < spans.length; a += 1) for (let b = a + 1; b < spans.length; b += 1) {
      const [la, fa, ta] = spans[a], [lb, fb, tb] = spans[b];
      if (la === lb && (fa - fb) * (ta - tb) < 0) count += 1;
    }
    return count;
  };
  const plain = layered(nodes, "n0", 0);
  const swept = layered(nodes, "n0", 4);
  const problems = [];
  for (const [id, node] of nodes) {
    let deepest = -1;
    for (const [other, parent] of nodes) if (parent.edges.includes(id)) deepest = Math.max(deepest, swept.layerOf.get(other));
    if (swept.layerOf.get(id) !== deepest + 1) problems.push(`${id} is not one below its deepest parent`);
    for (const other of node.edges) if (swept.layerOf.get(other) <= swept.layerOf.get(id)) problems.push(`${id}->${other} goes up`);
  }
  for (const layer of swept.layers) for (let i = 1; i < layer.length; i += 1) {
    if (swept.rowOf.get(layer[i]) < swept.rowOf.get(layer[i - 1]) + 1) problems.push(`rows overlap in a layer`);
  }
  const cycle = new Map([["r", { edges: ["a"] }], ["a", { edges: ["b"] }], ["b", { edges: ["c"] }], ["c", { edges: ["a", "r"] }]]);
  const cyclic = layered(cycle, "r");
  const families = collapseByFamily(nodes, "n0", (id) => `F${Number(id.slice(1)) % 4}`, () => "PENDING");
  done({
    problems: problems.slice(0, 5),
    placed: swept.layerOf.size,
    crossingsPlain: crossings(plain.layers, plain.layerOf),
    crossingsSwept: crossings(swept.layers, swept.layerOf),
    cyclicPlaced: cyclic.layerOf.size,
    cyclicRoot: cyclic.layerOf.get("r"),
    families: [...families.nodes.keys()].sort(),
    familySizes: [...families.nodes.values()].map((g) => g.size).reduce((a, b) => a + b, 0),
    familyRoot: families.root,
  });
}, (error) => done({ error: String(error) }));
