"""How many ``get_work`` calls the worker puts in its next request: a pure policy, no I/O."""

from __future__ import annotations


class AskSizer:
    """Sizes asks for work so that a fan-in fills every idle child in one request while a chain
    sends few ``get_work`` calls that can only come back empty.

    The cap starts at the number of processes. When everything asked for was handed out and
    the cap was what limited the ask, the cap doubles (up to the processes); when fewer tasks
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

    def record(self, asked: int, handed: int, processes: int) -> None:
        """Learn from a request that asked for ``asked`` tasks and got ``handed``."""
        if asked <= 0:
            return
        if handed >= asked:
            if asked >= self.cap:
                self.cap = min(max(1, processes), asked * 2)
        else:
            self.cap = max(1, handed)
