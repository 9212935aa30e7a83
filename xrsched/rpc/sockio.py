"""Socket work of a connection thread: reads bounded by a deadline, timed writes, and the
answer to plain ``http://`` on the TLS port.

Every TLS connection starts with a handshake record, whose first byte is 0x16; an HTTP/1.x
request starts with the letters of its method. :func:`refuse_plain_http` peeks at the first
bytes (``MSG_PEEK`` leaves them for the TLS layer) before the handshake, under the handshake's
deadline, and answers a plain request with a 400 saying to use https instead of a reset;
anything else goes on to the handshake untouched.
"""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import time

from xrsched.rpc.httpmsg import Response, response_head

log = logging.getLogger("xrsched.server")

#: The first byte of a TLS handshake record (ClientHello).
TLS_HANDSHAKE = 0x16
#: How much of the plain request is read before answering (the request line and headers).
_HEAD_LIMIT = 16 * 1024
#: How long, at most, the rest of a plain request is read and dropped after the answer.
_DRAIN_SECONDS = 0.5
_MESSAGE = "400 Bad Request: this port speaks HTTPS. The plain HTTP request was refused; use https:// instead."


def looks_like_plain_http(first: bytes) -> bool:
    """Whether the first bytes of a connection are an HTTP/1.x request line, not a TLS record."""
    if not first or first[0] == TLS_HANDSHAKE:
        return False
    method = first.split(b" ", 1)[0]
    return method.isalpha() and method.isupper() and len(first) > len(method)


def plain_http_answer(server_name: str) -> bytes:
    """The whole 400 response (head and body) for a plain request on the TLS port."""
    answer = Response.text(400, _MESSAGE)
    return response_head(answer, server=server_name, request_id="", close=True, http10=False) + answer.body


def refuse_plain_http(sock: socket.socket, deadline: float, server_name: str) -> bool:
    """Answer a plain HTTP request arriving on a TLS socket; True if it was one (then close it).

    ``sock`` is the accepted, not yet wrapped socket; ``deadline`` (``time.monotonic()``) bounds
    the wait for the first bytes and the read of the request head. A client that sends nothing
    meets the deadline here (``TimeoutError``) as it would in the handshake. Returns False,
    having consumed nothing, for anything else (a TLS ClientHello, or a closed connection).
    """
    sock.settimeout(_remaining(deadline))
    first = sock.recv(8, socket.MSG_PEEK)
    if not looks_like_plain_http(first):
        return False
    _read_head(sock, deadline)
    sock.settimeout(_remaining(deadline))
    sock.sendall(plain_http_answer(server_name))
    _drain(sock)
    log.debug("plain HTTP request on the TLS port from %s: answered 400", _peer(sock))
    return True


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("deadline passed")
    return left


def _read_head(sock: socket.socket, deadline: float) -> None:
    """Consume the request head, so that closing does not reset the connection under the answer."""
    received = b""
    while b"\r\n\r\n" not in received and b"\n\n" not in received and len(received) < _HEAD_LIMIT:
        sock.settimeout(_remaining(deadline))
        chunk = sock.recv(4096)
        if not chunk:
            return
        received += chunk


def _drain(sock: socket.socket) -> None:
    """Stop sending and swallow what the client still sends (a body) for a short while."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)
        end = time.monotonic() + _DRAIN_SECONDS
        budget = 256 * 1024
        while budget > 0 and (left := end - time.monotonic()) > 0:
            sock.settimeout(left)
            chunk = sock.recv(16 * 1024)
            if not chunk:
                break
            budget -= len(chunk)


def _peer(sock: socket.socket) -> str:
    try:
        host, port = sock.getpeername()[:2]
    except OSError:
        return "?"
    return f"{host}:{port}"


class DeadlineReader(io.RawIOBase):
    """Socket reads that give up at an absolute deadline, not per ``recv``."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self._sock = sock
        self.deadline = time.monotonic()

    def expire_in(self, seconds: float) -> None:
        """Reads fail with TimeoutError once ``seconds`` from now have passed."""
        self.deadline = time.monotonic() + seconds

    def readable(self) -> bool:
        """Always: this is the reading half of a socket."""
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        self._sock.settimeout(_remaining(self.deadline))
        return self._sock.recv_into(buffer)


class TimedWriter:
    """``wfile`` for BaseHTTPRequestHandler: each write is one timed ``sendall``."""

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        self._sock = sock
        self._timeout = timeout

    def write(self, data: bytes) -> int:
        self._sock.settimeout(self._timeout)
        self._sock.sendall(data)
        return len(data)

    def flush(self) -> None:
        """Nothing is buffered."""
