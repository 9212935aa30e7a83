"""The list, worker and resource pages, the live-update rules, and a session that ends under the page."""

from __future__ import annotations

import contextlib
import itertools
import xmlrpc.client
from urllib.parse import quote

import pytest

from tests.dashboard.livesite import DashServer, Page

#: Counts the page's requests and how many are in flight at once (wraps window.fetch).
COUNT_REQUESTS = """
    const net = (window.__net = {count: 0, inflight: 0, max: 0, refreshed: []});
    const original = window.fetch;
    window.fetch = async (...args) => {
      net.count += 1;
      net.inflight += 1;
      net.max = Math.max(net.max, net.inflight);
      try { return await original(...args); } finally { net.inflight -= 1; }
    };
    new MutationObserver(() => net.refreshed.push(performance.now()))
      .observe(document.body, {attributes: true, attributeFilter: ["data-refreshes"]});
"""
SET_HIDDEN = """
    const hidden = arguments[0];
    Object.defineProperty(document, "hidden", {configurable: true, get: () => hidden});
    Object.defineProperty(document, "visibilityState", {configurable: true, get: () => hidden ? "hidden" : "visible"});
    document.dispatchEvent(new Event("visibilitychange"));
"""


@pytest.fixture(scope="module")
def tasks(dash_server: DashServer) -> list[str]:
    """120 tasks of family ``Lot`` (every third DONE, the others PENDING: statuses that stay put,
    so the list's order does not move while the test pages through it)."""
    dash_server.call("add_worker", worker="lot-worker", info={"workers": 3, "host": "lot-host"})
    ids = []
    for i in range(120):
        task_id = f"Lot(n={i:03d}, colour={'red' if i % 2 else 'blue'})"
        params = {"n": f"{i:03d}", "colour": "red" if i % 2 else "blue"}
        status = "DONE" if i % 3 == 0 else "PENDING"
        dash_server.call("add_task", task_id=task_id, family="Lot", params=params, status=status,
                         worker="lot-worker", resources={"db": 1})  # fmt: skip
        ids.append(task_id)
    return ids


def _range(first: int, last: int, total: int) -> str:
    return f"{first}\N{EN DASH}{last} of {total}"


def _rows(page: Page) -> list[str]:
    return page.js("return Array.from(document.querySelectorAll('tr.task-row'), (r) => r.dataset.id)")


def test_the_task_list_filters_searches_and_pages(page: Page, tasks: list[str]) -> None:
    page.sign_in("view")
    page.go("#/tasks?family=Lot")
    assert page.text("#page-range") == _range(1, 50, 120)
    assert len(_rows(page)) == 50
    first_page = set(_rows(page))
    page.find("#pager a:last-child").click()  # older →
    page.wait(lambda: page.text("#page-range") == _range(51, 100, 120), "the second page")
    assert not first_page & set(_rows(page))
    page.find("#filter-status").send_keys("DONE")  # choosing a status applies at once
    page.wait(lambda: page.text("#page-range") == _range(1, 40, 40), "40 done tasks")
    assert "status=DONE" in page.js("return location.hash")
    search = page.find("#filter-search")
    search.send_keys("red 03")
    page.find("#task-filters button").click()
    # DONE (n divisible by 3), red (n odd), "03" in n: 003, and of 030..039 the odd multiples of 3: 033, 039.
    page.wait(lambda: sorted(_rows(page)) == ["Lot(n=003, colour=red)", "Lot(n=033, colour=red)",
                                              "Lot(n=039, colour=red)"], "the search's matches")  # fmt: skip
    assert page.text("#page-range") == _range(1, 3, 3)


