"""Plain ``http://`` on the TLS port: a 400 saying to use https, and TLS exactly as before."""

from __future__ import annotations

import http.client
import socket
import time

import pytest

from tests.rpc.http_support import EchoApp, https, post_rpc, read_until_close, run_server
from xrsched.rpc.sockio import looks_like_plain_http, plain_http_answer


@pytest.mark.parametrize("first", [b"GET / HT", b"POST /RP", b"HEAD /he", b"OPTIONS ", b"PUT /x H", b"DELETE /"])
def test_http_request_lines_are_recognised(first):
    assert looks_like_plain_http(first)


@pytest.mark.parametrize(
    "first",
    [
        b"",
        b"\x16\x03\x01\x02\x00\x01\x00\x01",  # a TLS ClientHello record
        b"GE",  # too little to tell: the TLS handshake decides (and fails)
        b"get / HT",  # methods are upper case
        b"\x00\x01GET /",
        b"SSH-2.0-",
    ],
)
def test_anything_else_goes_to_the_tls_handshake(first):
    assert not looks_like_plain_http(first)


def test_the_answer_is_a_complete_400_that_says_to_use_https():
    answer = plain_http_answer("xrsched")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert f"Content-Length: {len(body)}".encode() in head
    assert b"Connection: close" in head
    assert b"use https://" in body


def test_plain_http_client_on_the_tls_port_gets_400_telling_it_to_use_https(dev_certs):
    with run_server(dev_certs) as server:
        conn = http.client.HTTPConnection(*server.server_address, timeout=5)
        conn.request("GET", "/health")
        response = conn.getresponse()
        body = response.read()
        conn.close()
    assert response.status == 400
    assert response.getheader("Content-Type").startswith("text/plain")
    assert b"this port speaks HTTPS" in body and b"use https://" in body


def test_a_plain_post_with_a_body_gets_the_400_intact(dev_certs):
    """The request is read before the answer, so closing does not reset the answer away."""
    with run_server(dev_certs) as server:
        sock = socket.create_connection(server.server_address, timeout=5)
        body = b"<methodCall><methodName>ping</methodName></methodCall>" * 2000
        sock.sendall(
            b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        time.sleep(0.2)  # the answer is on its way when the body arrives
        sock.sendall(body)
        answer = read_until_close(sock)
        sock.close()
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n"), answer[:200]
    assert answer.endswith(b"use https:// instead.\n")


def test_tls_clients_are_served_as_before_on_the_same_server(dev_certs):
    with run_server(dev_certs) as server:
        plain = http.client.HTTPConnection(*server.server_address, timeout=5)
        plain.request("GET", "/health")
        assert plain.getresponse().status == 400
        plain.close()
        conn = https(server, dev_certs)
        response, data = post_rpc(conn)
        conn.close()
    assert response.status == 200
    assert b"methodResponse" in data


def test_a_silent_connection_still_meets_the_handshake_deadline(dev_certs):
    app = EchoApp()
    with run_server(dev_certs, app, handshake_timeout=0.5) as server:
        sock = socket.create_connection(server.server_address, timeout=5)
        started = time.monotonic()
        assert read_until_close(sock) == b""  # closed by the server, nothing said
        waited = time.monotonic() - started
        sock.close()
    assert 0.4 <= waited < 3.0, waited


def test_the_plain_http_check_is_off_without_tls(dev_certs):
    with run_server(dev_certs, tls=False) as server:
        conn = http.client.HTTPConnection(*server.server_address, timeout=5)
        conn.request("GET", "/health")
        response = conn.getresponse()
        response.read()
        conn.close()
    assert response.status == 200
