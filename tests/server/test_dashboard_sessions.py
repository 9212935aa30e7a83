"""Dashboard sign-in sessions on the real server over TLS: the cookie, sign-out, expiry,
revocation, the sign-in limit and the audit records (contract C)."""

from __future__ import annotations

import datetime as _dt
import json
import time

from tests import unixhttp
from tests.server.dashboard_client import Browser
from tests.waiting import wait_for
from xrsched.auth import add_token, revoke_token


def test_sign_in_gives_a_strict_http_only_secure_cookie_and_the_session(live_server):
    browser = Browser(live_server)
    answer = browser.sign_in(live_server.admin)
    assert answer.status == 200
    cookie = answer.headers["Set-Cookie"]
    name_value, *flags = [part.strip() for part in cookie.split(";")]
    assert name_value.startswith("xrsched_session=") and len(name_value) > 40
    assert set(flags) == {"HttpOnly", "Secure", "SameSite=Strict", "Path=/", "Max-Age=86400"}
    body = answer.json()
    assert body["identity"] == "token:admin" and body["role"] == "admin"
    assert len(body["csrf"]) >= 43 and body["csrf"] not in cookie
    assert abs(body["expires"] - (time.time() + 8 * 3600)) < 60
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.has_security_headers()

    again = browser.get("/session")
    assert again.status == 200 and again.json() == body
    assert "Set-Cookie" not in again.headers
    assert again.has_security_headers()


def test_a_token_as_id_and_secret_signs_in_too(live_server):
    secret = live_server.token("ops", "operator")
    browser = Browser(live_server)
    assert browser.sign_in(f"ops:{secret}").json()["role"] == "operator"
    assert Browser(live_server).sign_in(f"admin:{secret}").status == 401  # the id must match the secret


def test_wrong_tokens_and_bodies_are_refused_with_the_error_body(live_server):
    browser = Browser(live_server)
    wrong = browser.sign_in("not-the-secret")
    assert wrong.status == 401 and wrong.error() == "wrong or expired token"
    assert "Set-Cookie" not in wrong.headers and "WWW-Authenticate" not in wrong.headers
    assert wrong.has_security_headers()
    plain = browser.request("POST", "/session", "token=x", {"Content-Type": "application/x-www-form-urlencoded"})
    assert plain.status == 415 and "application/json" in plain.error()
    for body in ("[1]", "{", '{"tok": 1}', "[" * 5000):
        answer = browser.request("POST", "/session", body, {"Content-Type": "application/json"})
        assert answer.status == 400, body
        assert answer.has_security_headers()
    huge = browser.request("POST", "/session", json.dumps({"token": "x" * 9000}), {"Content-Type": "application/json"})
    assert huge.status == 413 and huge.has_security_headers()
    assert browser.get("/session").status == 401


def test_a_cross_site_sign_in_is_refused(live_server):
    answer = Browser(live_server).sign_in(live_server.admin, headers={"Origin": "https://evil.example"})
    assert answer.status == 403 and "cross-site" in answer.error()
    assert "Set-Cookie" not in answer.headers


def test_sign_out_needs_the_csrf_token_then_ends_the_session(live_server):
    browser = Browser(live_server)
    browser.sign_in(live_server.admin)
    missing = browser.sign_out(csrf=None)
    assert missing.status == 403 and missing.error() == "missing or wrong CSRF token"
    assert browser.sign_out(csrf="forged").status == 403
    assert browser.get("/session").status == 200  # still signed in
    done = browser.sign_out()
    assert done.status == 204 and done.body == b""
    assert done.headers["Set-Cookie"].startswith("xrsched_session=;") and "Max-Age=0" in done.headers["Set-Cookie"]
    assert done.has_security_headers()
    after = browser.get("/session")
    assert after.status == 401 and after.error() == "signed out"
    assert "WWW-Authenticate" not in after.headers
    assert browser.call("task_list").status == 401


def test_post_logout_signs_out_as_well(live_server):
    browser = Browser(live_server)
    browser.sign_in(live_server.admin)
    answer = browser.request("POST", "/session/logout", b"", {"X-CSRF-Token": browser.csrf})
    assert answer.status == 204
    assert browser.get("/session").status == 401


def test_sessions_expire_when_idle_and_after_their_lifetime(live_server_factory):
    live = live_server_factory(dashboard={"session_idle": 1.0, "session_max": 2.5})
    idle = Browser(live)
    idle.sign_in(live.admin)
    busy = Browser(live)
    signed_in = time.monotonic()
    assert busy.sign_in(live.admin).headers["Set-Cookie"].endswith("Max-Age=2")
    while time.monotonic() - signed_in < 1.5:  # used every 0.25 s: the idle timer never runs out
        time.sleep(0.25)
        assert busy.get("/session").status == 200
    assert idle.get("/session").status == 401  # 1.5 s without a request
    time.sleep(max(0.0, 2.6 - (time.monotonic() - signed_in)))
    assert busy.get("/session").status == 401  # past 2.5 s since sign-in, used or not
    assert busy.call("task_list").status == 401