def test_polling_every_2_s_one_request_at_a_time_and_none_while_hidden(page: Page, tasks: list[str]) -> None:
    page.sign_in("view")
    page.js(COUNT_REQUESTS)
    page.wait(lambda: len(page.js("return window.__net.refreshed")) >= 3, "three refreshes", timeout=12)
    times = page.js("return window.__net.refreshed")
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert all(1900 <= gap <= 6000 for gap in gaps), gaps
    assert page.js("return window.__net.max") == 1  # never two requests in flight

    page.js(SET_HIDDEN, True)
    page.wait(lambda: page.js("return document.body.dataset.polling") == "parked", "the poller to park", timeout=6)
    parked_at = page.js("return window.__net.count")
    # Observe a window longer than the interval: no request while the tab is hidden.
    page.wait(lambda: page.js("return performance.now()") > page.js("return window.__net.refreshed.at(-1)") + 4500,
              "an observation window of 4.5 s", timeout=8)  # fmt: skip
    assert page.js("return window.__net.count") == parked_at
    page.js(SET_HIDDEN, False)
    page.wait(lambda: page.js("return window.__net.count") > parked_at, "a refresh once visible", timeout=3)
    assert page.js("return document.body.dataset.polling") == "active"
    assert page.js("return window.__net.max") == 1


def test_an_operator_drains_a_worker_and_sets_its_processes(
    page: Page, tasks: list[str], dash_server: DashServer
) -> None:
    page.sign_in("ops")
    page.go("#/workers")
    row = 'tr.worker-row[data-id="lot-worker"]'
    page.find(f"{row} input[name=processes]").clear()
    page.find(f"{row} input[name=processes]").send_keys("5")
    page.find(f"{row} form.inline button").click()
    page.wait(lambda: "Set processes: done" in page.text("#banner"), "the processes to be set")
    messages = dash_server.call("ping", "admin", worker="lot-worker")["rpc_messages"]
    assert {"name": "set_worker_processes", "kwargs": {"n": 5}} in messages
    page.find(f'{row} button[data-method="disable_worker"]').click()
    page.wait(lambda: page.text(f"{row} td:nth-child(2)") == "disabled", "the worker drained")
    assert page.all(f'{row} button[data-method="disable_worker"]') == []
    state = {w["name"]: w["state"] for w in dash_server.call("worker_list")}
    assert state["lot-worker"] == "disabled"


def test_an_operator_edits_a_resource_and_a_viewer_cannot(page: Page, dash_server: DashServer) -> None:
    page.sign_in("view")
    page.go("#/resources")
    page.wait(lambda: page.all("tr.resource-row"), "the resource table")
    assert page.all("tr.resource-row form") == []  # update_resource is an operator's
    page.sign_out()
    page.sign_in("ops")
    page.go("#/resources")
    field = page.find('tr.resource-row[data-id="db"] input')
    field.clear()
    field.send_keys("9")
    page.find('tr.resource-row[data-id="db"] button').click()
    page.wait(lambda: page.text('tr.resource-row[data-id="db"] td.num') == "0 / 9", "the new capacity")
    assert {r["name"]: r["num_total"] for r in dash_server.call("resource_list")}["db"] == 9


def test_a_session_that_ends_under_the_page_brings_back_the_sign_in_form(page: Page) -> None:
    page.sign_in("view")
    page.go("#/tasks")
    page.driver.delete_all_cookies()  # as when the session expires or its token is revoked
    page.wait(lambda: page.view() == "signin", "the sign-in form", timeout=6)
    assert page.text("#banner") == "signed out"
    page.find("#token").send_keys(page.server.secrets["view"])
    page.find("#signin-submit").click()
    page.wait(lambda: page.view() == "tasks", "the page it was on")


def test_a_tracking_url_that_is_not_http_stays_text(page: Page, dash_server: DashServer) -> None:
    dash_server.call("add_worker", worker="url-worker", info={"workers": 1})
    for task_id, url in (
        ("Url(kind=js)", "javascript:document.title='pwned'"),
        ("Url(kind=web)", "http://ci.invalid/7"),
    ):
        dash_server.call("add_task", task_id=task_id, family="Url", params={"kind": task_id[9:-1]}, worker="url-worker",
                         tracking_url=url)  # fmt: skip
    page.sign_in("view")
    page.go("#/task/" + quote("Url(kind=js)", safe=""))
    assert page.find("#tracking-url").tag_name == "span"
    assert page.text("#tracking-url") == "javascript:document.title='pwned'"
    page.go("#/task/" + quote("Url(kind=web)", safe=""))
    link = page.find("#tracking-url")
    assert link.tag_name == "a" and link.get_attribute("href") == "http://ci.invalid/7"
    assert "noopener" in link.get_attribute("rel").split()


