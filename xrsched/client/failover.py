"""Several scheduler URLs for one client: which one it talks to, and when it moves on.

A leader and its standbys share one database (DESIGN §4c); a client is given all their URLs.
:class:`Cluster` holds one transport per URL and the URL in use, shared by every thread and
kept while it serves (sticky). A failed attempt moves it on when the URL is unreachable
(refused, reset, timed out, cut off) or answered 503 (a standby, or a leader shutting down):
to the leader a standby named, if that is one of the URLs, else to the next URL in the list.
A final fault (400, 403, 404, 409, ...), a 401, a 429 or a certificate that does not verify
never moves the client: another URL would not make the request right.

:class:`Route` is one logical call's way through the URLs, inside the client's usual retry
budget (:mod:`xrsched.client.retrying`): an attempt that moves to a URL this call has not yet
tried goes at once; once every URL has failed, the call backs off as one URL would. When the
budget runs out it raises :class:`~xrsched.client.errors.NoSchedulerAvailable` naming each URL.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from xrsched.client.endpoint import ClientStats, Endpoint
from xrsched.client.errors import ClientError, NoSchedulerAvailable, TransportError, Unavailable
from xrsched.client.proxy import SchedulerProxy
from xrsched.client.transport import SchedulerTransport

log = logging.getLogger("xrsched.client")

#: A standby's fault text (DESIGN §4c): ``standby; leader is <URL>`` or ``... is unknown``.
_LEADER = re.compile(r"standby; leader is (\S+)")


def move_reason(error: BaseException) -> str | None:
    """Why a failed attempt should move the client to another URL, or None if it should stay."""
    if isinstance(error, Unavailable):
        return error.message
    if isinstance(error, TransportError) and error.retryable:
        return error.message
    # A multicall whose entries were answered 503 is raised from one of those faults.
    if isinstance(error.__cause__, Unavailable):
        return error.__cause__.message
    return None


def named_leader(reason: str) -> str | None:
    """The leader URL a standby named in its answer, if it named one."""
    match = _LEADER.search(reason)
    if match is None or match.group(1) == "unknown":
        return None
    return match.group(1).rstrip(".;,")


@dataclass(frozen=True)
class Member:
    """One scheduler URL of a cluster and the connections to it."""

    url: str
    transport: SchedulerTransport
    proxy: SchedulerProxy

    def same_server(self, url: str) -> bool:
        """Whether ``url`` (as a standby advertises it: maybe without the path) names this server."""
        try:
            other = Endpoint.parse(url)
        except ValueError:
            return False
        mine = self.transport.endpoint
        return (other.scheme, other.host.lower(), other.port, other.socket_path) == (
            mine.scheme, mine.host.lower(), mine.port, mine.socket_path
        )  # fmt: skip


class Cluster:
    """The scheduler URLs of one client and the one in use, shared by its threads."""

    def __init__(self, transports: Sequence[SchedulerTransport], stats: ClientStats, current: int = 0) -> None:
        if not transports:
            raise ValueError("a client needs at least one scheduler URL")
        for transport in transports:
            transport.stats = stats
        self.members = tuple(Member(t.url, t, SchedulerProxy(t)) for t in transports)
        self.stats = stats
        self._current = current % len(self.members)
        #: Per member: whether it served a call since it last failed (all start trusted).
        self._served = [True] * len(self.members)
        self._lock = threading.Lock()
        self._local = threading.local()

    @property
    def current(self) -> Member:
        """The member calls go to now."""
        return self.members[self._current]

    @property
    def current_index(self) -> int:
        """The position of :attr:`current` in :attr:`members`."""
        return self._current

    def pick(self) -> Member:
        """The member for this thread's next attempt; if the client moved since this thread's
        last call, the thread's connection to the URL it left is closed."""
        index = self._current
        last = getattr(self._local, "index", None)
        if last is not None and last != index:
            self.members[last].transport.close_own()
        self._local.index = index
        return self.members[index]

    def served(self) -> None:
        """This thread's last attempt was served: a later move away from that URL is news."""
        self._served[self.in_use()] = True

    def in_use(self) -> int:
        """The index this thread's last attempt went to."""
        return getattr(self._local, "index", self._current)

    def move_on(self, used: int, error: ClientError) -> int:
        """After ``error`` on member ``used``: the index of the member the next attempt goes to.

        Moves the shared choice only if ``error`` calls for it and no other thread moved it
        since; the thread that moves logs the move, as a warning when it leaves a URL that had
        served (else at debug level: while no URL serves, going round them is the patience's to
        report, not one line per move)."""
        reason = move_reason(error)
        with self._lock:
            if reason is None or self._current != used:
                return self._current
            target = self._next(used, reason)
            self._current = target
            news, self._served[used] = self._served[used], False
        self.stats.add("failovers")
        log.log(logging.WARNING if news else logging.DEBUG, "scheduler %s failed (%s); moving to %s",
                self.members[used].url, reason, self.members[target].url)  # fmt: skip
        return target

    def _next(self, used: int, reason: str) -> int:
        leader = named_leader(reason)
        if leader is not None:
            for index, member in enumerate(self.members):
                if index != used and member.same_server(leader):
                    return index
        return (used + 1) % len(self.members)

    def close(self) -> None:
        """Close every member's connections."""
        for member in self.members:
            member.transport.close()


class Route:
    """One logical call's attempts across the cluster: how each URL failed, and whether the next
    attempt may go at once (to a URL this call has not tried yet) or must wait its backoff."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.failures: dict[int, str] = {}
        #: Whether the attempt after the last failure goes without waiting.
        self.at_once = False

    def failed(self, error: ClientError) -> None:
        """Note a failed attempt (of the calling thread) and move the cluster on if it calls for it."""
        used = self.cluster.in_use()
        self.failures[used] = str(error)
        target = self.cluster.move_on(used, error)
        self.at_once = target != used and target not in self.failures

    def final(self, error: ClientError) -> ClientError:
        """What the call raises when its budget ran out on ``error``: for an unreachable URL or a
        standby, a :class:`NoSchedulerAvailable` naming every URL; any other error as it is."""
        if not isinstance(error, TransportError | Unavailable) or not error.retryable:
            return error
        lines = [f"{m.url}: {self.failures.get(i, 'not tried')}" for i, m in enumerate(self.cluster.members)]
        return NoSchedulerAvailable("no scheduler served the call: " + "; ".join(lines))
