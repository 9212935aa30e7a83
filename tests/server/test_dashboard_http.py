"""The dashboard's HTTP surface on the real server over TLS: the page and static files, the
security headers, and the session cookie as ``/api/`` credentials with its CSRF rule (contract C)."""

from __future__ import annotations

import os

import pytest

from tests.server.dashboard_client import FORM, Browser
from xrsched.dashboard.staticfiles import StaticFiles


def test_the_page_is_served_with_the_security_headers_and_a_validator(live_server):
    browser = Browser(live_server)
    page = browser.get("/")
    assert page.status == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.body.startswith(b"<!DOCTYPE html>")
    assert page.has_security_headers()
    assert page.headers["Cache-Control"] == "no-cache"
    same = browser.get("/static/index.html")
    assert same.body == page.body and same.has_security_headers()
    cached = browser.get("/", headers={"If-None-Match": page.headers["ETag"]})
    assert cached.status == 304 and cached.body == b""
    assert cached.headers["ETag"] == page.headers["ETag"] and cached.has_security_headers()
    assert "Content-Length" not in cached.headers
    assert browser.get("/", headers={"If-None-Match": '"other"'}).status == 200
    head = browser.request("HEAD", "/static/index.html")
    assert head.status == 200 and head.body == b"" and int(head.headers["Content-Length"]) == len(page.body)


@pytest.mark.parametrize(
    "path",
    [
        "/static/../setup.cfg",
        "/static/../../tokens.toml",
        "/static/..%2F..%2Fsettings.py",
        "/static/..%2f__init__.py",
        "/static/%2e%2e/%2e%2e/settings.py",
        "/static//etc/passwd",
        "/static/%2Fetc%2Fpasswd",
        "/static/index.html/",
        "/static/./index.html",
        "/static/sub/../index.html",
        "/static/",
        "/static/staticfiles.py",
        "/static/index.html%00.js",
        "/../setup.cfg",
    ],
)
def test_nothing_outside_the_allow_list_is_served(live_server, path):
    answer = Browser(live_server).get(path)
    assert answer.status == 404, (path, answer.body)
    assert b"import" not in answer.body and b"[metadata]" not in answer.body


def test_a_symlink_in_the_static_directory_is_not_followed(live_server, tmp_path):
    static = tmp_path / "static"
    static.mkdir()
    (static / "index.html").write_text("<!DOCTYPE html><title>t</title>")
    (static / "app.js").write_text("ok();\n")
    os.symlink(live_server.tokens_path, static / "tokens.js")
    os.symlink(tmp_path, static / "up")
    live_server.runtime.dashboard.static = StaticFiles.scan(static)
    browser = Browser(live_server)
    assert browser.get("/static/app.js").headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert browser.get("/static/tokens.js").status == 404
    assert browser.get("/static/up/static/app.js").status == 404


def test_dashboard_errors_carry_the_security_headers(live_server):
    browser = Browser(live_server)
    for answer in (
        browser.get("/static/nope.js"),
        browser.get("/session"),
        browser.request("PUT", "/session"),
        browser.request("DELETE", "/"),
    ):
        assert answer.status in (401, 404, 405), answer.status
        assert answer.has_security_headers(), answer.headers
        assert answer.error()
    assert browser.request("PUT", "/session").headers["Allow"] == "GET, HEAD, POST, DELETE"


def test_api_calls_with_the_cookie_need_the_csrf_token_and_change_nothing_without_it(live_server):
    browser = Browser(live_server)
    browser.sign_in(live_server.admin)
    for csrf in (None, "", "forged", browser.csrf[:-1]):
        refused = browser.call("pause", csrf=csrf)
        assert refused.status == 403, csrf
        assert refused.error() == "missing or wrong CSRF token"
        assert refused.has_security_headers()
    assert browser.call("is_paused").json() == {"response": {"paused": False}}
    assert browser.call("pause").status == 200
    answer = browser.call("is_paused")
    assert answer.json() == {"response": {"paused": True}}
    assert answer.has_security_headers()
    refusals = [r for r in live_server.audit_records() if r["outcome"] == 403]
    assert len(refusals) == 4
    assert {(r["identity"], r["via"], r["method"]) for r in refusals} == {
        ("token:admin", "dashboard", "POST /api/pause")
    }


def test_another_sessions_csrf_token_does_not_do(live_server):
    mine, theirs = Browser(live_server), Browser(live_server)
    mine.sign_in(live_server.admin)
    theirs.sign_in(live_server.admin)
    assert mine.call("pause", csrf=theirs.csrf).status == 403


def test_get_needs_no_csrf_token_but_runs_only_read_only_methods(live_server):
    browser = Browser(live_server)
    browser.sign_in(live_server.admin)
    listed = browser.get("/api/task_list?data=%7B%7D")
    assert listed.status == 200 and listed.json() == {"response": {}}
    write = browser.get("/api/pause")
    assert write.status == 405
    assert browser.call("is_paused").json() == {"response": {"paused": False}}


