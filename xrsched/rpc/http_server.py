"""The threaded HTTP/1.1 + TLS server: accepts connections and gives each a bounded thread.

Built on ``socketserver.TCPServer`` for binding and the accept loop; everything after
``accept()`` is ours. The accept thread never blocks on a client: the TLS handshake and
every read happen in the connection's own thread (:mod:`xrsched.rpc.connection`), and a
full pool is answered from a small overflow of short-lived threads (:mod:`xrsched.rpc.pool`).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Callable
from types import TracebackType

from xrsched.rpc.app import Application
from xrsched.rpc.connection import Connection, ServerEnv
from xrsched.rpc.http_settings import HttpSettings
from xrsched.rpc.pool import ConnectionPool, Tracked
from xrsched.rpc.routes import Router, default_router

log = logging.getLogger("xrsched.server")
_DROP_LOG_INTERVAL = 10.0


class _Listener(socketserver.TCPServer):
    """Binding, listening and the accept loop; hands every accepted socket to its owner."""

    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], owner: RpcHttpServer, backlog: int) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.request_queue_size = backlog
        self._owner = owner
        super().__init__(address, socketserver.BaseRequestHandler, bind_and_activate=False)
        try:
            self.server_bind()
            self.server_activate()
        except BaseException:
            self.server_close()
            raise

    def process_request(self, request: socket.socket, client_address: tuple[str, int]) -> None:  # type: ignore[override]
        """Admission instead of the base class's serve-inline behaviour."""
        self._owner._admit(request, client_address)

    def handle_error(self, request: object, client_address: object) -> None:
        """Log instead of printing a traceback to stderr."""
        log.exception("error while accepting a connection from %s", client_address)


class RpcHttpServer:
    """XML-RPC (and friends) over HTTP/1.1, with TLS when given a server context.

    ``tls_context`` comes from :func:`xrsched.tls.server_context`; None serves plain HTTP
    (for ``--no-tls`` behind a terminating proxy). ``router`` defaults to
    :func:`~xrsched.rpc.routes.default_router`.
    """

    def __init__(
        self,
        address: tuple[str, int],
        app: Application,
        *,
        tls_context: ssl.SSLContext | None,
        settings: HttpSettings | None = None,
        router: Router | None = None,
    ) -> None:
        self.settings = settings or HttpSettings()
        self._env = ServerEnv(
            app=app, router=router or default_router(), settings=self.settings, tls_context=tls_context
        )
        self._pool = ConnectionPool(self.settings.max_connections, self.settings.overflow_connections)
        self._listener = _Listener(address, self, self.settings.listen_backlog)
        self._serving = False
        self._closed = False
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._dropped = 0
        self._drop_logged_at = -_DROP_LOG_INTERVAL

    @property
    def server_address(self) -> tuple[str, int]:
        """The bound (host, port); the port is the real one when 0 was asked for."""
        host, port = self._listener.socket.getsockname()[:2]
        return str(host), int(port)

    @property
    def tls_enabled(self) -> bool:
        """Whether connections are TLS."""
        return self._env.tls_context is not None

    @property
    def active_connections(self) -> int:
        """Connections holding a slot right now (handshaking, idle or busy)."""
        return len(self._pool)

    def replace_tls_context(self, context: ssl.SSLContext) -> None:
        """Use ``context`` for connections accepted from now on (certificate reload on SIGHUP).

        Connections already open keep the context they were accepted with. A plain-HTTP
        server cannot be switched to TLS this way.
        """
        if self._env.tls_context is None:
            raise RuntimeError("this server speaks plain HTTP; restart it to enable TLS")
        self._env.tls_context = context  # one attribute store: connection threads see old or new

    def serve_forever(self, poll_interval: float = 0.1) -> None:
        """Accept connections until :meth:`shutdown` (blocks the calling thread)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the server was shut down")
            self._serving = True
        log.info("serving on %s:%s (%s)", *self.server_address, "TLS" if self.tls_enabled else "plain HTTP")
        self._listener.serve_forever(poll_interval)

    def start(self) -> threading.Thread:
        """Run :meth:`serve_forever` in a daemon thread (tests, embedding) and return it."""
        with self._lock:
            if self._thread is not None or self._closed:
                raise RuntimeError("the server was already started or shut down")
            self._serving = True  # set before the thread runs so shutdown() always waits for it
            self._thread = threading.Thread(target=self.serve_forever, name="xrsched-accept", daemon=True)
        self._thread.start()
        return self._thread

    def shutdown(self, grace_seconds: float = 10.0) -> bool:
        """Stop accepting, close idle connections and let in-flight requests finish.

        Requests still running after ``grace_seconds`` have their connections closed.
        Returns True when every connection ended within the grace period.
        """
        with self._lock:
            if self._closed:
                return True
            self._closed = True
            serving = self._serving
        self._env.draining.set()
        if serving:
            self._listener.shutdown()
        self._listener.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        self._pool.evict_all_idle()
        finished = self._pool.wait_empty(max(grace_seconds, 0.0))
        if not finished:
            log.warning("closing %d connections still busy after %.1fs", len(self._pool), grace_seconds)
            self._pool.evict_everyone()
            self._pool.wait_empty(2.0)
        return finished

    def __enter__(self) -> RpcHttpServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.shutdown(grace_seconds=0.0)

    # -- admission (runs on the accept thread: must never block) --------------------------

    def _admit(self, sock: socket.socket, peer: tuple[str, int]) -> None:
        tracked = self._pool.try_admit(sock)
        if tracked is not None:
            self._spawn(self._serve, sock, peer, tracked)
            return
        self._pool.evict_oldest()
        if self._pool.reserve_waiter():
            self._spawn(self._wait_then_serve, sock, peer)
            return
        with contextlib.suppress(OSError):
            sock.close()
        self._dropped += 1
        now = time.monotonic()
        if now - self._drop_logged_at >= _DROP_LOG_INTERVAL:  # one line per interval, not per attack packet
            log.warning("dropped %d connections: pool and overflow are full (last from %s)", self._dropped, peer[0])
            self._dropped, self._drop_logged_at = 0, now

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        threading.Thread(target=target, args=args, name="xrsched-conn", daemon=True).start()

    def _serve(self, sock: socket.socket, peer: tuple[str, int], tracked: Tracked) -> None:
        try:
            Connection(sock, peer, self._env, tracked).run()
        finally:
            self._pool.release(tracked)

    def _wait_then_serve(self, sock: socket.socket, peer: tuple[str, int]) -> None:
        tracked = self._pool.wait_admit(sock, self.settings.admission_wait)
        if tracked is not None:
            self._serve(sock, peer, tracked)
            return
        try:
            log.info("refusing %s:%s with 503: all connection slots are busy", *peer[:2])
            Connection(sock, peer, self._env, None, busy=True).run()
        finally:
            self._pool.release_waiter()
