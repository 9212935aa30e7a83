"""One client connection, served in its own thread: TLS handshake, keep-alive loop, timeouts.

Every blocking read has a deadline: the handshake, the wait for the next request (idle), and
the whole of one request once its first byte arrived (so a slowloris is cut off however
slowly it trickles). Request-line and header parsing reuse ``BaseHTTPRequestHandler``; what
happens next is decided by the :class:`~xrsched.rpc.routes.Router`.
"""

from __future__ import annotations

import contextlib
import email.utils
import io
import itertools
import logging
import os
import re
import socket
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from xrsched.rpc.app import Application, RequestInfo
from xrsched.rpc.exchange import Exchange, HeaderMap, HttpError, Response, content_length, reason_phrase
from xrsched.rpc.http_settings import HttpSettings
from xrsched.rpc.plainhttp import refuse_plain_http
from xrsched.rpc.pool import ConnState, Tracked
from xrsched.rpc.routes import Router
from xrsched.rpc.sockio import DeadlineReader, TimedWriter

log = logging.getLogger("xrsched.server")

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_SAFE_HEADERS = ("host", "user-agent", "content-type", "content-length", "content-encoding")
_MAX_REQUEST_LINE = 8192
_MAX_HEADER_LINE = 8192
_MAX_HEADERS = 100
_LINGER_SECONDS = 1.0
_BUSY_SECONDS = 1.0  # a refused client gets this long to handshake and to send its request head


_date_cache: list[object] = [-1, ""]
_request_ids = itertools.count(1)
#: Generated request ids: a per-process random prefix and a counter (unique, and cheaper than uuid4).
_REQUEST_ID_PREFIX = os.urandom(6).hex()


def _http_date() -> str:
    """The HTTP ``Date`` header value, formatted once per second."""
    second = int(time.time())
    if second != _date_cache[0]:
        _date_cache[0] = second
        _date_cache[1] = email.utils.formatdate(second, usegmt=True)
    return str(_date_cache[1])


def _next_request_id() -> str:
    return f"{_REQUEST_ID_PREFIX}-{next(_request_ids)}"


@dataclass
class ServerEnv:
    """What every connection thread shares: the application, the routes, the limits."""

    app: Application
    router: Router
    settings: HttpSettings
    tls_context: ssl.SSLContext | None
    draining: threading.Event = field(default_factory=threading.Event)


