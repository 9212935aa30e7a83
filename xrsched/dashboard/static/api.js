// Talking to the scheduler: the session endpoints and POST /api/<method> with the CSRF token.

/** An error the server answered (status and its safe message), or a network failure (status 0). */
export class ApiError extends Error {
  constructor(status, message, code = 0) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** The signed-in session: identity, role, csrf, expires (null when signed out). */
export const session = { current: null };

const ROLE_RANK = { viewer: 0, worker: 1, operator: 2, admin: 3 };

/** Whether the signed-in role is at least `role`. */
export function can(role) {
  const mine = session.current?.role;
  return mine !== undefined && (ROLE_RANK[mine] ?? -1) >= ROLE_RANK[role];
}

// Called with the error when the server says the session is gone (401).
let onSignedOut = () => {};

/** Register what to do when a call finds the session gone. */
export function whenSignedOut(callback) {
  onSignedOut = callback;
}

async function errorOf(response) {
  let message = `${response.status} ${response.statusText}`.trim();
  let code = 0;
  try {
    const body = await response.json();
    if (body && body.error && typeof body.error.message === "string") {
      message = body.error.message;
      code = Number(body.error.code) || 0;
    }
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, message, code);
}

async function send(path, init) {
  let response;
  try {
    response = await fetch(path, { credentials: "same-origin", cache: "no-store", ...init });
  } catch {
    throw new ApiError(0, "the scheduler cannot be reached");
  }
  return response;
}

/** Ask the server for the current session (GET /session); null when signed out. */
export async function loadSession() {
  const response = await send("/session", { method: "GET" });
  if (response.status === 401) {
    session.current = null;
    return null;
  }
  if (!response.ok) throw await errorOf(response);
  session.current = await response.json();
  return session.current;
}

/** Exchange a token for a session cookie (POST /session). */
export async function signIn(token) {
  const response = await send("/session", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token }),
  });
  if (!response.ok) throw await errorOf(response);
  session.current = await response.json();
  return session.current;
}

/** End the session (DELETE /session with the CSRF token). */
export async function signOut() {
  const csrf = session.current?.csrf ?? "";
  session.current = null;
  const response = await send("/session", { method: "DELETE", headers: { "X-CSRF-Token": csrf } });
  if (!response.ok && response.status !== 401) throw await errorOf(response);
}

/** Call a scheduler method: POST /api/<method>, form field data=<JSON of kwargs>. */
export async function call(method, kwargs = {}) {
  const body = new URLSearchParams({ data: JSON.stringify(kwargs) });
  const response = await send(`/api/${encodeURIComponent(method)}`, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      "X-CSRF-Token": session.current?.csrf ?? "",
    },
    body,
  });
  if (!response.ok) {
    const error = await errorOf(response);
    if (response.status === 401) {
      session.current = null;
      onSignedOut(error);
    }
    throw error;
  }
  const reply = await response.json();
  return reply.response;
}

/** The health document (GET /health, else the method system.health) in system.health's shape:
 * {status, version, uptime_seconds, scheduler: {...}, store: {...}, tls: {...}, reasons: [...]}. */
export async function health() {
  const response = await send("/health", { method: "GET", headers: { Accept: "application/xml" } });
  if (response.status !== 200 && response.status !== 503) return call("system.health");
  const doc = new DOMParser().parseFromString(await response.text(), "application/xml");
  const root = doc.documentElement;
  if (!root || root.nodeName !== "health") return call("system.health");
  const attrs = (name) => {
    const el = root.getElementsByTagName(name)[0];
    const out = {};
    if (el) for (const attr of el.attributes) out[attr.name] = attr.value;
    return out;
  };
  return {
    status: root.getAttribute("status") ?? "",
    version: root.getAttribute("version") ?? "",
    uptime_seconds: Number(attrs("uptime").seconds ?? 0),
    scheduler: attrs("scheduler"),
    store: attrs("store"),
    tls: attrs("tls"),
    reasons: Array.from(root.getElementsByTagName("reason"), (el) => el.textContent ?? ""),
  };
}
