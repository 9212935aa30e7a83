"""Leadership: whether this server leads the servers that share a PostgreSQL store.

The election (``xrsched.store.election``) decides; this object only remembers the outcome so
the request path can read it without touching the database. A standby refuses every call but
``system.health`` with fault 503 and the exact text ``standby; leader is <URL>`` (the leader's
advertised URL, or ``unknown``): clients that hold several URLs move on when they read it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
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
    """The thread-safe role of this server; starts as a standby that knows no leader.

    A leader serves only within its lease (renewed by each confirmed lock check): past it the
    view reads as a standby that knows no leader, whatever the election thread has noticed.
    """

    def __init__(self, advertise_url: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.advertise_url = advertise_url
        self._clock = clock
        self._lock = threading.Lock()
        self._view = LeadershipView(STANDBY, 0, None)
        self._lease_until = math.inf

    def view(self) -> LeadershipView:
        """The current role, epoch and leader URL, read together (a lapsed lease reads as standby)."""
        with self._lock:
            view, lease_until = self._view, self._lease_until
        if view.leading and self._clock() >= lease_until:
            return LeadershipView(STANDBY, view.epoch, None)
        return view

    def renew(self, lease_until: float) -> None:
        """The lock was confirmed: a leader may serve until ``lease_until`` (on this clock)."""
        with self._lock:
            self._lease_until = lease_until

    @property
    def leading(self) -> bool:
        """True while this server is the leader."""
        return self.view().leading

    def role_and_epoch(self) -> tuple[bool, int]:
        """(leading, epoch) from one reading of the view, for the metrics."""
        view = self.view()
        return view.leading, view.epoch

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