def test_a_viewer_session_cannot_call_write_methods(live_server):
    browser = Browser(live_server)
    browser.sign_in(live_server.token("watcher", "viewer"))
    refused = browser.call("pause")
    assert refused.status == 403 and "needs the operator role" in refused.error()
    assert browser.call("is_paused").json() == {"response": {"paused": False}}
    assert browser.call("update_resources", {"resources": {"x": 1}}).status == 403


def test_calls_made_with_a_session_are_audited_with_via_dashboard(live_server):
    browser = Browser(live_server)
    browser.sign_in(live_server.token("ops", "operator"))
    browser.call("pause")
    record = next(r for r in live_server.audit_records() if r["method"] == "pause")
    assert (record["identity"], record["role"], record["outcome"], record["via"]) == (
        "token:ops",
        "operator",
        "ok",
        "dashboard",
    )


def test_an_authorization_header_wins_over_the_cookie_and_needs_no_csrf_token(live_server):
    browser = Browser(live_server)
    browser.sign_in(live_server.token("watcher", "viewer"))
    bearer = {"Authorization": f"Bearer {live_server.admin}"}
    assert browser.call("pause", csrf=None, headers=bearer).status == 200  # admin, by the header
    record = next(r for r in live_server.audit_records() if r["method"] == "pause")
    assert record["identity"] == "token:admin" and "via" not in record
    wrong = browser.call("unpause", csrf="mine", headers={"Authorization": "Bearer wrong"})
    assert wrong.status == 401  # a wrong header is not rescued by a good cookie


def test_a_stale_cookie_is_signed_out_without_a_password_dialog(live_server):
    browser = Browser(live_server, cookie="made-up-session-id")
    answer = browser.call("task_list", csrf="guess")
    assert answer.status == 401 and answer.error() == "signed out"
    assert "WWW-Authenticate" not in answer.headers
    assert "Max-Age=0" in answer.headers["Set-Cookie"]
    page_fetch = Browser(live_server).request(
        "POST", "/api/task_list", "data=%7B%7D", {"Content-Type": FORM, "Sec-Fetch-Site": "same-origin"}
    )
    assert page_fetch.status == 401 and "WWW-Authenticate" not in page_fetch.headers
    script = Browser(live_server).request("POST", "/api/task_list", "data=%7B%7D", {"Content-Type": FORM})
    assert script.status == 401 and script.headers["WWW-Authenticate"] == 'Basic realm="xrsched"'


def test_a_cross_site_post_with_the_cookie_is_still_refused(live_server):
    browser = Browser(live_server)
    browser.sign_in(live_server.admin)
    answer = browser.call("pause", headers={"Origin": "https://evil.example"})
    assert answer.status == 403 and "cross-site" in answer.body.decode()
    assert browser.call("is_paused").json() == {"response": {"paused": False}}


def test_a_disabled_dashboard_serves_nothing_and_ignores_cookies(live_server_factory):
    live = live_server_factory(dashboard={"enabled": False})
    browser = Browser(live)
    assert browser.get("/").status == 405  # as before the dashboard: POST / is XML-RPC
    assert browser.get("/static/index.html").status == 404
    assert browser.sign_in(live.admin).status == 404  # /session is not a path here
    browser.cookie = "anything"
    answer = browser.call("task_list", csrf="anything")
    assert answer.status == 401 and answer.headers["WWW-Authenticate"] == 'Basic realm="xrsched"'


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/session/logout", "POST"),
        ("DELETE", "/session/logout", "POST"),
        ("DELETE", "/", "GET, HEAD, POST"),
        ("PUT", "/", "GET, HEAD, POST"),
        ("POST", "/static/index.html", "GET, HEAD"),
        ("DELETE", "/static/nope.js", "GET, HEAD"),
    ],
)
def test_a_method_a_dashboard_path_does_not_take_is_405_naming_those_it_does(live_server, method, path, allow):
    answer = Browser(live_server).request(method, path)
    assert (answer.status, answer.headers["Allow"]) == (405, allow)
    assert answer.has_security_headers() and answer.error()


def test_api_calls_without_a_cookie_get_the_token_hint_or_from_the_page_a_plain_signed_out(live_server):
    browser = Browser(live_server)
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        refused = browser.request("GET", "/api/task_list", headers=headers)
        assert refused.status == 401 and b"put a token in the scheduler URL" in refused.body
        assert "WWW-Authenticate" in refused.headers
    page = browser.request("GET", "/api/task_list", headers={"Sec-Fetch-Site": "same-origin"})
    assert (page.status, page.error()) == (401, "signed out")
    assert "WWW-Authenticate" not in page.headers and page.has_security_headers()
