// The dashboard: a single page with hash routes. Each view renders into <main> and registers
// one refresh function with the poller.

import { ApiError, can, loadSession, session, signOut, whenSignedOut } from "./api.js";
import { h, replace } from "./dom.js";
import { Poller } from "./poll.js";
import { parseHash } from "./routes.js";
import { renderAudit } from "./view-audit.js";
import { renderGraph } from "./view-graph.js";
import { renderOverview } from "./view-overview.js";
import { renderResources } from "./view-resources.js";
import { renderSignIn } from "./view-signin.js";
import { renderTask } from "./view-task.js";
import { renderTasks } from "./view-tasks.js";
import { renderWorkers } from "./view-workers.js";

const ROUTES = {
  "": renderOverview,
  overview: renderOverview,
  tasks: renderTasks,
  task: renderTask,
  graph: renderGraph,
  workers: renderWorkers,
  resources: renderResources,
  audit: renderAudit,
};

const main = document.getElementById("main");
const banner = document.getElementById("banner");
const poller = new Poller(2000, pollFailed, pollRecovered);

/** Show a message in the banner: kind "error" or "info". */
function notify(message, kind = "info") {
  banner.className = `banner banner-${kind}`;
  banner.dataset.kind = kind;
  banner.dataset.from = "";
  replace(banner, message);
  banner.hidden = false;
}

function showError(error) {
  if (error instanceof ApiError && error.status === 401) return;
  notify(error instanceof Error ? error.message : String(error), "error");
}

function pollFailed(error) {
  showError(error);
  banner.dataset.from = "poll";
}

function pollRecovered() {
  if (banner.dataset.from === "poll") banner.hidden = true;
}

function updateChrome() {
  const signedIn = session.current !== null;
  document.getElementById("nav").hidden = !signedIn;
  document.getElementById("sign-out").hidden = !signedIn;
  for (const el of document.querySelectorAll("[data-min-role]")) {
    el.hidden = !signedIn || !can(el.dataset.minRole);
  }
  const who = document.getElementById("who");
  replace(who, signedIn ? h("span", {}, session.current.identity, " ", h("span", { class: "role" }, session.current.role)) : "");
  const current = parseHash(location.hash).name || "overview";
  for (const el of document.querySelectorAll("#nav a")) {
    el.classList.toggle("current", el.dataset.route === current);
  }
}

function render() {
  poller.stop();
  banner.hidden = true;
  updateChrome();
  const parsed = parseHash(location.hash);
  if (session.current === null) {
    document.body.dataset.view = "signin";
    // After signing in, the page the address names (the one the user was on, if any).
    renderSignIn({ main, notify, signedIn: render });
    return;
  }
  const view = ROUTES[parsed.name];
  document.body.dataset.view = view ? parsed.name || "overview" : "missing";
  if (!view) {
    replace(main, h("h1", {}, "Not found"), h("p", {}, "No such page."));
    return;
  }
  main.replaceChildren();
  view({ main, notify, poll: (refresh) => poller.start(refresh), refreshSoon: () => poller.soon(), ...parsed });
}

async function boot() {
  whenSignedOut(() => {
    poller.stop();
    render();
    notify("signed out", "error");
  });
  document.getElementById("sign-out").addEventListener("click", async () => {
    poller.stop();
    try {
      await signOut();
    } catch (error) {
      showError(error);
    }
    render();
  });
  window.addEventListener("hashchange", render);
  try {
    await loadSession();
  } catch (error) {
    showError(error);
  }
  render();
}

boot();
