"""Deadlines on a connection's reads and writes, and the socket timeout that keeps them.

A ``settimeout`` is a system call, so the timeout in force is changed only when a deadline
needs it; these tests hold both halves: the deadlines still cut clients off, a timeout in force
shorter than the time left never cuts one off early, and a keep-alive request cycle sets no
timeout at all.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from tests.rpc.http_support import https, post_rpc, run_server, tls_socket
from xrsched.rpc.sockio import DeadlineReader, TimedWriter


class CountingSocket(socket.socket):
    """A real socket that counts the timeouts set on it."""

    settimeouts = 0

    def settimeout(self, value: float | None) -> None:
        self.settimeouts += 1
        super().settimeout(value)


@pytest.fixture
def pair():
    near, far = socket.socketpair()
    sock = CountingSocket(fileno=near.detach())
    try:
        yield sock, far
    finally:
        sock.close()
        far.close()


def test_a_keep_alive_cycle_sets_the_timeout_once_not_per_request(pair):
    sock, far = pair
    reader, writer = DeadlineReader(sock), TimedWriter(sock, 30.0)
    buffer = bytearray(64)
    for cycle in range(10):
        if cycle == 1:
            sock.settimeouts = 0  # the first cycle sets each phase's timeout once
        far.sendall(b"request")
        reader.expire_in(60.0)  # the idle wait
        assert reader.readinto(buffer) == len(b"request")
        reader.expire_in(30.0)  # the request's own deadline
        far.sendall(b"body")
        assert reader.readinto(buffer) == len(b"body")
        writer.write(b"answer")
        assert far.recv(64) == b"answer"
    assert sock.settimeouts == 0


def test_a_deadline_shorter_than_the_timeout_in_force_still_cuts_the_read_off(pair):
    sock, _far = pair
    TimedWriter(sock, 30.0).write(b"")  # leaves 30 s in force
    reader = DeadlineReader(sock)
    reader.expire_in(0.3)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        reader.readinto(bytearray(8))
    assert 0.25 < time.monotonic() - started < 2.0


def test_a_timeout_in_force_shorter_than_the_deadline_does_not_end_the_read_early(pair):
    sock, far = pair
    sock.settimeout(0.05)
    reader = DeadlineReader(sock)
    reader.expire_in(3.0)
    sender = threading.Timer(0.4, far.sendall, args=(b"late",))
    sender.start()
    try:
        assert reader.readinto(bytearray(8)) == 4
    finally:
        sender.join()


def test_a_write_uses_the_write_timeout_not_the_one_a_read_left(pair):
    sock, _far = pair
    sock.settimeout(0.01)  # as a read near its deadline leaves it
    TimedWriter(sock, 30.0).write(b"x")
    assert sock.gettimeout() == 30.0


def test_a_keep_alive_connection_idle_longer_than_the_write_timeout_is_served(dev_certs):
    # After an answer the write timeout (0.3 s) is in force; the idle wait (5 s) outlasts it.
    with run_server(dev_certs, write_timeout=0.3, idle_timeout=5.0) as server:
        conn = https(server, dev_certs)
        try:
            assert post_rpc(conn)[0].status == 200
            sock = conn.sock
            time.sleep(1.0)
            response, _ = post_rpc(conn)
            assert response.status == 200
            assert conn.sock is sock  # the same connection, not a reconnect
        finally:
            conn.close()


def test_a_request_sent_after_the_handshake_timeout_is_served(dev_certs):
    # The handshake leaves what remained of its 0.5 s in force; the idle wait is 5 s.
    with (
        run_server(dev_certs, handshake_timeout=0.5, idle_timeout=5.0) as server,
        tls_socket(server, dev_certs) as sock,
    ):
        time.sleep(1.0)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(64).startswith(b"HTTP/1.1 200 ")


def test_the_idle_timeout_still_closes_a_keep_alive_connection(dev_certs):
    with (
        run_server(dev_certs, write_timeout=30.0, idle_timeout=0.5) as server,
        tls_socket(server, dev_certs) as sock,
    ):
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while b"</health>" not in answer and (chunk := sock.recv(65536)):
            answer += chunk
        started = time.monotonic()
        assert sock.recv(64) == b""  # closed by the server, not by our 5 s timeout
        assert 0.3 < time.monotonic() - started < 3.0