def test_the_admin_audit_view_filters_newest_first_and_pages(page: Page, dash_server: DashServer) -> None:
    for _ in range(3):
        with contextlib.suppress(xmlrpc.client.Fault):
            dash_server.call("pause", "view")  # refused: 403, audited
    page.sign_in("ops")
    assert not page.find('#nav a[data-route="audit"]').is_displayed()
    page.js("document.body.dataset.refreshes = ''; location.hash = '#/audit'")
    page.wait(lambda: "needs the admin role" in page.text("#banner"), "the refusal for an operator")
    page.sign_out()

    page.sign_in("admin")
    page.go("#/audit?identity=token:view&outcome=error")
    rows = page.js(
        "return Array.from(document.querySelectorAll('#audit-table tbody tr'),"
        " (r) => Array.from(r.cells, (c) => c.textContent))"
    )
    assert len(rows) >= 3
    assert {(row[1], row[3], row[4]) for row in rows} == {("token:view", "pause", "403")}
    stamps = [row[0] for row in rows]
    assert stamps == sorted(stamps, reverse=True)  # newest first
    # The log holds more than a page (100 records): "older" leads to the next page.
    calls = xmlrpc.client.MultiCall(dash_server.proxy("view"))
    for _ in range(150):
        calls.is_paused()
    calls()
    page.go("#/audit")
    first = page.js(
        "return Array.from(document.querySelectorAll('#audit-table tbody tr'), (r) => r.cells[0].textContent)"
    )
    assert 0 < len(first) <= 100
    page.find("#audit-pager a").click()
    page.wait(lambda: "before=" in page.js("return location.hash") and page.refreshes() not in ("", "0"), "page two")
    second = page.js(
        "return Array.from(document.querySelectorAll('#audit-table tbody tr'), (r) => r.cells[0].textContent)"
    )
    assert second and second[0] <= first[-1]
    assert "newest" in page.text("#audit-pager a")


def test_the_overview_counts_by_family_and_names_unregistered_dependencies(page: Page, dash_server: DashServer) -> None:
    dash_server.call("add_worker", worker="fam-worker", info={"workers": 1})
    dash_server.call("add_task", task_id="Fam(n=1)", family="Fam", params={"n": "1"}, worker="fam-worker",
                     deps=["Nobody(n=1)"])  # fmt: skip
    page.sign_in("view")
    script = "return Array.from(document.querySelectorAll('#by-family tbody tr'), (r) => r.cells[0].textContent)"
    rows = page.wait(lambda: page.js(script), "the families")
    assert "Fam" in rows and "(not registered yet)" in rows
    assert page.find('#by-family a[href="#/tasks?family=Fam"]')


def test_an_operator_forgives_failures_and_marks_a_task_done(page: Page, dash_server: DashServer) -> None:
    dash_server.call("add_worker", worker="act-worker", info={"workers": 1})
    for n in (1, 2):
        dash_server.call("add_task", task_id=f"Act(n={n})", family="Act", params={"n": str(n)}, worker="act-worker",
                         status="FAILED", expl="boom")  # fmt: skip
    page.sign_in("ops")
    page.go("#/task/" + quote("Act(n=1)", safe=""))
    page.find("#action-mark-done").click()
    page.wait(lambda: page.text("#task-status") == "DONE", "the task DONE on screen")
    assert page.text("#banner") == "Mark done: the task is DONE"
    assert not page.find("#action-mark-done").is_displayed() and not page.find("#action-forgive").is_displayed()
    assert dash_server.call("task_info", task_id="Act(n=1)")["status"] == "DONE"
    done = [r for r in dash_server.audit_records() if r["method"] == "mark_as_done" and r["identity"] == "token:ops"]
    assert done[-1]["outcome"] == "ok" and done[-1]["via"] == "dashboard"

    page.go("#/task/" + quote("Act(n=2)", safe=""))
    assert page.text("#task-status") == "FAILED"
    forgive = page.find("#action-forgive")
    forgive.click()
    page.wait(lambda: page.text("#task-status") == "PENDING", "the task PENDING on screen")
    assert page.text("#banner") == "Forgive failures: the task is PENDING"
    assert not forgive.is_displayed()