def test_revoking_the_token_ends_its_sessions(live_server):
    secret = live_server.token("ops", "operator")
    ops, admin = Browser(live_server), Browser(live_server)
    ops.sign_in(secret)
    admin.sign_in(live_server.admin)
    assert ops.call("pause").status == 200
    revoke_token(live_server.tokens_path, "ops")
    # The server notices the changed file within a second, without SIGHUP.
    wait_for(lambda: ops.get("/session").status == 401, 5, "the revoked token's session to end")
    assert ops.call("unpause").status == 401
    assert admin.get("/session").status == 200


def test_a_token_that_expires_ends_its_sessions(live_server):
    expires = _dt.datetime.fromtimestamp(int(time.time()) + 3, _dt.UTC)
    secret = add_token(live_server.tokens_path, "brief", "viewer", expires)
    live_server.runtime.reload()
    browser = Browser(live_server)
    assert browser.sign_in(secret).status == 200
    # Nothing changes in the tokens file: the server's once-a-second look ends the session.
    wait_for(lambda: browser.get("/session").status == 401, 8, "the expired token's session to end")
    assert time.time() >= expires.timestamp()


def test_a_token_given_another_role_loses_its_sessions(live_server):
    secret = live_server.token("ops", "operator")
    browser = Browser(live_server)
    browser.sign_in(secret)
    revoke_token(live_server.tokens_path, "ops")
    live_server.token("ops", "viewer")  # same id, new role (and secret); reload runs at once
    assert browser.get("/session").status == 401


def test_failed_sign_ins_are_limited_per_peer_and_audited(live_server_factory):
    live = live_server_factory(dashboard={"sign_in_attempts": 3, "sign_in_window": 30})
    browser = Browser(live)
    assert [browser.sign_in(f"guess-{i}").status for i in range(3)] == [401, 401, 401]
    limited = browser.sign_in(live.admin)  # even the right token waits now
    assert limited.status == 429 and "too many failed sign-ins" in limited.error()
    assert 0 < int(limited.headers["Retry-After"]) <= 30
    assert "Set-Cookie" not in limited.headers
    outcomes = [r["outcome"] for r in live.audit_records() if r["method"] == "dashboard.sign_in"]
    assert outcomes == [401, 401, 401, 429]


def test_sign_in_and_out_are_audited_without_secrets(live_server):
    browser = Browser(live_server)
    browser.sign_in(live_server.admin)
    browser.call("task_list")
    browser.sign_out()
    records = [r for r in live_server.audit_records() if r.get("via") == "dashboard"]
    assert [(r["method"], r["outcome"], r["identity"]) for r in records] == [
        ("dashboard.sign_in", "ok", "token:admin"),
        ("task_list", "ok", "token:admin"),
        ("dashboard.sign_out", "ok", "token:admin"),
    ]
    # The dashboard's own records carry the same fields as a dispatched call's.
    assert {frozenset(r) for r in records} == {frozenset(records[1])}, records
    assert all(r["role"] == "admin" and r["peer"] and r["request_id"] for r in records), records
    text = live_server.audit_path.read_text()
    assert live_server.admin not in text and browser.cookie not in text and browser.csrf not in text


def test_over_the_unix_socket_the_cookie_is_still_secure(live_server_factory, sock_dir):
    path = sock_dir / "x.sock"
    live = live_server_factory(unix_socket=str(path))
    body = json.dumps({"token": live.admin}).encode()
    status, headers, reply = unixhttp.call(path, "POST", "/session", body, Content_Type="application/json")
    assert status == 200, reply
    assert "; Secure;" in headers["Set-Cookie"]  # a TLS-terminating proxy in front is assumed
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    csrf = json.loads(reply)["csrf"]
    status, headers, _ = unixhttp.call(path, "POST", "/api/pause", b"data=%7B%7D", Cookie=cookie, X_CSRF_Token=csrf)
    assert status == 200 and headers["X-Frame-Options"] == "DENY"
    assert next(r for r in live.audit_records() if r["method"] == "pause")["via"] == "dashboard"


def test_signing_out_of_a_session_already_ended_is_401_and_clears_the_cookie(live_server):
    browser = Browser(live_server)
    browser.sign_in(live_server.admin)
    csrf = browser.csrf
    assert browser.sign_out().status == 204
    logout = browser.request("POST", "/session/logout", b"{}", {"X-CSRF-Token": csrf})
    for again in (browser.sign_out(csrf=csrf), logout):
        assert (again.status, again.error()) == (401, "signed out")
        cleared = again.headers["Set-Cookie"]
        assert cleared.startswith("xrsched_session=;") and "Max-Age=0" in cleared
        assert again.has_security_headers() and "WWW-Authenticate" not in again.headers
