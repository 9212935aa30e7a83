"""Group commit: calls share transactions, and each reply waits until its change is durable.

The service encodes a call's changes under its lock and submits them here, which fixes
their order; it then waits, without the lock, until a transaction containing them has
committed. One writer thread folds everything pending into one transaction, so under load
many calls pay for one fsync.

When a write fails (disk full, read-only directory) the pending changes are kept and retried,
callers waiting on them get :class:`StoreUnavailable`, health reports the store as failing,
and everything is written once the store recovers. Nothing already stored is touched by a
failed transaction (SQLite rolls it back).
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from typing import Protocol

from .base import Batch

log = logging.getLogger("xrsched.store")


class StoreUnavailable(Exception):
    """A change could not be made durable (yet)."""


class BatchWriter(Protocol):
    """Anything with a ``write(batch)`` that is durable on return."""

    def write(self, batch: Batch) -> None:
        """Write the batch durably."""
        ...


class GroupCommitter:
    """Orders submitted batches and writes them from one thread."""

    def __init__(self, store: BatchWriter, *, retry_interval: float = 1.0) -> None:
        self._store = store
        self._cond = threading.Condition()
        self._pending: list[tuple[int, Batch]] = []
        self._carry: Batch | None = None
        self._carry_upto = 0
        self._submitted = 0
        self._committed = 0
        self._error: str | None = None
        self._stopping = False
        self._waiters: list[tuple[int, int, threading.Event]] = []
        self._waiter_seq = 0
        self._retry_interval = retry_interval
        self.commits = 0
        self._thread = threading.Thread(target=self._run, name="xrsched-store-writer", daemon=True)
        self._thread.start()

    @property
    def healthy(self) -> bool:
        """False while writes are failing."""
        return self._error is None

    @property
    def error(self) -> str | None:
        """Why writes are failing, if they are."""
        return self._error

    def submit(self, batch: Batch) -> int:
        """Queue a batch; returns its ticket for :meth:`wait`. Call in the order of the changes."""
        with self._cond:
            self._submitted += 1
            self._pending.append((self._submitted, batch))
            self._cond.notify_all()
            return self._submitted

    def wait(self, ticket: int, timeout: float = 30.0) -> None:
        """Block until the batch with ``ticket`` is durable; StoreUnavailable if it cannot be now.

        Each waiter sleeps on its own event and is woken only when a write that covers its ticket
        has ended, so a commit wakes the callers it concerns and nobody else.
        """
        with self._cond:
            if self._committed >= ticket:
                return
            if self._error is not None and self._attempted_since(ticket):
                raise StoreUnavailable(self._error)
            self._waiter_seq += 1
            event = threading.Event()
            heapq.heappush(self._waiters, (ticket, self._waiter_seq, event))
        if not event.wait(timeout):
            raise StoreUnavailable("the state store did not confirm the write in time")
        with self._cond:
            if self._committed >= ticket:
                return
            raise StoreUnavailable(self._error or "the state store did not confirm the write")

    def _attempted_since(self, ticket: int) -> bool:
        return self._carry_upto >= ticket

    def _wake(self, upto: int) -> None:
        """Wake the waiters whose tickets a finished write covered (call with the lock held)."""
        waiters = self._waiters
        while waiters and waiters[0][0] <= upto:
            heapq.heappop(waiters)[2].set()

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until everything submitted so far is durable."""
        with self._cond:
            ticket = self._submitted
        if ticket:
            self.wait(ticket, timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """Write what is pending, then stop the writer thread."""
        try:
            self.flush(timeout)
        except StoreUnavailable as exc:
            log.error("stopping with changes not saved: %s", exc)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and self._carry is None and not self._stopping:
                    self._cond.wait()
                if self._stopping and not self._pending and self._carry is None:
                    return
                batch = self._carry or Batch()
                upto = self._carry_upto
                for ticket, later in self._pending:
                    batch.absorb(later)
                    upto = ticket
                self._pending.clear()
            try:
                if batch:
                    self._store.write(batch)
            except Exception as exc:  # any failure keeps the batch for the next attempt
                reason = f"the state store cannot be written: {exc}"
                with self._cond:
                    if self._error is None:
                        log.error("%s; changes are kept in memory and retried", reason)
                    self._error = reason
                    self._carry, self._carry_upto = batch, upto
                    self._wake(upto)
                    self._cond.notify_all()
                    if self._stopping:
                        return
                time.sleep(self._retry_interval)
                continue
            with self._cond:
                if self._error is not None:
                    log.warning("the state store recovered; pending changes were written")
                self._error = None
                self._carry = None
                self._carry_upto = upto
                self._committed = upto
                self.commits += 1
                self._wake(upto)
