"""Big answers leave at once: the server disables Nagle's algorithm on every connection.

An answer over one TLS record (16 KiB) is written in several pieces; with Nagle's algorithm the
last piece waited for the client's delayed ACK of the others, ~40 ms per request (a worker's
multicall of 8 reports and 8 asks took 45 ms instead of 3).
"""

from __future__ import annotations

import http.client
import socket

import pytest

from tests.rpc.http_support import RESPONSE, EchoApp, https, post_rpc, run_server
from xrsched.rpc.app import RequestInfo, RpcResult

BIG = RESPONSE.replace(b"<boolean>1</boolean>", b"<string>" + b"x" * 100_000 + b"</string>")


class BigAnswers(EchoApp):
    def handle_rpc(self, body: bytes, request: RequestInfo) -> RpcResult:
        super().handle_rpc(body, request)
        return RpcResult.ok(BIG)


@pytest.mark.parametrize("tls", [True, False])
def test_the_servers_sockets_send_without_delay(dev_certs, tls):
    with run_server(dev_certs, BigAnswers(), tls=tls) as server:
        port = server.server_address[1]
        conn = https(server, dev_certs) if tls else http.client.HTTPConnection("127.0.0.1", port, timeout=5.0)
        for _ in range(3):
            response, body = post_rpc(conn)
            assert response.status == 200 and body == BIG
        (sock,) = server.connection_sockets()
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        conn.close()
