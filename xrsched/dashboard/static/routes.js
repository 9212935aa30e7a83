// Hash routes: "#/task/<id>?x=1" <-> {name: "task", args: [id], query}.

/** The parts of a location hash: "#/task/ID?x=1" -> {name: "task", args: ["ID"], query}. */
export function parseHash(hash) {
  const text = hash.replace(/^#\/?/, "");
  const cut = text.indexOf("?");
  const path = cut < 0 ? text : text.slice(0, cut);
  const search = cut < 0 ? "" : text.slice(cut + 1);
  const [name = "", ...args] = path.split("/").map((part) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  });
  return { name, args, query: new URLSearchParams(search) };
}

/** A route for `name` with encoded args and query: route("task", [id]) -> "#/task/<id>". */
export function route(name, args = [], query = {}) {
  const path = [name, ...args.map((arg) => encodeURIComponent(arg))].join("/");
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const search = params.toString();
  return `#/${path}${search ? `?${search}` : ""}`;
}

/** The route of one task's page. */
export function taskRoute(taskId) {
  return route("task", [taskId]);
}
