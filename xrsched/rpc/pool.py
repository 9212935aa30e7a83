"""Admission control for connection threads: a bounded pool whose idle members can be evicted.

Each served connection holds one slot for its whole life. A connection that is only
waiting (for its TLS handshake or for the next keep-alive request) is *evictable*: when
the pool is full, the oldest such connection is closed so that a client with something
to say gets its slot. Connections in the middle of a request are never evicted; they are
bounded by the read and write timeouts instead.
"""

from __future__ import annotations

import contextlib
import enum
import itertools
import socket
import threading
import time


class ConnState(enum.Enum):
    """Where a connection is in its life."""

    HANDSHAKE = "handshake"
    IDLE = "idle"
    ACTIVE = "active"
    CLOSED = "closed"


_EVICTABLE = (ConnState.HANDSHAKE, ConnState.IDLE)
# A legitimate client finishes its handshake, or sends its next keep-alive request, well
# within this; evicting sooner would mostly hit clients that are about to speak.
EVICTABLE_AFTER = 0.5
_RECHECK = 0.1
_ids = itertools.count(1)


class Tracked:
    """One admitted connection's state, shared between its thread and the evicting thread.

    ``state``, ``since`` (``time.monotonic()`` when it was entered) and ``socket`` (TLS-wrapped
    once the handshake started) are written under the lock and may be read without it.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.ident = next(_ids)
        self._lock = threading.Lock()
        self.socket = sock
        self.state = ConnState.HANDSHAKE
        self.since = time.monotonic()
        self._evicted = False

    def replace_socket(self, sock: socket.socket) -> None:
        """Track the TLS-wrapped socket instead of the plain one."""
        with self._lock:
            self.socket = sock

    def enter(self, state: ConnState) -> bool:
        """Move to ``state``; False if the connection was evicted meanwhile (then stop)."""
        with self._lock:
            if self._evicted:
                return False
            self.state = state
            self.since = time.monotonic()
            return True

    def mark_closed(self) -> None:
        """The owning thread is done with the socket; nothing may evict it any more."""
        with self._lock:
            self.state = ConnState.CLOSED

    def evict(self, *, only_if_evictable: bool = True) -> bool:
        """Wake the owning thread by shutting the socket down; True if this connection was hit."""
        with self._lock:
            if self.state is ConnState.CLOSED or self._evicted:
                return False
            if only_if_evictable and self.state not in _EVICTABLE:
                return False
            self._evicted = True
            sock = self.socket
        # The base-class shutdown works on a TLS socket too and, unlike SSLSocket.shutdown,
        # does not touch the SSL object another thread may be using right now.
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        return True


class ConnectionPool:
    """Counts served connections and waiting newcomers; picks connections to evict."""

    def __init__(self, limit: int, overflow: int) -> None:
        self._limit = limit
        self._overflow = overflow
        self._cond = threading.Condition()
        self._members: dict[int, Tracked] = {}
        self._waiters = 0

    def __len__(self) -> int:
        with self._cond:
            return len(self._members)

    def sockets(self) -> list[socket.socket]:
        """The sockets of the connections holding a slot."""
        with self._cond:
            return [member.socket for member in self._members.values()]

    def try_admit(self, sock: socket.socket) -> Tracked | None:
        """Take a slot now if one is free."""
        with self._cond:
            return self._admit_locked(sock)

    def reserve_waiter(self) -> bool:
        """Count one more newcomer waiting for a slot; False when the overflow is full too."""
        with self._cond:
            if self._waiters >= self._overflow:
                return False
            self._waiters += 1
            return True

    def wait_admit(self, sock: socket.socket, timeout: float) -> Tracked | None:
        """As a reserved waiter, wait up to ``timeout`` for a slot, evicting idlers meanwhile.

        On success the waiter reservation ends; on failure the caller still holds it while it
        sends its refusal, and ends it with :meth:`release_waiter`.
        """
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                tracked = self._admit_locked(sock)
                remaining = deadline - time.monotonic()
                if tracked is None and remaining > 0:
                    self._cond.wait(min(remaining, _RECHECK))
                    tracked = self._admit_locked(sock)
                if tracked is not None:
                    self._waiters -= 1
                    return tracked
                if remaining <= 0:
                    return None
            self.evict_oldest()

    def release_waiter(self) -> None:
        """End a waiter reservation that did not turn into a slot."""
        with self._cond:
            self._waiters -= 1

    def release(self, tracked: Tracked) -> None:
        """Give the slot back (the connection is closed)."""
        tracked.mark_closed()
        with self._cond:
            self._members.pop(tracked.ident, None)
            self._cond.notify_all()

    def evict_oldest(self) -> bool:
        """Close the connection that has waited longest (at least EVICTABLE_AFTER) without a request."""
        cutoff = time.monotonic() - EVICTABLE_AFTER
        with self._cond:
            candidates = sorted(
                (m for m in self._members.values() if m.state in _EVICTABLE and m.since <= cutoff),
                key=lambda m: m.since,
            )
        return any(member.evict() for member in candidates)

    def evict_all_idle(self) -> int:
        """Close every connection that is not in the middle of a request; return how many."""
        with self._cond:
            members = list(self._members.values())
        return sum(1 for member in members if member.evict())

    def evict_everyone(self) -> int:
        """Close every connection, busy or not (end of a graceful stop's grace period)."""
        with self._cond:
            members = list(self._members.values())
        return sum(1 for member in members if member.evict(only_if_evictable=False))

    def wait_empty(self, timeout: float) -> bool:
        """Block until no connection is served (True) or ``timeout`` passes (False)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._members:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def _admit_locked(self, sock: socket.socket) -> Tracked | None:
        if len(self._members) >= self._limit:
            return None
        tracked = Tracked(sock)
        self._members[tracked.ident] = tracked
        return tracked
