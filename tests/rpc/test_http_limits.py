"""Request limits enforced at the HTTP level: 411, 413 before reading, 400, 100-continue."""

from __future__ import annotations

import time

from tests.rpc.http_support import (
    TOKEN,
    EchoApp,
    https,
    post_rpc,
    read_head,
    read_until_close,
    run_server,
    tls_socket,
)

AUTH = f"Authorization: Bearer {TOKEN}\r\n".encode()


def test_chunked_body_is_411_and_closes(dev_certs):
    app = EchoApp()
    with run_server(dev_certs, app) as server, tls_socket(server, dev_certs) as sock:
        sock.sendall(
            b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
            + AUTH
            + b"Transfer-Encoding: chunked\r\n\r\nd\r\n<methodCall/>\r\n0\r\n\r\n"
        )
        data = read_until_close(sock)
    assert data.startswith(b"HTTP/1.1 411 ")
    assert b"Connection: close" in data
    assert [status for _, status in app.refused] == [411]
    assert not app.calls


def test_oversized_body_is_413_before_it_is_sent(dev_certs):
    app = EchoApp()
    limit = 1024 * 1024
    with run_server(dev_certs, app, max_request_bytes=limit) as server, tls_socket(server, dev_certs) as sock:
        started = time.monotonic()
        sock.sendall(
            b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
            + AUTH
            + b"Content-Length: 62914560\r\n\r\n"  # 60 MiB announced, not a byte of it sent
        )
        head = read_head(sock)
        elapsed = time.monotonic() - started
        assert head.startswith(b"HTTP/1.1 413 ")
        assert b"Connection: close" in head
        assert elapsed < 2.0
        rest = read_until_close(sock)  # returns because the server closes after the answer
        assert (head + rest).endswith(b"bytes\n")
    assert [status for _, status in app.refused] == [413]


def test_expect_continue_gets_413_without_100(dev_certs):
    with run_server(dev_certs, max_request_bytes=1000) as server, tls_socket(server, dev_certs) as sock:
        sock.sendall(
            b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n" + AUTH + b"Content-Length: 5000\r\n\r\n"
        )
        head = read_head(sock)
        assert head.startswith(b"HTTP/1.1 413 ")


def test_expect_continue_within_limits_gets_100_then_200(dev_certs):
    with run_server(dev_certs) as server, tls_socket(server, dev_certs) as sock:
        sock.sendall(
            b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n" + AUTH + b"Content-Length: 13\r\n\r\n"
        )
        assert read_head(sock).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(b"<methodCall/>")
        assert read_head(sock).startswith(b"HTTP/1.1 200 ")


def test_bad_content_length_is_400(dev_certs):
    with run_server(dev_certs) as server:
        for value in (b"12abc", b"-1", b"13, 13"):
            with tls_socket(server, dev_certs) as sock:
                head = b"POST /RPC2 HTTP/1.1\r\nHost: x\r\n" + AUTH + b"Content-Length: " + value
                sock.sendall(head + b"\r\n\r\n")
                data = read_until_close(sock)
                assert data.startswith(b"HTTP/1.1 400 "), value
                assert b"Connection: close" in data


def test_missing_content_length_is_411(dev_certs):
    with run_server(dev_certs) as server, tls_socket(server, dev_certs) as sock:
        sock.sendall(b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n" + AUTH + b"\r\n")
        assert read_until_close(sock).startswith(b"HTTP/1.1 411 ")


def test_body_within_limit_keeps_the_connection(dev_certs):
    with run_server(dev_certs, max_request_bytes=2000) as server:
        conn = https(server, dev_certs)
        response, _ = post_rpc(conn, body=b"<methodCall/>" + b" " * 1900)
        assert response.status == 200
        response, _ = post_rpc(conn, body=b" " * 2001)
        assert response.status == 413
        assert response.getheader("Connection") == "close"
        conn.close()


def test_garbage_request_line_is_a_plain_400(dev_certs):
    with run_server(dev_certs) as server, tls_socket(server, dev_certs) as sock:
        sock.sendall(b"HELLO THERE FRIEND OF MINE\r\n\r\n")
        data = read_until_close(sock)
    assert data.startswith(b"HTTP/1.1 400 ")
    assert b"text/plain" in data and b"<" not in data.split(b"\r\n\r\n", 1)[1]


def test_too_many_headers_is_431(dev_certs):
    with run_server(dev_certs) as server, tls_socket(server, dev_certs) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(150)) + b"\r\n")
        assert read_until_close(sock).startswith(b"HTTP/1.1 431 ")


def test_overlong_request_line_is_414(dev_certs):
    with run_server(dev_certs) as server, tls_socket(server, dev_certs) as sock:
        sock.sendall(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n")
        assert read_until_close(sock).startswith(b"HTTP/1.1 414 ")


def test_pipelined_requests_are_answered_in_order(dev_certs):
    with run_server(dev_certs) as server, tls_socket(server, dev_certs) as sock:
        body = b"<methodCall/>"
        call = b"POST /RPC2 HTTP/1.1\r\nHost: x\r\n" + AUTH + b"Content-Length: 13\r\n\r\n" + body
        sock.sendall(call + b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = read_until_close(sock)
    assert data.startswith(b"HTTP/1.1 200 ")
    assert data.count(b"HTTP/1.1 ") == 2 and b"HTTP/1.1 404 " in data
