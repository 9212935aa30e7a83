"""One HTTP/1.1 exchange with the scheduler: persistent TLS connections, timeouts, capped answers.

Each thread gets its own connection (``threading.local``), kept open across calls. Before a
kept connection is reused it is checked for a close the server sent while it sat idle; if it
still turns out dead when the request goes out (a race with the server's idle timeout), the
request is sent once more on a fresh connection at once. That is safe because every call
carries a request id the server deduplicates (DESIGN §4b). Anything else is reported as a
:class:`~xrsched.client.errors.ClientError` whose ``retryable`` flag the retry policy reads.

Answers are capped: a ``Content-Length`` over ``max_response_bytes`` is refused before
reading, a longer body is cut off one byte past the cap, and gzip/deflate answers are
inflated in bounded steps with the same cap.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import ssl
import threading
import time
import weakref
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from xrsched import __version__
from xrsched.client.errors import (
    MalformedResponse,
    ResponseTooLarge,
    TransportError,
    http_error,
)
from xrsched.client.http11 import Answer, BadAnswer, HttpConnection, TooLarge
from xrsched.requestid import valid_request_id
from xrsched.tls import client_context

MIB = 1024 * 1024
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
log = logging.getLogger("xrsched.client")
DEFAULT_PATH = "/RPC2"
_CHUNK = 64 * 1024
_ERROR_TEXT_BYTES = 2048
_XML_TYPES = ("text/xml", "application/xml")


@dataclass(frozen=True)
class TransportSettings:
    """How the client connects and what it accepts; every field has a safe default.

    - ``ca``: CA bundle to verify the server with; None uses the system store.
    - ``verify``: False turns certificate checks off (a quick test only, never production).
    - ``client_cert``/``client_key``: present a client certificate (``--tls-client-ca`` servers).
    - ``connect_timeout``: TCP connect plus TLS handshake, seconds.
    - ``read_timeout``: longest wait for any single read of the answer, seconds.
    - ``max_response_bytes``: largest answer accepted, before and after gzip inflation.
    """

    ca: Path | None = None
    verify: bool = True
    client_cert: Path | None = None
    client_key: Path | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_response_bytes: int = 64 * MIB

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "read_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0 seconds")
        if self.max_response_bytes < 1:
            raise ValueError("max_response_bytes must be >= 1")


@dataclass
class ClientStats:
    """Counters for tests and operators: connections opened, HTTP requests sent, retries slept."""

    connections_opened: int = 0
    requests_sent: int = 0
    retries: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, name: str, amount: int = 1) -> None:
        """Add ``amount`` to the counter ``name`` (thread-safe)."""
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)


@dataclass(frozen=True)
class Endpoint:
    """Where the scheduler answers: scheme, host, port and the XML-RPC path."""

    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, url: str) -> Endpoint:
        """``https://host[:port][/path]`` (port 8082 and path ``/RPC2`` by default)."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("https", "http"):
            raise ValueError(f"scheduler URL must start with https:// (or http://), got {url!r}")
        if not parts.hostname:
            raise ValueError(f"no host in scheduler URL {url!r}")
        if parts.username or parts.password:
            raise ValueError("put the token in token= or XRSCHED_TOKEN, not in the URL")
        path = parts.path or DEFAULT_PATH
        if parts.query:
            path += "?" + parts.query
        if not path.isascii() or not path.isprintable() or " " in path:
            raise ValueError(f"scheduler URL path must be printable ASCII without blanks (percent-encoded): {url!r}")
        return cls(scheme, parts.hostname, parts.port or 8082, path)


class _Stale(Exception):
    """A kept connection turned out to be closed before any answer arrived."""


