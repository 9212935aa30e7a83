"""A test-only HTTP client over AF_UNIX (shared by the Unix-socket tests).

The product's client learns ``unix:`` URLs separately; these tests drive the server with the
stdlib's ``http.client`` whose ``connect()`` opens a Unix socket instead of a TCP one.
"""

from __future__ import annotations

import http.client
import socket
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