class Connection(BaseHTTPRequestHandler):
    """Serves one accepted socket until it closes, times out, is evicted or the server drains.

    With ``busy=True`` the connection is refused instead: after a short handshake and a short
    wait for the request head it gets ``503`` with ``Retry-After`` and is closed.
    """

    protocol_version = "HTTP/1.1"

    def __init__(
        self,
        sock: socket.socket,
        peer: tuple[str, int],
        env: ServerEnv,
        tracked: Tracked | None,
        *,
        busy: bool = False,
    ) -> None:
        # BaseRequestHandler.__init__ would start serving at once; this class is run explicitly.
        self.request = self.connection = sock
        self.client_address = (str(peer[0]), int(peer[1]))
        self.env = env
        self.settings = env.settings
        self.tracked = tracked
        self.busy = busy
        self.peer_cert_cn: str | None = None
        self.close_connection = True
        self.command = None  # type: ignore[assignment]
        self.path = ""
        self.request_version = "HTTP/1.1"
        self._reader: DeadlineReader | None = None
        self._input_clean = True  # False while unread request bytes may be waiting

    # -- the connection's life ------------------------------------------------------------

    def run(self) -> None:
        """Handshake, then answer requests until the connection should close."""
        try:
            if self._start():
                while self._serve_one():
                    pass
        except (OSError, ValueError) as exc:  # resets, TLS errors, use after eviction
            log.debug("connection %s:%s ended: %s", *self.client_address, exc)
        except Exception:
            log.exception("connection %s:%s failed unexpectedly", *self.client_address)
        finally:
            self._close()

    def _start(self) -> bool:
        sock = self.connection
        # An answer bigger than one TLS record (16 KiB) leaves in several writes; with Nagle's
        # algorithm the last one waits for the client's delayed ACK of the others: ~40 ms.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        ctx = self.env.tls_context
        if ctx is not None:
            limit = self.settings.handshake_timeout
            deadline = time.monotonic() + (min(limit, _BUSY_SECONDS) if self.busy else limit)
            if refuse_plain_http(sock, deadline, self.settings.server_name):
                return False
            sock.settimeout(max(deadline - time.monotonic(), 0.001))  # one deadline for both steps
            sock = ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
            self.request = self.connection = sock
            if self.tracked is not None:
                self.tracked.replace_socket(sock)
            try:
                sock.do_handshake()
            except (OSError, ValueError) as exc:
                log.debug("TLS handshake with %s:%s failed: %s", *self.client_address, exc)
                return False
            self.peer_cert_cn = _common_name(sock.getpeercert())
        self._reader = DeadlineReader(sock)
        self.rfile = io.BufferedReader(self._reader, 16 * 1024)
        self.wfile = TimedWriter(sock, self.settings.write_timeout)
        return True

    def _serve_one(self) -> bool:
        """Answer one request; True when the connection should wait for another."""
        assert self._reader is not None
        if not self._enter(ConnState.IDLE) or self.env.draining.is_set():
            return False
        self._reader.expire_in(_BUSY_SECONDS if self.busy else self.settings.idle_timeout)
        try:
            if not self.rfile.peek(1):
                return False
        except TimeoutError:
            return False
        if not self._enter(ConnState.ACTIVE):
            return False
        self._input_clean = False
        self._reader.expire_in(_BUSY_SECONDS if self.busy else self.settings.read_timeout)
        try:
            self.raw_requestline = self.rfile.readline(_MAX_REQUEST_LINE + 1)
            if len(self.raw_requestline) > _MAX_REQUEST_LINE:
                self._refuse(HttpError(414, "request line too long"))
                return False
            if not self.parse_request():
                return False  # parse_request already answered through send_error
        except TimeoutError:
            self._refuse(HttpError(408, "request not received in time"))
            return False
        return self._answer()

    def _answer(self) -> bool:
        headers = HeaderMap(self.headers)
        info = self._request_info(headers)
        if self.busy:
            self.close_connection = True
            self._refuse(HttpError(503, "server busy, retry later", headers=[("Retry-After", "1")]), info)
            return False
        expects = headers.get("expect", "").lower() == "100-continue" and self.request_version >= "HTTP/1.1"
        exchange = Exchange(info, headers, self.env.app, self.settings, self._read_exact, self._send_continue, expects)
        try:
            handler = self.env.router.resolve(self.command, info.path)
            response = handler(exchange)
            self._input_clean = exchange.body_read or "content-length" not in headers
            self._send(response, head_only=self.command == "HEAD", request_id=info.request_id)
        except HttpError as exc:
            # After a framing error (400, 411, 413) the rest of the stream cannot be trusted.
            framing_error = exc.status in (400, 411, 413)
            self._input_clean = exchange.body_read or (
                not framing_error and self._discard_body(headers, exchange.expects_continue)
            )
            self._refuse(exc, exchange.info)
        except TimeoutError:
            self._refuse(HttpError(408, "request body not received in time"), exchange.info)
            return False
        except OSError as exc:
            log.debug("connection %s:%s failed mid-request: %s", *self.client_address, exc)
            return False
        except Exception:
            incident = uuid.uuid4().hex[:12]
            log.exception("internal error serving %s %s (incident %s)", self.command, info.path, incident)
            self._input_clean = exchange.body_read
            self.close_connection = True
            failure = Response.text(500, f"internal error (incident {incident})")
            self._send(failure, request_id=info.request_id)
        return not self.close_connection

    # -- reading ----------------------------------------------------------------------------

    def _read_exact(self, length: int) -> bytes:
        data = self.rfile.read(length)
        if len(data) != length:
            self.close_connection = True
            raise HttpError(400, "request body shorter than Content-Length")
        return data

    def _send_continue(self) -> None:
        self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _discard_body(self, headers: HeaderMap, waiting_for_continue: bool) -> bool:
        """Read and drop a small refused body so keep-alive survives; False if not worth it."""
        if "content-length" not in headers and "transfer-encoding" not in headers:
            return True  # nothing was sent after the headers
        if waiting_for_continue:
            return False  # the client may or may not send it now; only closing is unambiguous
        try:
            length = content_length(headers, self.settings.discard_body_bytes)
        except HttpError:
            return False
        try:
            return len(self.rfile.read(length)) == length
        except (OSError, ValueError):
            return False

    # -- answering --------------------------------------------------------------------------

    def _refuse(self, error: HttpError, info: RequestInfo | None = None) -> None:
        info = info or self._request_info(HeaderMap([]))
        try:
            self.env.app.on_refused(info, error.status)
        except Exception:  # auditing trouble must not change the answer
            log.exception("on_refused failed for %s %s", info.method, info.path)
        self._send(Response.text(error.status, error.message, error.headers), request_id=info.request_id)

    def parse_request(self) -> bool:
        """Parse the request line and headers (replaces the stdlib's, which runs every request
        through the e-mail parser: the largest single cost of a small call).

        Sets ``command``, ``path``, ``request_version``, ``close_connection`` and ``headers`` (a
        list of name/value pairs); answers 400, 431 or 505 itself and returns False on bad input.
        """
        line = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        self.requestline = line
        words = line.split()
        if len(words) != 3 or not words[2].startswith("HTTP/"):
            self.send_error(400, "bad request line")
            return False
        command, path, version = words
        major, dot, minor = version[5:].partition(".")
        if not (dot and major.isdigit() and minor.isdigit()):
            self.send_error(400, "bad HTTP version")
            return False
        if int(major) != 1:
            self.send_error(505, "HTTP version not supported")
            return False
        self.command, self.path, self.request_version = command, path, version
        headers: list[tuple[str, str]] = []
        while True:
            raw = self.rfile.readline(_MAX_HEADER_LINE + 1)
            if len(raw) > _MAX_HEADER_LINE:
                self.send_error(431, "header line too long")
                return False
            if raw in (b"\r\n", b"\n", b""):
                break
            if len(headers) >= _MAX_HEADERS:
                self.send_error(431, "too many headers")
                return False
            name, colon, value = str(raw, "iso-8859-1").partition(":")
            if not colon or not name or name != name.strip() or raw[:1] in (b" ", b"\t"):
                self.send_error(400, "malformed header line")
                return False
            headers.append((name, value.strip()))
        self.headers = headers  # type: ignore[assignment]
        connection = next((v.lower() for n, v in headers if n.lower() == "connection"), "")
        if "close" in connection:
            self.close_connection = True
        elif int(minor) >= 1:
            self.close_connection = False
        else:
            self.close_connection = "keep-alive" not in connection
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer parse errors from ``parse_request`` in plain text (never HTML)."""
        self.close_connection = True
        self._refuse(HttpError(int(code), message or ""))

    def handle_expect_100(self) -> bool:
        """Defer ``100 Continue`` until the route has checked credentials and size."""
        return True

    def _send(self, response: Response, *, head_only: bool = False, request_id: str = "") -> None:
        if not self._input_clean or self.env.draining.is_set():
            self.close_connection = True
        lines = [
            f"{self.protocol_version} {response.status} {reason_phrase(response.status)}",
            f"Server: {self.settings.server_name}",
            f"Date: {_http_date()}",
            f"Content-Type: {response.content_type}",
            f"Content-Length: {len(response.body)}",
            "X-Content-Type-Options: nosniff",
        ]
        if request_id:
            lines.append(f"X-Request-Id: {request_id}")
        lines.extend(f"{name}: {value}" for name, value in response.headers)
        if self.close_connection:
            lines.append("Connection: close")
        elif self.request_version == "HTTP/1.0":
            lines.append("Connection: keep-alive")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        self.wfile.write(head if head_only else head + response.body)

    # -- bookkeeping ------------------------------------------------------------------------

    def _request_info(self, headers: HeaderMap) -> RequestInfo:
        target = self.path or ""
        path = (urlsplit(target).path if target else "") or ("/" if target else "")
        offered = headers.get("x-request-id", "")
        return RequestInfo(
            peer=self.client_address,
            method=(self.command or "")[:16],
            path=path[:256],
            request_id=offered if _REQUEST_ID.fullmatch(offered) else _next_request_id(),
            peer_cert_cn=self.peer_cert_cn,
            tls=self.env.tls_context is not None,
            headers={name: headers[name][:256] for name in _SAFE_HEADERS if name in headers},
        )

    def _enter(self, state: ConnState) -> bool:
        return self.tracked is None or self.tracked.enter(state)

    def _close(self) -> None:
        sock = self.connection
        if not self._input_clean and self._reader is not None:
            self._linger(sock)
        with contextlib.suppress(OSError):
            sock.close()

    def _linger(self, sock: socket.socket) -> None:
        # Closing with unread input makes the kernel send a reset, which can destroy the answer
        # before the client reads it: stop sending, then swallow input briefly.
        assert self._reader is not None
        with contextlib.suppress(OSError, ValueError):
            socket.socket.shutdown(sock, socket.SHUT_WR)
            self._reader.expire_in(_LINGER_SECONDS)
            budget = 256 * 1024
            while budget > 0 and (chunk := self.rfile.read1(16 * 1024)):
                budget -= len(chunk)

    def version_string(self) -> str:
        """The ``Server`` header: the product name only, never the Python version."""
        return self.settings.server_name

    def log_message(self, format: str, *args: object) -> None:
        """Route the base class's messages to ``xrsched.server`` instead of stderr."""
        log.debug("%s:%s " + format, *self.client_address, *args)


def _common_name(cert: dict[str, object] | None) -> str | None:
    for rdn in (cert or {}).get("subject", ()):  # type: ignore[attr-defined]
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None