class HttpTransport:
    """Sends XML-RPC bodies to one scheduler over per-thread keep-alive connections."""

    def __init__(self, url: str, token: str | None, settings: TransportSettings | None = None) -> None:
        self.url = url
        self.endpoint = Endpoint.parse(url)
        self.settings = settings or TransportSettings()
        self._token = token
        self.stats = ClientStats()
        self._context = self._build_context()
        if self._context is None and token is not None and self.endpoint.host not in _LOOPBACK:
            log.warning("sending the token to %s over plain HTTP; use https://", self.endpoint.host)
        self._head_start = self._request_head_start()
        self._local = threading.local()
        self._open: weakref.WeakSet[HttpConnection] = weakref.WeakSet()
        self._lock = threading.Lock()

    def _request_head_start(self) -> str:
        """The request line and the headers every request carries (the token among them)."""
        host = self.endpoint.host
        if ":" in host:  # an IPv6 address
            host = f"[{host}]"
        default_port = 443 if self.endpoint.scheme == "https" else 80
        if self.endpoint.port != default_port:
            host = f"{host}:{self.endpoint.port}"
        lines = [
            f"POST {self.endpoint.path} HTTP/1.1",
            f"Host: {host}",
            "Content-Type: text/xml; charset=utf-8",
            "Accept-Encoding: gzip",
            f"User-Agent: xrsched-client/{__version__}",
        ]
        if self._token is not None:
            lines.append(f"Authorization: Bearer {self._token}")
        return "\r\n".join(lines) + "\r\n"

    def _build_context(self) -> ssl.SSLContext | None:
        if self.endpoint.scheme != "https":
            return None
        s = self.settings
        return client_context(s.ca, verify=s.verify, cert=s.client_cert, key=s.client_key)

    # -- pickling: settings and credentials cross, sockets and locks do not ---------------------

    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url, "token": self._token, "settings": self.settings}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["url"], state["token"], state["settings"])  # type: ignore[misc]

    # -- connections ------------------------------------------------------------------------------

    def _connection(self) -> HttpConnection:
        conn: HttpConnection | None = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) != os.getpid():
            # Inherited through fork: the socket and TLS state belong to the parent. Forget them
            # (closing would send a TLS close_notify on the parent's connection).
            conn = None
        if conn is None:
            s = self.settings
            conn = HttpConnection(self.endpoint.host, self.endpoint.port, self._context,
                                  connect_timeout=s.connect_timeout, read_timeout=s.read_timeout)  # fmt: skip
            self._local.conn = conn
            self._local.pid = os.getpid()
            with self._lock:
                self._open.add(conn)
        return conn

    def close(self) -> None:
        """Close every connection this transport opened; threads reconnect on their next call.

        A connection in the middle of a call (another thread's) is closed when that call ends,
        so closing never breaks a call in flight.
        """
        with self._lock:  # held so no thread starts a call on a connection being closed
            for conn in list(self._open):
                if conn.busy:
                    conn.close_after_use = True
                else:
                    with contextlib.suppress(Exception):
                        conn.close()

    # -- one exchange ---------------------------------------------------------------------------

    def post(self, body: bytes, request_id: str) -> bytes:
        """POST ``body``; return the answer's (inflated) body or raise a :class:`ClientError`."""
        conn = self._connection()
        with self._lock:
            conn.busy = True
        try:
            try:
                return self._exchange(conn, body, request_id)
            except _Stale:
                conn.close()
                return self._exchange(conn, body, request_id)
        finally:
            with self._lock:
                conn.busy = False
                if conn.close_after_use:
                    conn.close_after_use = False
                    conn.close()

    def _exchange(self, conn: HttpConnection, body: bytes, request_id: str) -> bytes:
        request = self._request(body, request_id)
        reused = conn.sock is not None
        if reused and (conn.has_unread or _dropped(conn.sock)):
            conn.close()
            reused = False
        if conn.sock is None:
            try:
                conn.connect()
            except Exception as exc:
                raise _transport_error(exc, "while connecting") from exc
            self.stats.add("connections_opened")
        try:
            self.stats.add("requests_sent")
            answer = conn.exchange(request, self.settings.max_response_bytes, error_cap=_ERROR_TEXT_BYTES)
        except TooLarge as exc:
            conn.close()
            raise ResponseTooLarge(str(exc)) from None
        except Exception as exc:
            conn.close()
            if reused and isinstance(exc, _DISCONNECTS):
                raise _Stale from exc
            raise _transport_error(exc, "waiting for the answer") from exc
        return self._read(answer)

    def _request(self, body: bytes, request_id: str) -> bytes:
        """The request's head and body, ready to send in one write."""
        if not valid_request_id(request_id):  # it goes into a header line: the server's own rule
            raise ValueError("request ids must be 1-128 characters of [A-Za-z0-9._:-]")
        head = self._head_start + f"Content-Length: {len(body)}\r\nX-Request-Id: {request_id}\r\n\r\n"
        return head.encode("ascii") + body

    def _read(self, answer: Answer) -> bytes:
        if answer.status != 200:
            text = answer.body.decode("utf-8", "replace")
            error = http_error(answer.status, _one_line(text))
            error.retry_after = parse_retry_after(answer.header("Retry-After"))
            raise error
        media = (answer.header("Content-Type") or "").split(";", 1)[0].strip().lower()
        if media not in _XML_TYPES:
            raise MalformedResponse(f"the server answered with {media or 'no Content-Type'}, not XML")
        return inflate(answer.body, answer.header("Content-Encoding"), self.settings.max_response_bytes)


