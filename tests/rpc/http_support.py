"""A small real application and helpers for the HTTP transport tests (no mocks)."""

from __future__ import annotations

import contextlib
import datetime
import http.client
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from xrsched.health import HealthReport, SchedulerCounts, StoreHealth, TlsHealth
from xrsched.rpc.app import RequestInfo, RpcResult
from xrsched.rpc.http_server import RpcHttpServer
from xrsched.rpc.limits import HttpSettings
from xrsched.tls import client_context, server_context

TOKEN = "s3cret-token"
RESPONSE = (
    b"<?xml version='1.0'?>\n<methodResponse><params><param><value><boolean>1</boolean>"
    b"</value></param></params></methodResponse>\n"
)


@dataclass
class EchoApp:
    """Answers every call with a fixed methodResponse; ``<slow/>`` in the body sleeps first,
    ``<refuse/>`` gets a 503 the application audits itself."""

    status: str = "ok"
    slow_seconds: float = 1.5
    tls_not_after: datetime.datetime | None = None
    refused: list[tuple[RequestInfo, int]] = field(default_factory=list)
    calls: list[tuple[bytes, RequestInfo]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def authenticate(
        self, headers: Mapping[str, str], peer_cert_cn: str | None, *, peer: object = None
    ) -> object | None:
        if headers.get("Authorization") == f"Bearer {TOKEN}":
            return "tester"
        return peer_cert_cn

    def handle_rpc(self, body: bytes, request: RequestInfo) -> RpcResult:
        with self.lock:
            self.calls.append((body, request))
        if b"<refuse/>" in body:
            return RpcResult.error(503, "changes not durable")
        if b"<slow/>" in body:
            time.sleep(self.slow_seconds)
        return RpcResult.ok(RESPONSE)

    def handle_api(self, method: str, data: str | None, request: RequestInfo, *, read_only: bool) -> RpcResult:
        body = json.dumps({"response": {"method": method, "data": data, "read_only": read_only}}).encode()
        return RpcResult(status=200, body=body, content_type="application/json")

    def health(self) -> HealthReport:
        reasons = ("store is unhappy",) if self.status == "degraded" else ()
        return HealthReport(
            status=self.status,
            version="0.1.0",
            uptime_seconds=12.0,
            scheduler=SchedulerCounts(tasks=120, pending=30, running=4, failed=1, disabled=0, workers=3),
            store=StoreHealth(kind="sqlite", ok=self.status == "ok"),
            tls=TlsHealth(enabled=True, not_after=self.tls_not_after),
            reasons=reasons,
        )

    def on_refused(self, request: RequestInfo, status: int) -> None:
        with self.lock:
            self.refused.append((request, status))


@contextlib.contextmanager
def run_server(
    certs: object, app: EchoApp | None = None, *, tls: bool = True, **limits: object
) -> Iterator[RpcHttpServer]:
    """Serve ``app`` on 127.0.0.1:0 with the dev certificates until the block ends."""
    ctx = server_context(certs.server_cert, certs.server_key, client_ca=certs.ca_cert) if tls else None
    server = RpcHttpServer(("127.0.0.1", 0), app or EchoApp(), tls_context=ctx, settings=HttpSettings(**limits))
    server.start()
    try:
        yield server
    finally:
        server.shutdown(grace_seconds=1.0)


def client_ctx(certs: object) -> ssl.SSLContext:
    return client_context(certs.ca_cert)


def https(server: RpcHttpServer, certs: object, timeout: float = 5.0) -> http.client.HTTPSConnection:
    port = server.server_address[1]
    return http.client.HTTPSConnection("localhost", port, context=client_ctx(certs), timeout=timeout)


def post_rpc(conn: http.client.HTTPConnection, body: bytes = b"<methodCall/>", **headers: str):
    hdrs = {"Content-Type": "text/xml", "Authorization": f"Bearer {TOKEN}"}
    hdrs.update({k.replace("_", "-"): v for k, v in headers.items()})
    conn.request("POST", "/RPC2", body=body, headers=hdrs)
    response = conn.getresponse()
    return response, response.read()


def tls_socket(server: RpcHttpServer, certs: object, timeout: float = 5.0) -> ssl.SSLSocket:
    """A raw TLS socket for sending hand-written requests."""
    raw = socket.create_connection(server.server_address, timeout=timeout)
    return client_ctx(certs).wrap_socket(raw, server_hostname="localhost")


def read_until_close(sock: socket.socket, limit: int = 1 << 20) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while total < limit:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, ssl.SSLError):
            break
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def read_head(sock: socket.socket) -> bytes:
    """Read until the end of one response head (status line and headers)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data
