"""DashboardSite: signs browsers in with a token, keeps their sessions, audits both.

The HTTP routes (:mod:`xrsched.dashboard.routes`) call it; it knows nothing of HTTP
framing. A sign-in is checked exactly as an ``Authorization`` header would be (the same
tokens, the same refusal log), so every kind of credential the server accepts on the API can
sign in; the session then carries that identity and role until it expires, its holder signs
out, or the server drops it because the token was revoked, expired or changed role.
"""

from __future__ import annotations

import base64
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from xrsched.audit import AuditLog
from xrsched.audit_fields import request_fields
from xrsched.auth import Identity
from xrsched.dashboard.limiter import FailureLimiter
from xrsched.dashboard.sessions import Session, SessionStore
from xrsched.dashboard.settings import DashboardSettings
from xrsched.dashboard.staticfiles import StaticFiles
from xrsched.dashboard.web import cookie_values
from xrsched.rpc.app import Peer, RequestInfo

SIGN_IN = "dashboard.sign_in"
SIGN_OUT = "dashboard.sign_out"
VIA = "dashboard"
MAX_TOKEN_LENGTH = 4096
#: Authenticate an ``Authorization`` header value from ``peer``: the server's own check.
Authenticator = Callable[[Mapping[str, str], Peer], "Identity | None"]


class DashboardError(Exception):
    """A dashboard request refused; ``message`` is safe to show."""

    def __init__(self, status: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


@dataclass(frozen=True)
class SignedIn:
    """A new session: its id goes into the cookie, never anywhere else."""

    session_id: str
    session: Session


class DashboardSite:
    """Static files, sessions, the sign-in limit and the audit records of the dashboard."""

    def __init__(
        self,
        settings: DashboardSettings,
        *,
        authenticate: Authenticator,
        audit: AuditLog,
        static: StaticFiles | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.static = static if static is not None else StaticFiles.scan()
        self.sessions = SessionStore(
            idle=settings.session_idle, lifetime=settings.session_max, max_sessions=settings.max_sessions
        )
        self._authenticate = authenticate
        self._audit = audit
        self._clock = clock
        self._limiter = FailureLimiter(settings.sign_in_attempts, settings.sign_in_window)

    def sign_in(self, token: object, request: RequestInfo) -> SignedIn:
        """Exchange a token (``SECRET`` or ``ID:SECRET``) for a new session; DashboardError 401
        for a wrong, expired or malformed one, 429 while this peer has failed too often."""
        started = time.perf_counter()
        now = self._clock()
        peer = _peer_key(request.peer)
        wait = self._limiter.retry_after(peer, now)
        if wait > 0:
            self._record(request, None, SIGN_IN, 429, started)
            retry = (("Retry-After", str(math.ceil(wait))),)
            raise DashboardError(429, "too many failed sign-ins from this address; try again later", retry)
        header = _authorization(token)
        identity = self._authenticate({"authorization": header}, request.peer) if header else None
        if not isinstance(identity, Identity):
            self._limiter.failed(peer, now)
            self._record(request, None, SIGN_IN, 401, started)
            raise DashboardError(401, "wrong or expired token")
        session_id, session = self.sessions.create(identity, now)
        self._record(request, identity, SIGN_IN, "ok", started)
        return SignedIn(session_id, session)

    def current(self, cookie_header: str | None) -> Session | None:
        """The live session named by the request's ``Cookie`` header (idle timer restarted)."""
        now = self._clock()
        for value in cookie_values(cookie_header):
            session = self.sessions.use(value, now)
            if session is not None:
                return session
        return None

    def sign_out(self, session: Session, request: RequestInfo) -> None:
        """End ``session`` and audit it."""
        started = time.perf_counter()
        self.sessions.end(session)
        self._record(request, session.identity, SIGN_OUT, "ok", started)

    def retain(self, keep: Callable[[Identity], bool]) -> int:
        """Drop expired sessions and those of identities ``keep`` rejects; how many went."""
        return self.sessions.retain(keep, self._clock())

    def _record(
        self, request: RequestInfo, identity: Identity | None, method: str, outcome: str | int, started: float
    ) -> None:
        duration_ms = (time.perf_counter() - started) * 1000.0
        fields = request_fields(request.peer, identity, method, outcome, duration_ms, request.request_id, via=VIA)
        self._audit.record(**fields)


def _authorization(token: object) -> str | None:
    """The ``Authorization`` header a client holding ``token`` would send; None if malformed."""
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_LENGTH:
        return None
    if not all(" " < ch <= "~" for ch in token):
        return None
    if ":" in token:  # ID:SECRET, as in a URL: HTTP Basic with the id as the user name
        return "Basic " + base64.b64encode(token.encode("ascii")).decode("ascii")
    return "Bearer " + token


def _peer_key(peer: Peer) -> str:
    """What the sign-in limit counts by: the host, or the Unix socket (every local process)."""
    if isinstance(peer, tuple):
        return peer[0]
    return peer.split(" pid=", 1)[0]
