"""Graceful stop: in-flight calls finish, idle connections close, nothing new is accepted."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from tests.rpc.http_support import RESPONSE, EchoApp, https, post_rpc, run_server
from tests.waiting import wait_for


def test_shutdown_lets_an_in_flight_call_finish(dev_certs):
    app = EchoApp(slow_seconds=1.0)
    outcome: dict[str, object] = {}
    with run_server(dev_certs, app) as server:
        idle = https(server, dev_certs)
        assert post_rpc(idle)[0].status == 200

        def slow_call() -> None:
            conn = https(server, dev_certs)
            response, body = post_rpc(conn, body=b"<methodCall><slow/></methodCall>")
            outcome.update(status=response.status, body=body, connection=response.getheader("Connection"))

        caller = threading.Thread(target=slow_call)
        caller.start()
        deadline = time.monotonic() + 5
        while len(app.calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
        assert server.shutdown(grace_seconds=5.0) is True
        took = time.monotonic() - started
        caller.join(5)
        # the idle keep-alive connection was closed at once
        idle.sock.settimeout(1)
        assert idle.sock.recv(1) == b""
        with pytest.raises(OSError):
            socket.create_connection(server.server_address, timeout=1)
    assert outcome == {"status": 200, "body": RESPONSE, "connection": "close"}
    assert 0.5 < took < 3.0


def test_shutdown_gives_up_after_the_grace_period(dev_certs):
    app = EchoApp(slow_seconds=3.0)
    with run_server(dev_certs, app) as server:
        errors: list[BaseException] = []

        def slow_call() -> None:
            try:
                post_rpc(https(server, dev_certs), body=b"<slow/>")
            except Exception as exc:  # the connection is cut: expected
                errors.append(exc)

        caller = threading.Thread(target=slow_call)
        caller.start()
        wait_for(lambda: app.calls, 5, "the slow call to reach the application", interval=0.01)
        started = time.monotonic()
        assert server.shutdown(grace_seconds=0.3) is False
        assert time.monotonic() - started < 3.5
        caller.join(5)


def test_shutdown_before_start_and_twice_is_harmless(dev_certs):
    from xrsched.rpc.http_server import RpcHttpServer

    server = RpcHttpServer(("127.0.0.1", 0), EchoApp(), tls_context=None)
    assert server.server_address[1] > 0
    assert server.shutdown(0.1) is True
    assert server.shutdown(0.1) is True
    with pytest.raises(RuntimeError):
        server.start()
