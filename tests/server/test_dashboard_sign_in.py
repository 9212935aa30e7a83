"""The sign-in body rules, ``GET /session`` with and without a stale cookie, and the static
files' 404 and 304 answers, on the real server over TLS: exact statuses, messages and headers."""

from __future__ import annotations

import json
import socket

import pytest

from tests.server.dashboard_client import Browser, raw_request, read_head

JSON_BODY = json.dumps({"token": "not-the-secret"})


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "Application/JSON", "application/json;charset=utf-8", "application/json; charset=utf-8; v=1"],
)
def test_a_json_sign_in_is_taken_whatever_the_case_and_parameters(live_server, content_type):
    answer = Browser(live_server).request("POST", "/session", JSON_BODY, {"Content-Type": content_type})
    assert (answer.status, answer.error()) == (401, "wrong or expired token")


@pytest.mark.parametrize("headers", [{}, {"Content-Type": "text/plain"}, {"Content-Type": "application/jsonx"}])
def test_a_sign_in_that_is_not_json_is_415_saying_what_to_send(live_server, headers):
    answer = Browser(live_server).request("POST", "/session", JSON_BODY, headers)
    assert (answer.status, answer.error()) == (415, 'send {"token": "..."} as application/json')


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{", 'the body must be JSON: {"token": "..."}'),
        ("\xff", 'the body must be JSON: {"token": "..."}'),
        ("[" * 5000, 'the body must be JSON: {"token": "..."}'),
        ('["token"]', 'the body must be a JSON object with a "token" member'),
        ('{"secret": "x"}', 'the body must be a JSON object with a "token" member'),
    ],
)
def test_a_sign_in_body_that_is_no_token_object_is_400_saying_why(live_server, body, message):
    headers = {"Content-Type": "application/json"}
    answer = Browser(live_server).request("POST", "/session", body.encode("latin-1"), headers)
    assert (answer.status, answer.error()) == (400, message)
    assert answer.has_security_headers()


def test_the_body_rules_answer_with_their_own_message_in_the_json_error_body(live_server):
    browser = Browser(live_server)
    huge = browser.request("POST", "/session", "x" * 8193, {"Content-Type": "application/json"})
    assert (huge.status, huge.error()) == (413, "request body larger than 8192 bytes")
    at_limit = browser.request("POST", "/session", " " * 8180 + JSON_BODY[:12], {"Content-Type": "application/json"})
    assert at_limit.status == 400  # 8192 bytes are read (and are no JSON object)
    chunked = browser.request("POST", "/session", iter([JSON_BODY.encode()]), {"Content-Type": "application/json"})
    assert chunked.status == 411
    assert chunked.error() == "Content-Length required; chunked request bodies are not accepted"


def test_session_status_without_a_cookie_is_401_and_sets_no_cookie(live_server):
    answer = Browser(live_server).get("/session")
    assert (answer.status, answer.error()) == (401, "signed out")
    assert "Set-Cookie" not in answer.headers and "WWW-Authenticate" not in answer.headers


def test_session_status_with_a_stale_cookie_is_401_and_clears_it(live_server):
    answer = Browser(live_server, cookie="stale-session-id").get("/session")
    assert (answer.status, answer.error()) == (401, "signed out")
    assert answer.headers["Set-Cookie"].startswith("xrsched_session=;") and "Max-Age=0" in answer.headers["Set-Cookie"]
    other = Browser(live_server).get("/session", headers={"Cookie": "theme=dark"})  # no session cookie at all
    assert other.status == 401 and "Set-Cookie" not in other.headers


def test_a_static_file_not_in_the_list_is_404_not_found(live_server):
    answer = Browser(live_server).get("/static/missing.js")
    assert (answer.status, answer.error()) == (404, "not found")


def test_a_304_sends_nothing_after_its_head_on_a_kept_alive_connection(live_server):
    etag = Browser(live_server).get("/").headers["ETag"]
    _, port = live_server.runtime.http.server_address
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    with live_server.context().wrap_socket(raw, server_hostname="localhost") as sock:
        sock.sendall(raw_request("GET", "/", {"If-None-Match": etag}))
        head, rest = read_head(sock, b"")
        assert head.startswith(b"HTTP/1.1 304 "), head
        sock.sendall(raw_request("GET", "/static/missing.js", {}))
        head, _ = read_head(sock, rest)
        assert head.startswith(b"HTTP/1.1 404 "), head


def test_head_session_answers_as_get_without_the_body(live_server):
    browser = Browser(live_server)
    assert browser.request("HEAD", "/session").status == 401
    browser.sign_in(live_server.admin)
    body = browser.get("/session").body
    head = browser.request("HEAD", "/session")
    assert (head.status, head.body, int(head.headers["Content-Length"])) == (200, b"", len(body))


@pytest.mark.parametrize("verb", ["GET", "DELETE"])
def test_a_method_the_logout_path_does_not_take_is_405_method_not_allowed(live_server, verb):
    answer = Browser(live_server).request(verb, "/session/logout")
    assert (answer.status, answer.error(), answer.headers["Allow"]) == (405, "method not allowed", "POST")
