"""Rate-limited log lines for refused credentials: one line per peer and token id per interval.

Luigi retries every failed HTTP call (three attempts by default) and every worker process
repeats them, so a wrong token in a ``luigi.cfg`` would otherwise fill the log with identical
lines. The audit log still records every refused request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger("xrsched.server")
#: Seconds during which further refusals of the same peer host and token id are not logged.
REFUSAL_LOG_INTERVAL = 300.0
_MAX_REMEMBERED = 4096


class RefusalLog:
    """Logs a refused authentication once per (peer host, token id) per ``interval`` seconds."""

    def __init__(self, interval: float = REFUSAL_LOG_INTERVAL, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._last: dict[tuple[str, str], float] = {}

    def refused(self, host: str, token_id: str, reason: str) -> bool:
        """Log this refusal unless the same pair was logged within the interval; True if logged."""
        now = self._clock()
        key = (host, token_id)
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            return False
        if len(self._last) >= _MAX_REMEMBERED:  # many peers: forget the old ones, never grow unbounded
            self._last = {k: t for k, t in self._last.items() if now - t < self.interval}
            if len(self._last) >= _MAX_REMEMBERED:
                self._last.clear()
        self._last[key] = now
        who = f"token id {token_id!r}" if token_id else "no token id"
        log.warning(
            "refused credentials from %s (%s): %s; the client gets 401; repeats from this peer and "
            "token id are not logged for %.0fs (the audit log has each one)",
            host,
            who,
            reason,
            self.interval,
        )
        return True
