"""A TLS-terminating HTTP/1.1 proxy for client tests that misbehaves on cue.

It sits between a :class:`~xrsched.client.RemoteScheduler` and a live server (or stands
alone as a fake server) and handles each POST with the next queued *action* for requests
whose body contains ``match``: forward it, forward it but drop the reply, answer an HTTP
error or an XML-RPC fault, or write any raw answer. Every request body is recorded.
"""

from __future__ import annotations

import http.client
import socketserver
import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from xrsched.rpc.marshal import dump_fault
from xrsched.tls import server_context

Action = Callable[["_Handler", bytes], None]


def forward(handler: _Handler, body: bytes) -> None:
    """Pass the request on and the reply back."""
    status, reply, headers = handler.proxy.upstream_call(handler, body)
    handler.answer(status, reply, headers)


def drop_reply(handler: _Handler, body: bytes) -> None:
    """Pass the request on (the server acts on it), then close without answering."""
    handler.proxy.upstream_call(handler, body)
    handler.close_connection = True


def close_first(handler: _Handler, body: bytes) -> None:
    """Close without passing the request on."""
    handler.close_connection = True


def http_status(status: int, retry_after: str | None = None, text: bytes = b"busy\n") -> Action:
    """Answer an HTTP error without passing the request on."""

    def act(handler: _Handler, body: bytes) -> None:
        headers = [("Content-Type", "text/plain")]
        if retry_after is not None:
            headers.append(("Retry-After", retry_after))
        handler.answer(status, text, headers)

    return act


def fault(code: int, text: str = "try again") -> Action:
    """Answer an XML-RPC fault without passing the request on."""

    def act(handler: _Handler, body: bytes) -> None:
        handler.answer(200, dump_fault(code, text), [("Content-Type", "text/xml")])

    return act


def raw(write: Callable[[_Handler], None]) -> Action:
    """Let ``write`` produce the whole answer on ``handler.wfile``; the connection closes after."""

    def act(handler: _Handler, body: bytes) -> None:
        handler.close_connection = True
        write(handler)

    return act


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    proxy: FaultyProxy

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.proxy.next_action(body)(self, body)

    def answer(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _TlsServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, context: ssl.SSLContext, handler: type[_Handler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.context = context

    def finish_request(self, request, client_address) -> None:  # handshake in the handler thread
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        super().finish_request(tls, client_address)


class FaultyProxy:
    """Forwards to ``upstream`` (host, port) over TLS verified with ``ca``, or serves alone."""

    def __init__(self, cert: Path, key: Path, ca: Path, upstream: tuple[str, int] | None = None) -> None:
        self.upstream = upstream
        self.upstream_context = ssl.create_default_context(cafile=str(ca))
        self.actions: list[Action] = []
        self.match: bytes = b""
        self.default: Action = forward
        self.bodies: list[bytes] = []
        self.connections = 0
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"proxy": self})
        self._server = _TlsServer(server_context(cert, key), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"https://localhost:{self._server.server_address[1]}/RPC2"

    def plan(self, *actions: Action, match: bytes = b"") -> None:
        """Handle the next requests containing ``match`` with ``actions``, then fall back to default."""
        with self._lock:
            self.actions = list(actions)
            self.match = match

    def next_action(self, body: bytes) -> Action:
        with self._lock:
            self.bodies.append(body)
            if self.actions and self.match in body:
                return self.actions.pop(0)
            return self.default

    def upstream_call(self, handler: _Handler, body: bytes) -> tuple[int, bytes, list[tuple[str, str]]]:
        assert self.upstream is not None, "this proxy has no upstream"
        conn = http.client.HTTPSConnection(*self.upstream, context=self.upstream_context, timeout=10)
        try:
            keep = ("Authorization", "Content-Type", "X-Request-Id", "Content-Encoding")
            headers = {name: handler.headers[name] for name in keep if name in handler.headers}
            conn.request("POST", handler.path, body=body, headers=headers)
            response = conn.getresponse()
            reply = response.read()
            passed = [(n, v) for n, v in response.getheaders() if n.lower() in ("content-type", "retry-after")]
            return response.status, reply, passed
        finally:
            conn.close()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
