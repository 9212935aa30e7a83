"""Signing out on the real server over TLS: what a refused sign-out records, and one kept-alive
connection carrying a sign-out and the requests after it (the body is read, the 204 has none)."""

from __future__ import annotations

import socket

from tests.server.dashboard_client import Browser, raw_request, read_head


def test_a_sign_out_refused_for_its_csrf_token_is_audited_as_the_sessions_caller(live_server):
    browser = Browser(live_server)
    browser.sign_in(live_server.admin)
    assert browser.sign_out(csrf="forged").status == 403
    refused = [r for r in live_server.audit_records() if r["method"] == "DELETE /session"]
    assert [(r["outcome"], r["identity"], r["role"], r.get("via")) for r in refused] == [
        (403, "token:admin", "admin", "dashboard")
    ]


def test_a_sign_out_with_a_body_keeps_the_connection_and_sends_nothing_after_the_204(live_server):
    browser = Browser(live_server)
    browser.sign_in(live_server.admin)
    cookie = {"Cookie": f"xrsched_session={browser.cookie}"}
    _, port = live_server.runtime.http.server_address
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    with live_server.context().wrap_socket(raw, server_hostname="localhost") as sock:
        sign_out = raw_request("DELETE", "/session", {**cookie, "X-CSRF-Token": browser.csrf}, b'{"bye": true}')
        sock.sendall(sign_out)
        head, rest = read_head(sock, b"")
        assert head.startswith(b"HTTP/1.1 204 "), head
        assert b"\r\nConnection: close" not in head  # the body was read: the stream stays usable
        sock.sendall(raw_request("GET", "/session", cookie))
        head, _ = read_head(sock, rest)
        # The next bytes after the 204's head are the next answer: the 204 carried no body.
        assert head.startswith(b"HTTP/1.1 401 "), head
