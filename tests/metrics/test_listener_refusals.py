"""The listener reports refused connections by reason; a transport without metrics has no /metrics."""

from __future__ import annotations

import contextlib
import socket
import time

from tests.rpc.http_support import TOKEN, https, run_server, tls_socket


def test_a_connection_past_the_pool_and_the_overflow_is_reported_as_overflow(dev_certs):
    reasons: list[str] = []
    with run_server(dev_certs, max_connections=1, overflow_connections=0) as server:
        server.on_refused_connection = reasons.append
        holder = tls_socket(server, dev_certs)
        holder.sendall(b"POST /RPC2 HTTP/1.1\r\nHost: x\r\n")  # half a request: the only slot is busy
        time.sleep(0.2)
        with socket.create_connection(server.server_address, timeout=5) as late:
            answer = b""
            with contextlib.suppress(ConnectionResetError):
                answer = late.recv(10)
            assert answer == b""  # closed at once: no slot, no overflow thread
        holder.close()
        deadline = time.monotonic() + 5
        while not reasons and time.monotonic() < deadline:
            time.sleep(0.05)
    assert reasons == ["overflow"]


def test_plain_http_and_failed_handshakes_are_reported(dev_certs):
    reasons: list[str] = []
    with run_server(dev_certs) as server:
        server.on_refused_connection = reasons.append
        with socket.create_connection(server.server_address, timeout=5) as plain:
            plain.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            plain.recv(100)
        deadline = time.monotonic() + 5  # reported once the refusal is sent: wait, so the order is known
        while not reasons and time.monotonic() < deadline:
            time.sleep(0.05)
        with socket.create_connection(server.server_address, timeout=5) as broken:
            broken.sendall(b"\x16\x03\x01\x00\x02no")  # a TLS record that is no ClientHello, then gone
        deadline = time.monotonic() + 5
        while len(reasons) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert reasons == ["plain_http", "handshake"]


def test_an_application_without_metrics_gets_404_on_metrics(dev_certs):
    with run_server(dev_certs) as server:
        connection = https(server, dev_certs)
        connection.request("GET", "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        response = connection.getresponse()
        assert response.status == 404
        assert response.read() == b"not found\n"
        connection.close()
