"""Group commit: calls share transactions, and each reply waits until its change is durable.

The service encodes a call's changes under its lock and submits them here, which fixes
their order; it then waits, without the lock, until a transaction containing them has
committed. A waiting caller writes that transaction itself when nobody else is writing,
folding in everything pending, so a lone caller pays no hand-over to another thread (two
thread switches cost more than the write itself). While one caller writes, the others wait
in one of two rounds: those whose changes the write holds, all woken when it ends, and those
whose changes came too late for it, of whom one is woken to write all of theirs together
(the others are then in its round). So under load many calls pay for one fsync, and no
thread is woken for nothing. (They used to queue on a write lock instead: callers the write
had covered were woken one at a time, often only after a caller it had not covered had taken
the lock and started the next transaction, so they waited for two fsyncs and transactions
stayed small.)

A background thread writes what nobody waits for (the maintenance pass's changes) and
retries after failures. When a write fails (disk full, read-only directory) the pending
changes are kept, the callers whose changes were in it get :class:`StoreUnavailable`,
health reports the store as failing, and everything is written once the store recovers.
Nothing already stored is touched by a failed transaction (SQLite rolls it back).
"""

from __future__ import annotations

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
    """Orders submitted batches; waiting callers write them, many per transaction."""

    def __init__(
        self,
        store: BatchWriter,
        *,
        retry_interval: float = 1.0,
    ) -> None:
        self._store = store
        #: Guards the fields below.
        self._lock = threading.Lock()
        #: True while some thread writes: one transaction at a time, in ticket order.
        self._writing = False
        #: The last ticket the write in progress holds.
        self._in_flight_upto = 0
        #: Callers whose changes the write in progress holds (all woken when it ends), and
        #: callers whose changes no write holds yet (one woken when it ends, to write them).
        #: A write that takes the pending changes swaps the two: those waiters are its round now.
        self._in_flight = threading.Condition(self._lock)
        self._queued = threading.Condition(self._lock)
        self._pending: list[tuple[int, Batch]] = []
        self._carry: Batch | None = None
        self._carry_upto = 0
        self._submitted = 0
        self._committed = 0
        self._error: str | None = None
        #: Set to stop the background thread (which sleeps on it, not in a round, so
        #: the end of every write does not wake it).
        self._stopping = threading.Event()
        self._retry_interval = retry_interval
        self.commits = 0
        #: Seconds spent in transactions (writes), and waited by callers of :meth:`wait`, and
        #: how many waits: what the stop line reports (where a durable call's time goes).
        self._writing_seconds = 0.0
        self._waited_seconds = 0.0
        self._waits = 0
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
        with self._lock:
            self._submitted += 1
            self._pending.append((self._submitted, batch))
            return self._submitted

    def wait(self, ticket: int, timeout: float = 30.0) -> None:
        """Return once the batch with ``ticket`` is durable; StoreUnavailable if it cannot be now.

        While another thread writes, wait for it to finish; if its transaction did not cover
        the ticket (or nobody was writing), write everything pending in this thread.
        """
        started = time.perf_counter()
        with self._lock:
            if not self._take_turn(ticket, time.monotonic() + timeout):
                self._waited(started)
                return
        try:
            self._write_pending()
        finally:
            self._end_turn()
        with self._lock:
            self._waited(started)
            if self._committed < ticket:
                raise StoreUnavailable(self._error or "the state store did not confirm the write")

    def _waited(self, started: float) -> None:
        """Under the lock: count a wait that began at ``started`` (``time.perf_counter``)."""
        self._waits += 1
        self._waited_seconds += time.perf_counter() - started

    def _take_turn(self, ticket: int, deadline: float) -> bool:
        """Under the lock: False once ``ticket`` is durable, True when this thread is to
        write it (nobody else writes now); StoreUnavailable if its write failed or time ran out."""
        while True:
            if self._committed >= ticket:
                return False
            if self._error is not None and self._carry_upto >= ticket:
                raise StoreUnavailable(self._error)
            if not self._writing:
                self._writing = True
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StoreUnavailable("the state store did not confirm the write in time")
            round_ = self._in_flight if ticket <= self._in_flight_upto else self._queued
            round_.wait(remaining)

    def _end_turn(self) -> None:
        """Let the next writer in: wake the callers the write held, and one caller to write
        what came after."""
        with self._lock:
            self._writing = False
            self._in_flight.notify_all()
            self._queued.notify()

    def _write_pending(self) -> None:
        """Write the kept batch and everything pending in one transaction (in this thread's turn)."""
        with self._lock:
            batch = self._carry or Batch()
            upto = self._carry_upto
            for ticket, later in self._pending:
                batch.absorb(later)
                upto = ticket
            self._pending.clear()
            self._in_flight_upto = upto
            self._in_flight, self._queued = self._queued, self._in_flight
        started = time.perf_counter()
        try:
            if batch:
                self._store.write(batch)
        except Exception as exc:  # any failure keeps the batch for the next attempt
            reason = f"the state store cannot be written: {exc}"
            with self._lock:
                if self._error is None:
                    log.error("%s; changes are kept in memory and retried", reason)
                self._error = reason
                self._carry, self._carry_upto = batch, upto
            return
        with self._lock:
            if self._error is not None:
                log.warning("the state store recovered; pending changes were written")
            self._error = None
            self._carry = None
            self._carry_upto = upto
            self._committed = upto
            self.commits += 1
            self._writing_seconds += time.perf_counter() - started

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until everything submitted so far is durable."""
        with self._lock:
            ticket = self._submitted
        if ticket:
            self.wait(ticket, timeout)

    @property
    def submitted(self) -> int:
        """Change sets submitted so far (``commits`` says in how many transactions they went)."""
        return self._submitted

    def summary(self) -> str:
        """How the change sets were written: how many per transaction (how well group commit
        shared each fsync), a transaction's mean time, and how long callers waited for theirs."""
        with self._lock:
            commits, waits = max(self.commits, 1), max(self._waits, 1)
            return (
                f"{self._submitted} change sets written in {self.commits} transactions "
                f"({self._submitted / commits:.2f} per transaction, {self._writing_seconds / commits * 1000:.2f} ms "
                f"each); callers waited {self._waited_seconds / waits * 1000:.2f} ms on average"
            )

    def stop(self, timeout: float = 30.0) -> None:
        """Write what is pending, then stop the background thread."""
        try:
            self.flush(timeout)
        except StoreUnavailable as exc:
            log.error("stopping with changes not saved: %s", exc)
        log.info("%s", self.summary())
        self._stopping.set()
        self._thread.join(timeout)

    def abandon(self, timeout: float = 10.0) -> None:
        """Stop the background thread and drop what is pending (nothing more is written)."""
        self._stopping.set()
        with self._lock:
            self._pending.clear()
            self._carry = None
            self._error = self._error or "the server stepped down"
            self._in_flight.notify_all()
            self._queued.notify_all()
        self._thread.join(timeout)

    def _run(self) -> None:
        """Every ``retry_interval``: write what nobody waited for, or retry after a failure."""
        while not self._stopping.wait(self._retry_interval):
            with self._lock:
                if self._writing or (not self._pending and self._carry is None):
                    continue
                self._writing = True
            try:
                self._write_pending()
            finally:
                self._end_turn()
