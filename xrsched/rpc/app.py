"""The narrow interface between the HTTP transport and the rest of the server.

The transport (:mod:`xrsched.rpc.http_server`, :mod:`xrsched.rpc.handler`) knows HTTP, TLS,
timeouts and body limits and nothing else; everything it needs from the scheduler side goes
through an :class:`Application`: who is calling, what to answer to an XML-RPC body or a
luigid-style ``/api/`` call, how healthy the server is, and which requests were refused (so
that they reach the audit log too).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from xrsched.health import HealthReport


#: Who is at the other end: (host, port) over TCP; over a Unix socket a text such as
#: ``"unix:/run/xrsched.sock pid=4242 uid=1000"``.
Peer = tuple[str, int] | str


def peer_text(peer: Peer | None) -> str | None:
    """The peer as one string for logs and the audit log: ``host:port`` or the Unix label."""
    if peer is None or isinstance(peer, str):
        return peer
    return f"{peer[0]}:{peer[1]}"


@dataclass(slots=True)
class RequestInfo:
    """What the transport knows about one HTTP request, safe to log and audit.

    ``headers`` is a small allow-listed subset (never ``Authorization`` or cookies);
    ``identity`` is whatever :meth:`Application.authenticate` returned, or None before
    authentication or when the request needed none; ``via`` is ``"dashboard"`` when the
    credentials were a dashboard session cookie (the audit record says so). The handler sets
    ``identity`` once it has authenticated the request, before the application sees it.
    """

    peer: Peer
    method: str
    path: str
    request_id: str
    identity: object | None = None
    peer_cert_cn: str | None = None
    tls: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)
    via: str = ""


@dataclass(frozen=True)
class RpcResult:
    """The answer to one XML-RPC body: a ``200`` with bytes to send, or an HTTP error.

    An HTTP error (for example ``503`` when the changes a call made cannot be made durable)
    is sent as a short plain-text ``message``; the application audits such refusals itself
    (the transport does not call ``on_refused`` for them). The body was read in full, so the
    connection stays open.
    """

    status: int = 200
    body: bytes = b""
    content_type: str = "text/xml; charset=utf-8"
    message: str = ""
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def ok(cls, body: bytes) -> RpcResult:
        """A ``200`` carrying an XML-RPC methodResponse."""
        return cls(status=200, body=body)

    @classmethod
    def error(cls, status: int, message: str) -> RpcResult:
        """An HTTP-level refusal with a short plain-text reason."""
        return cls(status=status, message=message)


@runtime_checkable
class Application(Protocol):
    """What the HTTP transport calls. One instance serves every connection thread."""

    def authenticate(
        self, headers: Mapping[str, str], peer_cert_cn: str | None, *, peer: Peer | None = None
    ) -> object | None:
        """Return the caller's identity, or None when the credentials are missing or wrong."""
        ...

    def handle_rpc(self, body: bytes, request: RequestInfo) -> RpcResult:
        """Answer one XML-RPC request body (``Content-Encoding`` already undone, within limits)."""
        ...

    def handle_api(self, method: str, data: str | None, request: RequestInfo, *, read_only: bool) -> RpcResult:
        """Answer ``/api/<method>`` (luigid's JSON codec): ``data`` is the JSON of the keyword
        arguments (None when absent); ``read_only`` refuses methods that change state (GET)."""
        ...

    def health(self) -> HealthReport:
        """Describe the server for ``GET /health``."""
        ...

    def on_refused(self, request: RequestInfo, status: int) -> None:
        """Record a request the transport refused (401, 404, 405, 411, 413, 415, 503, ...)."""
        ...
