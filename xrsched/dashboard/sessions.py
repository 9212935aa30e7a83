"""Sign-in sessions kept in memory: random ids, idle and absolute expiry, a bound on their number.

A session id is 32 random bytes from :mod:`secrets`; the store keys sessions by the SHA-256 of
the id, so the ids themselves are kept nowhere on the server (and a dictionary lookup's timing
says nothing about them). Every method takes ``now`` (epoch seconds): the caller reads the clock.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from xrsched.auth import Identity


@dataclass(frozen=True)
class Session:
    """One signed-in browser: who, its CSRF token, and when it ends."""

    key: str  # SHA-256 of the session id, hex
    identity: Identity
    csrf: str
    created: float
    last_used: float
    idle: float
    lifetime: float

    @property
    def expires(self) -> float:
        """When the session ends unless used again: the earlier of idle and absolute expiry."""
        return min(self.last_used + self.idle, self.created + self.lifetime)

    def csrf_matches(self, offered: str | None) -> bool:
        """Whether ``offered`` is this session's CSRF token (constant-time compare)."""
        return offered is not None and hmac.compare_digest(offered.encode(), self.csrf.encode())


def session_key(session_id: str) -> str:
    """How the store names the session whose cookie value is ``session_id``."""
    return hashlib.sha256(session_id.encode("utf-8", "replace")).hexdigest()


#: Sessions one identity may hold at once: a token's holder signing in again and again ends its
#: own oldest sessions, not everybody else's (which the global bound alone would do).
MAX_PER_IDENTITY = 32


class SessionStore:
    """Thread-safe in-memory sessions. At ``per_identity`` sessions an identity's oldest one is
    dropped, at ``max_sessions`` the oldest of all."""

    def __init__(
        self, *, idle: float, lifetime: float, max_sessions: int, per_identity: int = MAX_PER_IDENTITY
    ) -> None:
        self.idle = idle
        self.lifetime = lifetime
        self.max_sessions = max_sessions
        self.per_identity = per_identity
        self._lock = threading.Lock()
        self._sessions: OrderedDict[str, Session] = OrderedDict()  # creation order

    def __len__(self) -> int:
        return len(self._sessions)

    def create(self, identity: Identity, now: float) -> tuple[str, Session]:
        """A new session for ``identity``; returns its id (for the cookie, shown once) and it."""
        session_id = secrets.token_urlsafe(32)
        session = Session(
            key=session_key(session_id),
            identity=identity,
            csrf=secrets.token_urlsafe(32),
            created=now,
            last_used=now,
            idle=self.idle,
            lifetime=self.lifetime,
        )
        with self._lock:
            self._sweep(now)
            same = [key for key, held in self._sessions.items() if held.identity == identity]
            for key in same[: max(len(same) - self.per_identity + 1, 0)]:
                del self._sessions[key]
            while len(self._sessions) >= self.max_sessions:
                self._sessions.popitem(last=False)
            self._sessions[session.key] = session
        return session_id, session

    def use(self, session_id: str, now: float) -> Session | None:
        """The live session with this id, its idle timer restarted; None if unknown or expired."""
        key = session_key(session_id)
        with self._lock:
            session = self._sessions.get(key)
            if session is None:
                return None
            if now >= session.expires:
                del self._sessions[key]
                return None
            session = Session(
                key=key,
                identity=session.identity,
                csrf=session.csrf,
                created=session.created,
                last_used=max(now, session.last_used),
                idle=session.idle,
                lifetime=session.lifetime,
            )
            self._sessions[key] = session
            return session

    def end(self, session: Session) -> bool:
        """Sign out: forget ``session``; False if it was already gone."""
        with self._lock:
            return self._sessions.pop(session.key, None) is not None

    def retain(self, keep: Callable[[Identity], bool], now: float) -> int:
        """Drop expired sessions and those whose identity ``keep`` rejects (a revoked, expired
        or re-roled token); returns how many were dropped."""
        with self._lock:
            before = len(self._sessions)
            self._sweep(now)
            for key in [k for k, s in self._sessions.items() if not keep(s.identity)]:
                del self._sessions[key]
            return before - len(self._sessions)

    def _sweep(self, now: float) -> None:
        for key in [k for k, s in self._sessions.items() if now >= s.expires]:
            del self._sessions[key]