#: Errors that on a kept connection mean "the server closed it before answering".
_DISCONNECTS = (ConnectionError, ssl.SSLEOFError, ssl.SSLZeroReturnError)


def _transport_error(exc: BaseException, doing: str) -> TransportError:
    """Classify a low-level failure: certificate problems and bad answers are final, the rest not."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return TransportError(f"TLS certificate verification failed: {exc.verify_message or exc}")
    if isinstance(exc, TimeoutError):
        return TransportError(f"timed out {doing}", retryable=True)
    if isinstance(exc, ssl.SSLError) and not isinstance(exc, _DISCONNECTS):
        return TransportError(f"TLS error {doing}: {exc.reason or exc}")
    if isinstance(exc, OSError):
        return TransportError(f"connection failed {doing}: {exc}", retryable=True)
    if isinstance(exc, BadAnswer):
        return MalformedResponse(f"not a valid HTTP answer ({exc})")
    return TransportError(f"{type(exc).__name__} {doing}: {exc}")


def _dropped(sock: Any) -> bool:
    """Whether an idle kept connection has something to read: a close, or bytes nobody asked for."""
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


def _one_line(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    import email.utils  # only for an HTTP date: most servers send seconds

    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment is None or moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


def inflate(body: bytes, content_encoding: str | None, cap: int) -> bytes:
    """``body`` with gzip/deflate removed, never producing more than ``cap`` bytes."""
    coding = (content_encoding or "identity").strip().lower()
    if coding == "identity":
        return body
    if coding in ("gzip", "x-gzip"):
        wbits = zlib.MAX_WBITS | 16
    elif coding == "deflate":
        wbits = zlib.MAX_WBITS  # zlib-wrapped, as RFC 9110 says
    else:
        raise MalformedResponse(f"unsupported Content-Encoding {coding[:40]!r} in the answer")
    inflater = zlib.decompressobj(wbits)
    out: list[bytes] = []
    size = 0
    pending = body
    try:
        while not inflater.eof:
            chunk = inflater.decompress(pending, min(_CHUNK, cap + 1 - size))
            pending = inflater.unconsumed_tail
            if not chunk and not pending:
                break
            size += len(chunk)
            if size > cap:
                raise ResponseTooLarge(f"answer inflates past the {cap} byte limit")
            out.append(chunk)
    except zlib.error:
        raise MalformedResponse("compressed answer is corrupt") from None
    if not inflater.eof:
        raise MalformedResponse("compressed answer is truncated")
    return b"".join(out)
