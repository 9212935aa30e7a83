"""How the worker packs its requests (pure policy, no I/O): how many ``get_work`` calls go in the
next one, and how long queued reports wait for sibling tasks to finish."""

from __future__ import annotations

#: After a child's outcome, how long to wait for siblings that started at about the same time
#: (within :data:`LINGER_WINDOW`) to finish too, so one request carries all their reports and
#: asks: a round trip costs ~1.5 ms on a loopback TLS connection, a report and an ask in it
#: ~0.2 ms. Longer tasks (started earlier than the window) are never waited for.
LINGER = 0.002
LINGER_WINDOW = 0.005


class AskSizer:
    """Sizes asks for work so that a fan-in fills every idle child in one request while a chain
    sends few ``get_work`` calls that can only come back empty.

    The cap starts at the number of processes. When everything asked for was handed out and
    the cap was what limited the ask, the cap doubles (up to ``limit``: the processes, plus the
    tasks the worker may hold ahead, see :func:`prefetch_slots`); when fewer tasks
    came than were asked for, the cap becomes what came (at least 1). An ask limited by the idle
    children rather than by the cap leaves the cap alone: it says nothing of how much is
    runnable (lowering the cap on it made a fan-in alternate between a full request and one
    that asked for a single task, one round trip wasted in two).
    """

    def __init__(self, processes: int) -> None:
        self.cap = max(1, processes)

    def size(self, free: int) -> int:
        """How many tasks to ask for with ``free`` idle children."""
        return max(0, min(free, self.cap))

    def record(self, asked: int, handed: int, limit: int) -> None:
        """Learn from a request that asked for ``asked`` tasks and got ``handed``."""
        if asked <= 0:
            return
        if handed >= asked:
            if asked >= self.cap:
                self.cap = min(max(1, limit), asked * 2)
        else:
            self.cap = max(1, handed)


def linger_for(now: float, until: float, busy_since: list[float]) -> float | None:
    """How long to wait for more child outcomes before sending queued reports: None to send now.

    Wait (until ``until`` at most) only while some busy child started within
    :data:`LINGER_WINDOW` of ``now``: a sibling of the tasks that just finished, likely to
    finish too. A long task never holds back the reports of others.
    """
    if now >= until or not any(now - started < LINGER_WINDOW for started in busy_since):
        return None
    return until - now


def prefetch_slots(processes: int, typical_seconds: float | None, below: float) -> int:
    """How many tasks beyond its idle children a worker may hold: ``processes`` while its tasks
    are known to be short (``typical_seconds`` under ``below``, the ``prefetch_below`` setting),
    else none.

    Held tasks wait locally while a request is in flight, so the children need not wait for
    it. Longer tasks are never fetched ahead: another worker may be free to run them sooner.
    """
    if typical_seconds is None or typical_seconds >= below:
        return 0
    return max(0, processes)


def typical_after(previous: float | None, elapsed: float) -> float:
    """The running estimate of a task's run time after one more took ``elapsed`` seconds: an
    exponentially weighted mean, so a few long tasks switch fetching ahead off quickly."""
    return elapsed if previous is None else 0.7 * previous + 0.3 * elapsed
