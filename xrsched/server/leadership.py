"""Leadership: whether this server leads the servers that share a PostgreSQL store.

The election (``xrsched.store.election``) decides; this object only remembers the outcome so
the request path can read it without touching the database. A standby refuses every call but
``system.health`` with fault 503 and the exact text ``standby; leader is <URL>`` (the leader's
advertised URL, or ``unknown``): clients that hold several URLs move on when they read it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from xrsched.health import HaHealth

LEADER = "leader"
STANDBY = "standby"
STANDBY_PREFIX = "standby; leader is "
#: The methods a standby still answers.
ANSWERED_BY_STANDBY: frozenset[str] = frozenset({"system.health"})


@dataclass(frozen=True)
class LeadershipView:
    """One consistent reading of the role, the fencing epoch and the leader's URL."""

    role: str
    epoch: int
    leader_url: str | None

    @property
    def leading(self) -> bool:
        """True while this server is the leader."""
        return self.role == LEADER

    def standby_message(self) -> str:
        """The fault text a standby answers with (the ``ha-client`` contract)."""
        return STANDBY_PREFIX + (self.leader_url or "unknown")

    def health(self) -> HaHealth:
        """The ``<ha>`` element of the health document."""
        return HaHealth(role=self.role, epoch=self.epoch, leader_url=self.leader_url)


class Leadership:
    """The thread-safe role of this server; starts as a standby that knows no leader."""

    def __init__(self, advertise_url: str) -> None:
        self.advertise_url = advertise_url
        self._lock = threading.Lock()
        self._view = LeadershipView(STANDBY, 0, None)

    def view(self) -> LeadershipView:
        """The current role, epoch and leader URL, read together."""
        with self._lock:
            return self._view

    @property
    def leading(self) -> bool:
        """True while this server is the leader."""
        return self.view().leading

    def lead(self, epoch: int) -> None:
        """This server won the election at ``epoch`` (its state is loaded: it serves now)."""
        with self._lock:
            self._view = LeadershipView(LEADER, epoch, self.advertise_url)

    def follow(self, epoch: int, leader_url: str | None) -> None:
        """Another server leads at ``epoch`` (or nobody is known to lead: ``leader_url`` None)."""
        with self._lock:
            self._view = LeadershipView(STANDBY, epoch, leader_url)

    def step_down(self) -> None:
        """Stop leading at once (fenced or lock lost); the leader is unknown until looked up."""
        with self._lock:
            self._view = LeadershipView(STANDBY, self._view.epoch, None)
