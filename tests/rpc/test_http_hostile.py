"""No hostage threads (DESIGN §3): silent, idle and slow clients never starve a real client."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from tests.rpc.http_support import (
    EchoApp,
    https,
    post_rpc,
    read_head,
    read_until_close,
    run_server,
    tls_socket,
)


def _timed_health(server, certs) -> tuple[int, float]:
    started = time.monotonic()
    conn = https(server, certs, timeout=5)
    try:
        conn.request("GET", "/health")
        response = conn.getresponse()
        response.read()
        return response.status, time.monotonic() - started
    finally:
        conn.close()


@contextlib.contextmanager
def _silent_connections(server, count: int):
    """``count`` TCP connections that never send a byte (no TLS handshake either)."""
    socks = []
    try:
        for _ in range(count):
            socks.append(socket.create_connection(server.server_address, timeout=5))
        yield socks
    finally:
        for sock in socks:
            sock.close()


def test_client_that_never_handshakes_does_not_delay_others(dev_certs):
    with run_server(dev_certs, handshake_timeout=30) as server, _silent_connections(server, 20):
        for _ in range(10):
            status, elapsed = _timed_health(server, dev_certs)
            assert status == 200
            assert elapsed < 2.0


def test_handshake_timeout_closes_silent_connection(dev_certs):
    with run_server(dev_certs, handshake_timeout=0.5) as server, _silent_connections(server, 1) as (sock,):
        sock.settimeout(5)
        started = time.monotonic()
        assert sock.recv(1) == b""  # the server gave up on the handshake and closed
        assert time.monotonic() - started < 3


def test_300_silent_connections_with_room_in_the_pool(dev_certs):
    with run_server(dev_certs, max_connections=400) as server, _silent_connections(server, 300):
        time.sleep(0.2)
        status, elapsed = _timed_health(server, dev_certs)
    assert status == 200
    assert elapsed < 2.0


def test_300_silent_connections_against_a_small_pool_are_evicted(dev_certs):
    # 32 slots: the silent connections fill the pool, the overflow refuses or drops the rest,
    # and once they have sat long enough to be evictable a real client takes a slot from one.
    with run_server(dev_certs, max_connections=32) as server, _silent_connections(server, 300):
        time.sleep(2.5)  # the overflow waiters give up (admission wait + refusal handshake)
        assert 0 < server.active_connections <= 32
        status, elapsed = _timed_health(server, dev_certs)
    assert status == 200
    assert elapsed < 2.0


def test_idle_keep_alive_connections_give_way_to_new_clients(dev_certs):
    with run_server(dev_certs, max_connections=4) as server:
        idle = []
        for _ in range(4):
            conn = https(server, dev_certs)
            response, _ = post_rpc(conn)
            assert response.status == 200
            idle.append(conn)
        time.sleep(0.7)  # old enough to be evicted
        status, elapsed = _timed_health(server, dev_certs)
        assert (status, elapsed < 2.0) == (200, True)
        closed = 0
        for conn in idle:
            conn.sock.settimeout(0.3)
            with contextlib.suppress(TimeoutError):
                closed += conn.sock.recv(1) == b""
        assert closed >= 1  # an idle keep-alive connection was closed to make room
        for conn in idle:
            conn.close()


def _slowloris(server, certs, stop: threading.Event, started: threading.Event) -> bytes:
    """Trickle a request's headers a byte at a time; return the server's answer, if it gives one."""
    with tls_socket(server, certs) as sock:
        payload = b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 10_000
        started.set()
        try:
            for byte in payload:
                if stop.is_set():
                    return b""
                sock.settimeout(0.05)
                try:
                    answer = sock.recv(65536)  # the server speaks only when it gives up on us
                except TimeoutError:
                    answer = None
                sock.settimeout(5)
                if answer is not None:
                    return answer + read_until_close(sock)
                sock.sendall(bytes([byte]))
        except OSError:
            return b"(reset)"
    return b"(sent everything)"


def test_pool_full_of_busy_requests_answers_503_quickly(dev_certs):
    app = EchoApp()
    stop = threading.Event()
    with run_server(dev_certs, app, max_connections=4, read_timeout=30) as server:
        starts = [threading.Event() for _ in range(4)]
        threads = [
            threading.Thread(target=_slowloris, args=(server, dev_certs, stop, event), daemon=True) for event in starts
        ]
        for thread in threads:
            thread.start()
        for event in starts:
            assert event.wait(5)
        time.sleep(0.7)  # the slow requests are mid-headers: busy, so not evictable
        with tls_socket(server, dev_certs) as sock:
            began = time.monotonic()
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = read_until_close(sock)
            elapsed = time.monotonic() - began
        stop.set()
        for thread in threads:
            thread.join(5)
    assert answer.startswith(b"HTTP/1.1 503 ")
    assert b"Connection: close" in answer and b"Retry-After: 1" in answer
    assert elapsed < 3.0
    assert any(status == 503 and info.path == "/health" for info, status in app.refused)


def test_slowloris_is_cut_off_and_does_not_block_others(dev_certs):
    stop = threading.Event()
    results: list[bytes] = []
    with run_server(dev_certs, max_connections=64, read_timeout=1.5) as server:
        starts = [threading.Event() for _ in range(10)]

        def run(event: threading.Event) -> None:
            results.append(_slowloris(server, dev_certs, stop, event))

        threads = [threading.Thread(target=run, args=(s,), daemon=True) for s in starts]
        for thread in threads:
            thread.start()
        for event in starts:
            assert event.wait(5)
        for _ in range(10):
            status, elapsed = _timed_health(server, dev_certs)
            assert (status, elapsed < 2.0) == (200, True)
        for thread in threads:
            thread.join(10)
        stop.set()
    assert len(results) == 10
    # each trickler was answered 408 once read_timeout passed, long before its headers ended
    assert all(result.startswith(b"HTTP/1.1 408 ") for result in results), results


def test_evicted_or_busy_clients_get_an_answer_not_a_hang(dev_certs):
    # one slot, held by a slow call: a newcomer gets a 503 within the admission wait
    app = EchoApp(slow_seconds=1.5)
    with run_server(dev_certs, app, max_connections=1) as server:
        holder = threading.Thread(target=lambda: post_rpc(https(server, dev_certs), body=b"<slow/>"), daemon=True)
        holder.start()
        time.sleep(0.3)
        with tls_socket(server, dev_certs) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_head(sock).startswith(b"HTTP/1.1 503 ")
        holder.join(5)
