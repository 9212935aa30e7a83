"""Failed sign-ins per peer address: past a few within a window, sign-ins are refused for a while.

Token secrets are 256 random bits, so guessing one is hopeless anyway; the limit keeps a
guesser from filling the audit log and the CPU, and slows down one who holds a leaked list.
"""

from __future__ import annotations

import threading
from collections import deque

_MAX_PEERS = 4096


class FailureLimiter:
    """At most ``attempts`` failures per peer within ``window`` seconds; ``now`` is passed in."""

    def __init__(self, attempts: int, window: float) -> None:
        self.attempts = attempts
        self.window = window
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, peer: str, now: float) -> float:
        """Seconds until ``peer`` may try again (0: it may try now)."""
        with self._lock:
            times = self._recent(peer, now)
            if times is None or len(times) < self.attempts:
                return 0.0
            return max(times[0] + self.window - now, 0.001)

    def failed(self, peer: str, now: float) -> None:
        """Count one failed sign-in of ``peer``."""
        with self._lock:
            if peer not in self._failures and len(self._failures) >= _MAX_PEERS:
                self._forget_idle(now)
            times = self._failures.setdefault(peer, deque(maxlen=self.attempts))
            times.append(now)

    def _recent(self, peer: str, now: float) -> deque[float] | None:
        times = self._failures.get(peer)
        while times and times[0] <= now - self.window:
            times.popleft()
        if times is not None and not times:
            del self._failures[peer]
            return None
        return times

    def _forget_idle(self, now: float) -> None:
        for peer in list(self._failures):
            self._recent(peer, now)
        if len(self._failures) >= _MAX_PEERS:
            self._failures.clear()  # a flood of addresses: start over rather than grow
