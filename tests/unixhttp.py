"""A test-only HTTP client over AF_UNIX (shared by the Unix-socket tests).

The product's client learns ``unix:`` URLs separately; these tests drive the server with the
stdlib's ``http.client`` whose ``connect()`` opens a Unix socket instead of a TCP one.
"""

from __future__ import annotations

import http.client
import socket
import xmlrpc.client
from pathlib import Path


class UnixHTTPConnection(http.client.HTTPConnection):
    """``http.client.HTTPConnection`` to the server listening on the socket file ``path``."""

    def __init__(self, path: str | Path, timeout: float = 5.0) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = str(path)

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


def call(path: str | Path, method: str, target: str, body: bytes = b"", **headers: str) -> tuple[int, dict, bytes]:
    """One request on a fresh connection: (status, headers, body)."""
    conn = UnixHTTPConnection(path)
    try:
        conn.request(method, target, body=body or None, headers={k.replace("_", "-"): v for k, v in headers.items()})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def raw_unix(path: str | Path, timeout: float = 5.0) -> socket.socket:
    """A connected AF_UNIX socket for hand-written requests."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(str(path))
    return sock


class UnixTransport(xmlrpc.client.Transport):
    """stdlib ``Transport`` over :class:`UnixHTTPConnection`, sending ``Authorization: Bearer``."""

    def __init__(self, path: str | Path, secret: str | None) -> None:
        super().__init__()
        self.socket_path = str(path)
        self.secret = secret

    def make_connection(self, host: object) -> http.client.HTTPConnection:
        if self._connection[1] is None:
            self._connection = host, UnixHTTPConnection(self.socket_path)
        return self._connection[1]

    def send_headers(self, connection, headers):  # type: ignore[override]
        if self.secret is not None:
            headers = [*headers, ("Authorization", f"Bearer {self.secret}")]
        super().send_headers(connection, headers)


def unix_proxy(path: str | Path, secret: str | None) -> xmlrpc.client.ServerProxy:
    """A stdlib ``ServerProxy`` talking to the server on the socket file ``path``."""
    return xmlrpc.client.ServerProxy("http://localhost/RPC2", transport=UnixTransport(path, secret))
