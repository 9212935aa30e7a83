"""One connection's life, under deadlines: ``setup`` (TLS handshake in this thread), ``handle``
(the keep-alive loop and the evictable wait between requests), ``finish`` (linger, close).

The stdlib's ``StreamRequestHandler`` is built for a trusted network: it blocks on each
``recv`` with one timeout (a slowloris trickling a byte at a time is never cut off), does the
TLS handshake (if any) on the accept thread and closes at once with unread input. Every
blocking read here has a deadline: the handshake, the wait for the next request (idle), and
the whole of one request once its first byte arrived. Reading and routing the requests is
:class:`~xrsched.rpc.handler.RpcRequestHandler`'s part.
"""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import time
from typing import TYPE_CHECKING
from xmlrpc.server import SimpleXMLRPCRequestHandler

from xrsched.rpc.app import Peer, peer_text
from xrsched.rpc.httpmsg import common_name
from xrsched.rpc.pool import ConnState, Tracked
from xrsched.rpc.sockio import DeadlineReader, TimedWriter, refuse_plain_http

if TYPE_CHECKING:
    from xrsched.rpc.http_server import RpcHttpServer

log = logging.getLogger("xrsched.server")

_LINGER_SECONDS = 1.0
BUSY_SECONDS = 1.0  # a refused client gets this long to handshake and to send its request head


class ConnectionHandler(SimpleXMLRPCRequestHandler):
    """Serves one accepted socket until it closes, times out, is evicted or the server drains.

    ``tracked`` is the connection's slot in the server's pool (None for a refused newcomer);
    with ``busy=True`` the connection is refused: after a short handshake and a short wait for
    the request head it gets ``503`` with ``Retry-After`` and is closed.
    """

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: RpcHttpServer

    def __init__(
        self,
        request: socket.socket,
        client_address: Peer,
        server: RpcHttpServer,
        *,
        tracked: Tracked | None = None,
        busy: bool = False,
    ) -> None:
        self.tracked = tracked
        self.busy = busy
        self.settings = server.settings
        self.peer_cert_cn: str | None = None
        peer: Peer = (
            client_address if isinstance(client_address, str) else (str(client_address[0]), int(client_address[1]))
        )
        self.peer_label = peer_text(peer) or "?"
        self._reader: DeadlineReader | None = None
        self._input_clean = True  # False while unread request bytes may be waiting
        super().__init__(request, peer, server)

    def setup(self) -> None:
        """TLS handshake here, in the connection's thread, under a deadline; reads with
        whole-request deadlines (the stdlib makes plain files with one per-recv timeout)."""
        sock = self.connection = self.request
        if self.disable_nagle_algorithm and sock.family != socket.AF_UNIX:
            # An answer bigger than one TLS record (16 KiB) leaves in several writes; with Nagle's
            # algorithm the last one waits for the client's delayed ACK of the others: ~40 ms.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.server.tls_context is not None and not self._handshake():
            return
        self._reader = DeadlineReader(self.connection)
        self.rfile = io.BufferedReader(self._reader, 16 * 1024)
        self.wfile = TimedWriter(self.connection, self.settings.write_timeout)  # type: ignore[assignment]

    def _handshake(self) -> bool:
        """Wrap the socket in TLS and shake hands within ``handshake_timeout``; False on failure."""
        context = self.server.tls_context
        assert context is not None
        limit = self.settings.handshake_timeout
        deadline = time.monotonic() + (min(limit, BUSY_SECONDS) if self.busy else limit)
        try:
            if refuse_plain_http(self.request, deadline, self.settings.server_name):
                self.server.note_refused_connection("plain_http")
                return False
            self.request.settimeout(max(deadline - time.monotonic(), 0.001))  # one deadline for both steps
            sock = context.wrap_socket(self.request, server_side=True, do_handshake_on_connect=False)
            self.request = self.connection = sock
            if self.tracked is not None:
                self.tracked.replace_socket(sock)
            sock.do_handshake()
        except (OSError, ValueError) as exc:
            log.debug("TLS handshake with %s failed: %s", self.peer_label, exc)
            self.server.note_refused_connection("handshake")
            return False
        self.peer_cert_cn = common_name(sock.getpeercert())
        return True

    def handle(self) -> None:
        """Answer requests until the connection should close; resets and TLS errors end it
        quietly (the stdlib passes them to ``handle_error``, which prints a traceback)."""
        if self._reader is None:
            return  # the handshake failed
        try:
            super().handle()
        except (OSError, ValueError) as exc:  # resets, TLS errors, use after eviction
            log.debug("connection %s ended: %s", self.peer_label, exc)

    def wait_for_request(self) -> bool:
        """Wait for the next request's first byte within the idle timeout, evictable meanwhile;
        then start the request's own deadline. False when the connection should close."""
        assert self._reader is not None
        if not self._enter(ConnState.IDLE) or self.server.draining.is_set():
            return False
        self._reader.expire_in(BUSY_SECONDS if self.busy else self.settings.idle_timeout)
        try:
            if not self.rfile.peek(1):
                return False
        except TimeoutError:
            return False
        if not self._enter(ConnState.ACTIVE):
            return False
        self._input_clean = False
        self._reader.expire_in(BUSY_SECONDS if self.busy else self.settings.read_timeout)
        return True

    def finish(self) -> None:
        """Close the socket, first draining briefly if a request was left unread (the stdlib
        closes at once, and the kernel's reset can destroy the answer before it is read)."""
        sock = self.connection
        if not self._input_clean and self._reader is not None:
            self._linger(sock)
        with contextlib.suppress(OSError):
            sock.close()

    def version_string(self) -> str:
        """The ``Server`` header: the product name only (the stdlib adds the Python version)."""
        return self.settings.server_name

    def log_message(self, format: str, *args: object) -> None:
        """Route the base class's messages to ``xrsched.server`` (the stdlib writes to stderr)."""
        log.debug("%s " + format, self.peer_label, *args)

    def _enter(self, state: ConnState) -> bool:
        return self.tracked is None or self.tracked.enter(state)

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
