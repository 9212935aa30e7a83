"""The listener: a ``SimpleXMLRPCServer`` whose connections get bounded threads and TLS.

The stdlib's server serves one connection at a time (or, with ``ThreadingMixIn``, starts
an unbounded thread per connection) with a listen backlog of 5. Here the accept thread never
blocks on a client: ``process_request`` admits each socket into a bounded pool
(:mod:`xrsched.rpc.pool`) and starts its thread, and a full pool is answered from a small
overflow of short-lived threads. The TLS handshake and every read happen in the
connection's own thread (:class:`~xrsched.rpc.connection.ConnectionHandler`).

XML-RPC bodies go to the :class:`~xrsched.rpc.app.Application`, whose dispatcher (a
``SimpleXMLRPCDispatcher``, :class:`xrsched.rpc.dispatch.Dispatcher`) holds the methods:
the listener's own dispatcher half stays empty so that this module knows nothing of the
scheduler, and its tests drive it with a small application.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING
from xmlrpc.server import SimpleXMLRPCServer

from xrsched.rpc.app import Application, Peer, peer_text
from xrsched.rpc.handler import RpcRequestHandler
from xrsched.rpc.limits import HttpSettings, RequestLimits
from xrsched.rpc.pool import ConnectionPool, Tracked

if TYPE_CHECKING:
    from xrsched.dashboard.site import DashboardSite

log = logging.getLogger("xrsched.server")
_DROP_LOG_INTERVAL = 10.0


class RpcHttpServer(SimpleXMLRPCServer):
    """XML-RPC (and the health document) over HTTP/1.1, with TLS when given a server context.

    ``tls_context`` comes from :func:`xrsched.tls.server_context`; None serves plain HTTP
    (for ``--no-tls`` behind a terminating proxy). ``address`` is (host, port) here; the
    Unix-socket subclass (:mod:`xrsched.rpc.unix_server`) takes a path. ``dashboard`` serves
    the browser dashboard at ``/`` (None: not served).
    """

    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int] | str,
        app: Application,
        *,
        tls_context: ssl.SSLContext | None,
        settings: HttpSettings | None = None,
        dashboard: DashboardSite | None = None,
    ) -> None:
        self.app = app
        self.dashboard = dashboard
        self.settings = settings or HttpSettings()
        self.tls_context = tls_context
        self.body_limits = RequestLimits(
            max_request_bytes=self.settings.max_request_bytes,
            max_decompressed_bytes=self.settings.max_decompressed_bytes,
        )
        self.draining = threading.Event()
        self.address_family = self._family_for(address)
        self.request_queue_size = self.settings.listen_backlog
        self._pool = ConnectionPool(self.settings.max_connections, self.settings.overflow_connections)
        self._state_lock = threading.Lock()
        self._serving = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self._dropped = 0
        self._drop_logged_at = -_DROP_LOG_INTERVAL
        #: Told the reason of each connection refused before a request was read (the metrics).
        self.on_refused_connection: Callable[[str], None] | None = None
        super().__init__(
            address,
            RpcRequestHandler,
            logRequests=False,
            allow_none=False,
            encoding="utf-8",
            bind_and_activate=False,
            use_builtin_types=True,
        )
        try:
            self.server_bind()
            self.server_activate()
        except BaseException:
            self.server_close()
            raise

    def _family_for(self, address: tuple[str, int] | str) -> socket.AddressFamily:
        """IPv6 for a host with a colon, else IPv4 (the stdlib's class attribute is IPv4 only)."""
        return socket.AF_INET6 if ":" in address[0] else socket.AF_INET

    def describe(self) -> str:
        """Where this server listens, for log lines: ``host:port``."""
        host, port = self.server_address[:2]
        return f"{host}:{port}"

    def server_bind(self) -> None:
        """Keep ``server_address`` a (host, port) pair (the stdlib keeps IPv6's 4-tuple)."""
        super().server_bind()
        host, port = self.socket.getsockname()[:2]
        self.server_address = (str(host), int(port))

    @property
    def tls_enabled(self) -> bool:
        """Whether connections are TLS."""
        return self.tls_context is not None

    @property
    def active_connections(self) -> int:
        """Connections holding a slot right now (handshaking, idle or busy)."""
        return len(self._pool)

    def note_refused_connection(self, reason: str) -> None:
        """Report a connection refused before a request was read: ``busy`` (503, all slots
        busy), ``overflow`` (closed at once), ``plain_http`` or ``handshake``."""
        if self.on_refused_connection is not None:
            self.on_refused_connection(reason)

    def connection_sockets(self) -> list[socket.socket]:
        """The sockets of the connections holding a slot (for inspection)."""
        return self._pool.sockets()

    def replace_tls_context(self, context: ssl.SSLContext) -> None:
        """Use ``context`` for connections accepted from now on (certificate reload on SIGHUP).

        Connections already open keep the context they were accepted with. A plain-HTTP
        server cannot be switched to TLS this way.
        """
        if self.tls_context is None:
            raise RuntimeError("this server speaks plain HTTP; restart it to enable TLS")
        self.tls_context = context  # one attribute store: connection threads see old or new

    # -- running ----------------------------------------------------------------------------

    def serve_forever(self, poll_interval: float = 0.1) -> None:
        """Accept connections until :meth:`shutdown`; refuses to run after it (the stdlib
        would serve again on a closed socket)."""
        with self._state_lock:
            if self._closed:
                raise RuntimeError("the server was shut down")
            self._serving = True  # from here on the loop runs, so shutdown() must stop it
        log.info("serving on %s (%s)", self.describe(), "TLS" if self.tls_enabled else "plain HTTP")
        super().serve_forever(poll_interval)

    def start(self) -> threading.Thread:
        """Run :meth:`serve_forever` in a daemon thread (tests, embedding) and return it."""
        with self._state_lock:
            if self._thread is not None or self._closed:
                raise RuntimeError("the server was already started or shut down")
            self._thread = threading.Thread(target=self.serve_forever, name="xrsched-accept", daemon=True)
        self._thread.start()
        return self._thread

    def shutdown(self, grace_seconds: float = 10.0) -> bool:  # type: ignore[override]
        """Stop accepting, close idle connections and let in-flight requests finish (the
        stdlib only stops the accept loop).

        Requests still running after ``grace_seconds`` have their connections closed.
        Returns True when every connection ended within the grace period.
        """
        with self._state_lock:
            if self._closed:
                return True
            self._closed = True
            serving = self._serving
        self.draining.set()
        if serving:
            super().shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        self._pool.evict_all_idle()
        finished = self._pool.wait_empty(max(grace_seconds, 0.0))
        if not finished:
            log.warning("closing %d connections still busy after %.1fs", len(self._pool), grace_seconds)
            self._pool.evict_everyone()
            self._pool.wait_empty(2.0)
        return finished

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """A graceful stop with no grace (the stdlib only closes the listening socket)."""
        self.shutdown(grace_seconds=0.0)

    # -- socketserver's hooks (process_request runs on the accept thread: must never block) --

    def process_request(self, request: socket.socket, client_address: Peer) -> None:  # type: ignore[override]
        """Admit into the bounded pool, or the overflow, or drop (the stdlib serves inline)."""
        tracked = self._pool.try_admit(request)
        if tracked is not None:
            self._spawn(self._serve, request, client_address, tracked)
            return
        self._pool.evict_oldest()
        if self._pool.reserve_waiter():
            self._spawn(self._wait_then_serve, request, client_address)
            return
        with contextlib.suppress(OSError):
            request.close()
        self.note_refused_connection("overflow")
        self._dropped += 1
        now = time.monotonic()
        if now - self._drop_logged_at >= _DROP_LOG_INTERVAL:  # one line per interval, not per attack packet
            log.warning(
                "dropped %d connections: pool and overflow are full (last from %s)",
                self._dropped,
                peer_text(client_address),
            )
            self._dropped, self._drop_logged_at = 0, now

    def finish_request(  # type: ignore[override]
        self,
        request: socket.socket,
        client_address: Peer,
        *,
        tracked: Tracked | None = None,
        busy: bool = False,
    ) -> None:
        """Serve one connection, with its pool slot (the stdlib's handler knows no pool)."""
        RpcRequestHandler(request, client_address, self, tracked=tracked, busy=busy)

    def shutdown_request(self, request: socket.socket) -> None:  # type: ignore[override]
        """Only close: the handler already drained and closed its TLS socket (the stdlib
        shuts the socket down first, which would reset an unread request)."""
        with contextlib.suppress(OSError):
            request.close()

    def handle_error(self, request: object, client_address: object) -> None:
        """Log with a traceback to ``xrsched.server`` (the stdlib prints it to stderr)."""
        log.exception("connection %s failed unexpectedly", client_address)

    # -- connection threads -----------------------------------------------------------------

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        threading.Thread(target=target, args=args, name="xrsched-conn", daemon=True).start()

    def _serve(self, request: socket.socket, client_address: Peer, tracked: Tracked | None) -> None:
        try:
            self.finish_request(request, client_address, tracked=tracked, busy=tracked is None)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            if tracked is not None:
                self._pool.release(tracked)

    def _wait_then_serve(self, request: socket.socket, client_address: Peer) -> None:
        tracked = self._pool.wait_admit(request, self.settings.admission_wait)
        if tracked is not None:
            self._serve(request, client_address, tracked)
            return
        try:
            log.info("refusing %s with 503: all connection slots are busy", peer_text(client_address))
            self.note_refused_connection("busy")
            self._serve(request, client_address, None)
        finally:
            self._pool.release_waiter()
