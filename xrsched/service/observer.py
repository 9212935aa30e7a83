"""What the service reports to an observer (the metrics): transitions, ``get_work`` time, store writes.

The core stays pure: it records status transitions in its change set (as it does for the
store's history), and the service hands them on after each call, under its lock, together
with the task table to look families up in.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from xrsched.store.base import Batch

#: (task id, old status or None, new status, time, worker): see :class:`xrsched.core.changes.ChangeSet`.
Transition = tuple[str, "str | None", str, float, "str | None"]


class ServiceObserver(Protocol):
    """Receives what the service sees; every method must be cheap and must not raise."""

    def transitions(self, method: str, transitions: Iterable[Transition], tasks: Mapping[str, Any]) -> None:
        """Status changes that ``method`` (or ``"(maintenance)"``) just made."""
        ...

    def get_work(self, seconds: float) -> None:
        """``get_work`` spent ``seconds`` waiting for the lock and choosing a task."""
        ...

    def store_write(self, seconds: float, ok: bool) -> None:
        """One store transaction took ``seconds`` and committed (``ok``) or failed."""
        ...


class ObservedWriter:
    """A store whose ``write`` is timed and reported (the committer's writes pass through it)."""

    def __init__(self, store: Any, observer: ServiceObserver) -> None:
        self._store = store
        self._observer = observer

    def write(self, batch: Batch) -> None:
        """Write through to the store; report the time, and failures (which still propagate)."""
        started = time.perf_counter()
        try:
            self._store.write(batch)
        except BaseException:
            self._observer.store_write(time.perf_counter() - started, False)
            raise
        self._observer.store_write(time.perf_counter() - started, True)
