"""The client's HTTP side: ``xmlrpc.client.SafeTransport`` with the hardening in its hooks.

Each override's docstring says what the stdlib does there that we cannot accept (README,
"Clients", lists them). The TLS context comes from :func:`xrsched.tls.client_context`;
``http://`` URLs use a plain connection from the same class, and ``unix:/path/to/socket`` URLs
(a server's ``--unix-socket``) plain HTTP over that socket file.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import os
import select
import socket
import ssl
import threading
import weakref
import xmlrpc.client
from dataclasses import dataclass
from typing import Any

from xrsched import __version__
from xrsched.auth.tokenwatch import TokenFileWatcher
from xrsched.client.answers import DISCONNECTS, check_framing, inflate, read_capped, refusal, transport_error
from xrsched.client.endpoint import ClientStats, Endpoint, TransportSettings, printable
from xrsched.client.errors import AuthenticationFailed, ClientError, MalformedResponse, SchedulerFault
from xrsched.client.head import LeanResponse
from xrsched.client.wire import decode_response
from xrsched.requestid import valid_request_id
from xrsched.rpc.httpmsg import XML_TYPES
from xrsched.tls import client_context

_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
log = logging.getLogger("xrsched.client")


class _Stale(Exception):
    """A kept connection turned out to be closed before any answer arrived."""


@dataclass(eq=False)
class _Slot:
    """One thread's connection, and whether a call is using it (changed under the transport's lock)."""

    conn: http.client.HTTPConnection
    pid: int
    busy: bool = False
    close_after_use: bool = False
    reused: bool = False


class _HttpConnection(http.client.HTTPConnection):
    """Plain HTTP; answers read by :class:`~xrsched.client.head.LeanResponse`."""

    response_class = LeanResponse


class _HttpsConnection(http.client.HTTPSConnection):
    """TLS; answers read by :class:`~xrsched.client.head.LeanResponse`."""

    response_class = LeanResponse


class _UnixConnection(_HttpConnection):
    """Plain HTTP over a server's Unix socket file."""

    def __init__(self, socket_path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self) -> None:
        """``http.client`` connects over TCP only: here ``AF_UNIX`` to the socket file, within
        the timeout; an error names the file."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError as exc:
            sock.close()
            if isinstance(exc, TimeoutError) or exc.errno is None:
                raise
            raise type(exc)(exc.errno, exc.strerror, self.socket_path) from None
        self.sock = sock


class SchedulerTransport(xmlrpc.client.SafeTransport):
    """Carries XML-RPC bodies to one scheduler over per-thread keep-alive connections."""

    user_agent = f"xrsched-client/{__version__}"

    def __init__(
        self,
        url: str,
        token: str | None,
        settings: TransportSettings | None = None,
        *,
        stats: ClientStats | None = None,
        token_watch: TokenFileWatcher | None = None,
    ) -> None:
        self.url = url
        self.endpoint = Endpoint.parse(url)
        self.settings = settings or TransportSettings()
        s = self.settings
        context = None
        if self.endpoint.scheme == "https":
            context = client_context(s.ca, verify=s.verify, cert=s.client_cert, key=s.client_key)
        super().__init__(context=context)
        self._token = token
        if context is None and token is not None and self.endpoint.host not in _LOOPBACK:
            log.warning("sending the token to %s over plain HTTP; use https://", self.endpoint.host)
        self._fixed_head = _fixed_head(self.endpoint, token, self.user_agent)
        #: Where the token came from, when a file: re-read when it changes (token rotation).
        self.token_watch = token_watch
        self.stats = stats if stats is not None else ClientStats()  # shared by a client's URLs
        self._local = threading.local()
        self._slots: weakref.WeakSet[_Slot] = weakref.WeakSet()
        self._lock = threading.Lock()

    # -- pickling: settings and credentials cross, sockets and locks do not ---------------------

    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url, "token": self._token, "settings": self.settings, "watch": self.token_watch}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["url"], state["token"], state["settings"], token_watch=state.get("watch"))  # type: ignore[misc]

    def _follow_token_file(self, *, force: bool = False) -> bool:
        """Take a changed ``--token-file``'s new secret into the fixed head; True if it changed."""
        watch = self.token_watch
        if watch is None or not watch.refresh(force=force):
            return False
        self._fixed_head = _fixed_head(self.endpoint, watch.secret, self.user_agent)
        self._token = watch.secret
        return True

    # -- connections ------------------------------------------------------------------------------

    def _slot(self) -> _Slot:
        slot: _Slot | None = getattr(self._local, "slot", None)
        if slot is None or slot.pid != os.getpid():
            # A slot inherited through fork holds the parent's socket and TLS state: forget it
            # (closing would send a TLS close_notify on the parent's connection).
            slot = _Slot(self._new_connection(), os.getpid())
            self._local.slot = slot
            with self._lock:
                self._slots.add(slot)
        return slot

    def _new_connection(self) -> http.client.HTTPConnection:
        e, timeout = self.endpoint, self.settings.connect_timeout
        if e.socket_path is not None:
            return _UnixConnection(e.socket_path, timeout)
        if self.context is None:
            return _HttpConnection(e.host, e.port, timeout=timeout)
        return _HttpsConnection(e.host, e.port, timeout=timeout, context=self.context)

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        """The stdlib shares one connection between threads, with one timeout, never checked
        before reuse, and speaks TCP only: here one per thread (to the socket file for a
        ``unix:`` URL), connected within ``connect_timeout``, reads bounded by ``read_timeout``,
        replaced when the server dropped it while it sat idle."""
        slot = self._slot()
        conn = slot.conn
        slot.reused = conn.sock is not None
        if slot.reused and _dropped(conn.sock):
            conn.close()
            slot.reused = False
        if conn.sock is None:
            try:
                conn.connect()
            except Exception as exc:
                conn.close()
                raise transport_error(exc, "while connecting") from exc
            conn.sock.settimeout(self.settings.read_timeout)
            self.stats.add("connections_opened")
        return conn

    def close(self) -> None:
        """The stdlib closes its one connection: here every thread's; a connection in the middle
        of another thread's call is closed when that call ends, so closing never breaks a call."""
        with self._lock:  # held so no thread starts a call on a connection being closed
            for slot in list(self._slots):
                if slot.busy:
                    slot.close_after_use = True
                else:
                    with contextlib.suppress(Exception):
                        slot.conn.close()

    def close_own(self) -> None:
        """Close the calling thread's connection, if it has one: a client that moved on to another
        scheduler URL keeps one connection per thread, not one per thread and URL."""
        slot: _Slot | None = getattr(self._local, "slot", None)
        if slot is not None and slot.pid == os.getpid() and not slot.busy:
            slot.conn.close()

    def open_connections(self) -> int:
        """How many of this transport's connections are open now."""
        with self._lock:
            return sum(1 for slot in self._slots if slot.conn.sock is not None)

    # -- one exchange ---------------------------------------------------------------------------

    def request(self, host: Any, handler: str, request_body: bytes, verbose: bool = False, *,
                request_id: str | None = None) -> tuple[Any, ...]:  # fmt: skip
        """The stdlib resends only after some errno values (not a TLS EOF), even on a fresh
        connection: here once, only when a kept connection was closed before any answer.
        ``request_id`` goes into the ``X-Request-Id`` header. A token read from a file is
        re-read when the file changed (looked at once a second, and after a 401: then the call
        is sent once more with the new token)."""
        if request_id is not None and not valid_request_id(request_id):  # a header line: the server's rule
            raise ValueError("request ids must be 1-128 characters of [A-Za-z0-9._:-]")
        self._local.request_id = request_id
        slot = self._slot()
        with self._lock:
            slot.busy = True
        self._follow_token_file()
        try:
            try:
                return self.single_request(host, handler, request_body, verbose)
            except _Stale:
                return self.single_request(host, handler, request_body, verbose)
            except AuthenticationFailed:
                if not self._follow_token_file(force=True):
                    raise
                return self.single_request(host, handler, request_body, verbose)  # once, with the new token
        finally:
            with self._lock:
                slot.busy = False
                if slot.close_after_use:
                    slot.close_after_use = False
                    slot.conn.close()

    def single_request(self, host: Any, handler: str, request_body: bytes, verbose: bool = False) -> tuple[Any, ...]:
        """The stdlib raises a bare ProtocolError for any non-200 and closes every connection on
        any error: here typed ClientErrors that name the cause, and only this connection goes."""
        slot = self._slot()
        response = None
        try:
            conn = self.send_request(host, handler, request_body, verbose)  # make_connection is called there
            self.stats.add("requests_sent")
            response = _answer(conn)
            check_framing(response)
            if response.status == 200:
                return self.parse_response(response)
            raise refusal(response)
        except ClientError:
            if response is None or not response.isclosed():  # else read whole (a fault): still usable
                _drop(slot.conn, response)
            raise
        except Exception as exc:
            _drop(slot.conn, response)
            if slot.reused and response is None and isinstance(exc, DISCONNECTS):
                raise _Stale from exc
            raise transport_error(exc, "waiting for the answer") from exc

    def send_request(self, host: Any, handler: str, request_body: bytes, debug: bool = False) -> Any:
        """The stdlib writes the head line by line (``putrequest``/``putheader``, each line checked
        by regular expressions on every call), sends credentials only as Basic from the URL, no
        request id, and the head and the body in two writes (two TLS records, two wake-ups of the
        server): here the fixed lines with the Bearer token are built and checked once, and the
        head, with ``X-Request-Id``, leaves with the body in one write."""
        if not printable(handler):
            raise ValueError("the request path must be printable ASCII without blanks")
        request_id = getattr(self._local, "request_id", None)
        head = f"POST {handler} HTTP/1.1\r\n{self._fixed_head}"
        if request_id is not None:
            head += f"X-Request-Id: {request_id}\r\n"
        head += f"Content-Length: {len(request_body)}\r\n\r\n"
        connection = self.make_connection(host)
        connection.send(head.encode("ascii") + request_body)
        return connection

    def parse_response(self, response: http.client.HTTPResponse) -> tuple[Any, ...]:
        """The stdlib reads and gunzips without a limit and parses with its slow unmarshaller:
        here the answer is capped, must be XML, and is read by xrsched's fast parser."""
        media = (response.getheader("Content-Type") or "").split(";", 1)[0].strip().lower()
        if media not in XML_TYPES:
            raise MalformedResponse(f"the server answered with {media or 'no Content-Type'}, not XML")
        cap = self.settings.max_response_bytes
        body = inflate(read_capped(response, cap), response.getheader("Content-Encoding"), cap)
        value = decode_response(body)
        if isinstance(value, SchedulerFault):
            raise value
        return (value,)

    def get(self, path: str, accept: str) -> tuple[int, bytes]:
        """GET ``path`` (health probes): the status and the body, capped as answers are."""
        conn = self.make_connection(self.endpoint.host)
        try:
            headers = {"Accept": accept, "User-Agent": self.user_agent, "Connection": "close"}
            if self._token is not None:
                headers["Authorization"] = f"Bearer {self._token}"
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            check_framing(response)
            return response.status, read_capped(response, self.settings.max_response_bytes)
        except ClientError:
            raise
        except Exception as exc:
            raise transport_error(exc, "waiting for the answer") from exc
        finally:
            conn.close()


