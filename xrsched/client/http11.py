"""One keep-alive HTTP/1.1 client connection: write a request, read the answer, bounded everywhere.

The transport needs very little of HTTP: a POST with a handful of headers, and an answer
framed by ``Content-Length`` (what the scheduler sends), ``chunked`` (what a proxy may send) or
the end of the connection. The standard library's ``http.client`` does far more, and costs
about 0.12 ms of CPU per exchange (its e-mail header parser most of all) plus 15-20 ms of
imports at start-up, both paid by every worker. This module does just the part we need:

* the request goes out in one ``sendall``;
* the status line and headers are read with limits on line length and count; interim ``1xx``
  answers are skipped; header names are case-insensitive;
* the body is read by its framing, refused past ``cap`` bytes (before reading, when the
  length is announced), and the connection is marked for closing whenever the server asked
  for it or the framing leaves it unusable.

A connection closed by the server before any byte of an answer arrived raises
:class:`Disconnected` (a ``ConnectionError``), which the transport treats as a stale kept
connection; one that ends in the middle of an answer raises :class:`Cut` (an ``OSError``: a
retryable network failure); an answer that is not valid HTTP/1.x raises :class:`BadAnswer`.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from typing import Any

#: Longest status or header line accepted, and most header lines (the server sends about 8).
MAX_LINE = 64 * 1024
MAX_HEADERS = 100
#: Interim (1xx) answers skipped before the real one.
MAX_INTERIM = 10
_RECV = 64 * 1024


class Disconnected(ConnectionError):
    """The server closed the connection before it sent an answer."""


class BadAnswer(Exception):
    """The bytes that came back are not a valid HTTP/1.x answer."""


class Cut(OSError):
    """The connection ended in the middle of an answer (a network failure: worth a retry)."""


class TooLarge(Exception):
    """The answer's body is longer than the caller's cap."""


@dataclass
class Answer:
    """A complete answer: status, headers (lower-case names) and body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (any case), or None."""
        return self.headers.get(name.lower())


def _too_large(limit: int, size: int | None = None) -> TooLarge:
    what = "answer" if size is None else f"answer of {size} bytes"
    return TooLarge(f"{what} is over the {limit} byte limit")


class HttpConnection:
    """A socket to one server (TLS when ``context`` is given) that carries request after request.

    ``sock`` is None until :meth:`connect`; after :meth:`close` the next exchange reconnects.
    Not thread-safe: the transport gives each thread its own.
    """

    def __init__(self, host: str, port: int, context: ssl.SSLContext | None, *, connect_timeout: float,
                 read_timeout: float) -> None:  # fmt: skip
        self.host = host
        self.port = port
        self.context = context
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.sock: Any = None
        self._buffer = b""
        #: A call is using the connection (changed under the transport's lock).
        self.busy = False
        #: close() was asked for while the connection was busy.
        self.close_after_use = False

    def connect(self) -> None:
        """TCP connect (and the TLS handshake) within ``connect_timeout``; then reads use ``read_timeout``."""
        sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.context is not None:
                sock = self.context.wrap_socket(sock, server_hostname=self.host)
            sock.settimeout(self.read_timeout)
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        self._buffer = b""

    def close(self) -> None:
        """Close the socket (if open); the next exchange opens a new one."""
        sock, self.sock = self.sock, None
        self._buffer = b""
        if sock is not None:
            sock.close()

    @property
    def has_unread(self) -> bool:
        """Bytes arrived that no request asked for (the connection cannot be trusted)."""
        return bool(self._buffer)

    # -- one exchange ---------------------------------------------------------------------------

    def exchange(self, request: bytes, cap: int, *, error_cap: int) -> Answer:
        """Send ``request`` (head and body) and read the answer; bodies of 200 answers up to ``cap``
        bytes, of others up to ``error_cap`` (the rest of those is dropped with the connection)."""
        if self.sock is None:
            self.connect()
        try:
            self.sock.sendall(request)
            status, headers, closing = self._head()
            limit = cap if status == 200 else error_cap
            body, complete = self._body(status, headers, limit, truncate=status != 200)
        except BaseException:
            self.close()  # whatever is left of the answer cannot be told from the next one
            raise
        if closing or not complete:  # the server ends it, or the rest of the body is still coming
            self.close()
        return Answer(status, headers, body)

    def _head(self) -> tuple[int, dict[str, str], bool]:
        for _ in range(MAX_INTERIM + 1):
            line = self._line(first=True)
            version, _, rest = line.partition(" ")
            code, space = rest[:3], rest[3:4]
            valid_code = len(code) == 3 and code.isdigit() and space in ("", " ")
            if not (version.startswith("HTTP/1.") and version[7:].isdigit() and valid_code):
                raise BadAnswer(f"bad status line {line[:40]!r}")
            headers = self._headers()
            status = int(code)
            if status >= 200:
                break
            if status == 101:
                raise BadAnswer("the server switched protocols")
        else:
            raise BadAnswer("too many interim answers")
        connection = headers.get("connection", "").lower()
        closing = "close" in connection or (version == "HTTP/1.0" and "keep-alive" not in connection)
        return status, headers, closing

    def _headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        last = ""
        for _ in range(MAX_HEADERS + 1):
            line = self._line()
            if not line:
                return headers
            if line[0] in " \t":  # an obsolete folded continuation: part of the previous value
                if not last:
                    raise BadAnswer("continuation line before any header")
                headers[last] = f"{headers[last]} {line.strip()}"
                continue
            name, colon, value = line.partition(":")
            name = name.lower()
            if not colon or not name or name != name.strip():
                raise BadAnswer("malformed header line")
            value = value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
            last = name
        raise BadAnswer("too many header lines")

    def _body(self, status: int, headers: dict[str, str], limit: int, *, truncate: bool) -> tuple[bytes, bool]:
        """The body and whether it was read whole (else the connection must close)."""
        if status in (204, 304):
            return b"", True
        coding = headers.get("transfer-encoding")
        if coding is not None:
            if coding.lower().rsplit(",", 1)[-1].strip() != "chunked":
                return self._until_close(limit, truncate), False
            return self._chunked(limit, truncate)
        length = headers.get("content-length")
        if length is None:
            return self._until_close(limit, truncate), False
        values = {v.strip() for v in length.split(",")}
        if len(values) != 1 or not next(iter(values)).isdigit():
            raise BadAnswer("bad Content-Length")
        size = int(values.pop())
        if size > limit:
            if not truncate:
                raise _too_large(limit, size)
            return self._exact(limit), False
        return self._exact(size), True

    def _chunked(self, limit: int, truncate: bool) -> tuple[bytes, bool]:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self._line().split(";", 1)[0].strip()
            try:
                size = int(line, 16)
            except ValueError:
                raise BadAnswer("bad chunk size") from None
            if size < 0:
                raise BadAnswer("bad chunk size")
            if size == 0:
                break
            if total + size > limit:
                if not truncate:
                    raise _too_large(limit)
                parts.append(self._exact(limit - total))
                return b"".join(parts), False
            parts.append(self._exact(size))
            total += size
            if self._line():
                raise BadAnswer("chunk longer than announced")
        while self._line():  # trailer fields: read and ignored
            pass
        return b"".join(parts), True

    def _until_close(self, limit: int, truncate: bool) -> bytes:
        parts = [self._buffer]
        total = len(self._buffer)
        self._buffer = b""
        while total <= limit:
            chunk = self.sock.recv(min(_RECV, limit + 1 - total))
            if not chunk:
                break
            parts.append(chunk)
            total += len(chunk)
        body = b"".join(parts)
        if len(body) > limit:
            if not truncate:
                raise _too_large(limit)
            return body[:limit]
        return body

    # -- reading --------------------------------------------------------------------------------

    def _line(self, *, first: bool = False) -> str:
        """One line without its end; ``first``: a close before any byte is :class:`Disconnected`."""
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                raw, self._buffer = self._buffer[:end], self._buffer[end + 1 :]
                if len(raw) > MAX_LINE:
                    raise BadAnswer("header line too long")
                return raw.rstrip(b"\r").decode("latin-1")
            if len(self._buffer) > MAX_LINE:
                raise BadAnswer("header line too long")
            chunk = self.sock.recv(_RECV)
            if not chunk:
                if first and not self._buffer:
                    raise Disconnected("the server closed the connection without answering")
                raise Cut("the connection ended inside the answer's head")
            self._buffer += chunk

    def _exact(self, size: int) -> bytes:
        buffered = self._buffer
        if len(buffered) >= size:
            self._buffer = buffered[size:]
            return buffered[:size]
        parts = [buffered]
        missing = size - len(buffered)
        self._buffer = b""
        while missing:
            chunk = self.sock.recv(min(_RECV, missing))
            if not chunk:
                raise Cut("the connection ended inside the answer's body")
            parts.append(chunk)
            missing -= len(chunk)
        return b"".join(parts)
