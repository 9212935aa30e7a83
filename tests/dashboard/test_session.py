"""Sign-in, roles and the CSRF rule, seen from a real browser against a real server."""

from __future__ import annotations

import json
from urllib.parse import quote

from tests.dashboard.livesite import Page

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _form(kwargs: dict) -> str:
    return "data=" + quote(json.dumps(kwargs))


def _csrf(page: Page) -> str:
    reply = page.fetch("GET", "/session")
    assert reply["status"] == 200, reply
    return json.loads(reply["body"])["csrf"]


def test_a_wrong_token_is_refused_and_the_right_one_signs_in(page: Page) -> None:
    page.open()
    assert page.view() == "signin"
    assert page.all("#nav a") and not page.find("#nav").is_displayed()
    page.find("#token").send_keys("not-a-token")
    page.find("#signin-submit").click()
    page.wait(lambda: page.text("#signin-error"), "the sign-in error")
    assert page.view() == "signin"

    page.sign_in("ops")
    assert page.text("#who") == "token:ops operator"
    page.wait(lambda: page.text("#total-tasks") != "", "the overview's counts")
    assert page.find("#nav").is_displayed()
    assert not page.find('#nav a[data-route="audit"]').is_displayed()  # operators see no audit view


def test_a_viewer_sees_no_action_and_a_forged_post_from_its_session_is_refused(page: Page, dash_server) -> None:
    dash_server.call("add_worker", worker="viewer-test", info={"workers": 2})
    dash_server.call("add_task", task_id="Job(n=1)", status="FAILED", family="Job", params={"n": "1"},
                     worker="viewer-test", expl="Traceback: boom")  # fmt: skip
    page.sign_in("view")
    assert page.text("#who") == "token:view viewer"
    page.wait(lambda: page.text("#paused") != "", "the pause state")
    assert page.all("button.action") == []  # no Pause button for a viewer
    page.go("#/task/" + quote("Job(n=1)", safe=""))
    page.wait(lambda: "boom" in page.text("#traceback"), "the traceback")
    assert page.all("button.action") == []
    page.go("#/workers")
    page.wait(lambda: page.all("tr.worker-row"), "the worker table")
    assert page.all("button.action") == [] and page.all("form.inline") == []
    page.go("#/resources")
    page.wait(lambda: page.all("tr.resource-row"), "the resource table")
    assert page.all("form.inline") == []

    # The viewer's own session, with its valid CSRF token, still may not change anything.
    headers = {**FORM, "X-CSRF-Token": _csrf(page)}
    reply = page.fetch("POST", "/api/mark_as_done", headers=headers, body=_form({"task_id": "Job(n=1)"}))
    assert reply["status"] == 403, reply
    assert json.loads(reply["body"])["error"]["status"] == 403
    reply = page.fetch("POST", "/api/pause", headers=headers, body=_form({}))
    assert reply["status"] == 403, reply
    assert dash_server.call("is_paused") == {"paused": False}
    assert dash_server.call("task_info", task_id="Job(n=1)")["status"] != "DONE"  # not marked done
    records = dash_server.audit_records()
    refused = [r for r in records if r["method"] == "mark_as_done" and r["identity"] == "token:view"]
    assert refused and refused[-1]["outcome"] != "ok" and refused[-1].get("via") == "dashboard"


def test_a_post_without_the_csrf_token_gets_403(page: Page, dash_server) -> None:
    page.sign_in("ops")
    for headers in (FORM, {**FORM, "X-CSRF-Token": "forged"}):
        reply = page.fetch("POST", "/api/pause", headers=headers, body=_form({}))
        assert reply["status"] == 403, reply
        assert json.loads(reply["body"])["error"]["message"] == "missing or wrong CSRF token"
    assert dash_server.call("is_paused") == {"paused": False}
    # The page's own requests carry it: the operator's Pause button works.
    page.go("#/")
    page.find("#pause-toggle").click()
    page.wait(lambda: page.text("#paused") == "paused", "the scheduler to show paused")
    assert dash_server.call("is_paused") == {"paused": True}
    page.find("#pause-toggle").click()
    page.wait(lambda: page.text("#paused") == "running", "the scheduler to show running")
    assert dash_server.call("is_paused") == {"paused": False}


def test_sign_out_ends_the_session(page: Page) -> None:
    page.sign_in("admin")
    assert page.find('#nav a[data-route="audit"]').is_displayed()
    page.sign_out()
    assert not page.find("#nav").is_displayed()
    assert page.fetch("GET", "/session")["status"] == 401
    reply = page.fetch("POST", "/api/task_page", headers=FORM, body=_form({}))
    assert reply["status"] == 401, reply
    page.open()  # a reload does not bring the session back
    assert page.view() == "signin"


def test_every_page_renders_without_a_console_error(page: Page, dash_server) -> None:
    """No CSP violation (inline script or style) and no script error on any route."""
    dash_server.call("add_worker", worker="pages-test", info={"workers": 1})
    dash_server.call("add_task", task_id="Job(n=1)", status="FAILED", family="Job", params={"n": "1"},
                     worker="pages-test", expl="Traceback: boom")  # fmt: skip
    page.sign_in("admin")
    page.console_errors()  # drop what signing in logged
    for route in ("#/", "#/tasks", "#/task/" + quote("Job(n=1)", safe=""), "#/graph/" + quote("Job(n=1)", safe=""),
                  "#/workers", "#/resources", "#/audit"):  # fmt: skip
        page.go(route)
        assert page.text("#banner") == "" or not page.find("#banner").is_displayed(), page.text("#banner")
    assert page.console_errors() == []