def _fixed_head(endpoint: Endpoint, token: str | None, user_agent: str) -> str:
    """The header lines every request carries, as ``http.client`` would write them."""
    if token is not None and not printable(token):
        raise ValueError("the token must be printable ASCII without blanks: an HTTP header cannot carry it")
    lines = [f"Host: {_host_field(endpoint)}", "Accept-Encoding: gzip", "Content-Type: text/xml",
             f"User-Agent: {user_agent}"]  # fmt: skip
    if token is not None:
        lines.append(f"Authorization: Bearer {token}")
    return "".join(f"{line}\r\n" for line in lines)


def _host_field(endpoint: Endpoint) -> str:
    """The ``Host`` value: IDNA-encoded, IPv6 in brackets, the port unless the scheme's default."""
    if endpoint.socket_path is not None:
        return "localhost"
    host = endpoint.host if endpoint.host.isascii() else endpoint.host.encode("idna").decode("ascii")
    if ":" in host:
        host = f"[{host}]"
    default = 443 if endpoint.scheme == "https" else 80
    return host if endpoint.port == default else f"{host}:{endpoint.port}"


def _answer(conn: http.client.HTTPConnection) -> http.client.HTTPResponse:
    """The answer to the request :meth:`SchedulerTransport.send_request` wrote (what
    ``getresponse`` does after ``putrequest``): its head read; a connection the server closes
    at the answer's end goes with it."""
    response = conn.response_class(conn.sock, method="POST")
    try:
        response.begin()
    except BaseException:
        response.close()
        raise
    if response.will_close:
        conn.close()  # the answer keeps its own reference to the socket until read
    return response


def _drop(conn: http.client.HTTPConnection, response: http.client.HTTPResponse | None) -> None:
    """Close a connection and the answer being read from it (``getresponse`` would have made
    the connection close both; the answer holds the socket open until it is closed)."""
    if response is not None:
        response.close()
    conn.close()


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
